"""Out-of-date data: older than the org's retention window, or deleted upstream."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from resources.retention.execute import execute_request
from resources.retention.requests import record_request
from resources.storage.org_config import config_path
from tests.retention.conftest import SOURCES

A_SUNDAY = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
A_MONDAY = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def out_of_date(org, when: datetime) -> dict:
    with time_machine.travel(when, tick=True):
        request = record_request(org.sieve.control_plane, org.org, "out_of_date",
                                 subject_kind="organization", subject_ref=org.org.id)
        return execute_request(org.sieve, request.id)


def test_issue_deleted_upstream_goes_on_the_weekly_reconciliation(synced_org, emulator):
    org = synced_org
    [(key,)] = org.query("SELECT key FROM metadata.jira_issues ORDER BY key LIMIT 1")
    issues = org.count("jira_issues")
    cursors = org.sieve.control_plane.sync_state(
        next(c.id for c in org.sieve.control_plane.connections(org.org) if c.source == "jira"),
        "cursor")
    emulator.org.delete_jira_issue(key)

    weekday = out_of_date(org, A_MONDAY)
    assert org.count("jira_issues") == issues and "connections_reconciled" not in weekday["details"]

    sunday = out_of_date(org, A_SUNDAY)
    # Every connection of the synced org (tests/retention/conftest.py) is listed again.
    assert sunday["verified"] and sunday["details"]["connections_reconciled"] == len(SOURCES)
    assert sunday["rows"]["jira_issues.gone_upstream"] == 1
    assert org.query("SELECT count(*) FROM metadata.jira_issues WHERE key = ?", [key]) == [(0,)]
    assert org.count("jira_issues") == issues - 1
    # Reconciling moved no cursor: the nightly sync carries on incrementally.
    jira = next(c.id for c in org.sieve.control_plane.connections(org.org) if c.source == "jira")
    assert org.sieve.control_plane.sync_state(jira, "cursor") == cursors


def test_rows_older_than_the_retention_window_are_deleted(synced_org):
    org = synced_org
    config = config_path(org.sieve.settings.home, "acme")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("retention_days: 90\n")
    cutoff = "TIMESTAMP '2026-11-30 03:00:00' - INTERVAL 90 DAY"
    old = org.query(f"SELECT count(*) FROM metadata.slack_messages WHERE posted_at < {cutoff}")
    assert old[0][0] > 0

    certificate = out_of_date(org, A_MONDAY)

    assert certificate["verified"] and certificate["rows"]["slack_messages"] == old[0][0]
    assert org.query(f"SELECT count(*) FROM metadata.slack_messages "
                     f"WHERE posted_at < {cutoff}") == [(0,)]
    assert certificate["verification"]["sql"]["rows_older_than_window"] == 0
