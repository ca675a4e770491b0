"""The PagerDuty connector through the real sync path, against the PagerDuty emulator (tiny org)."""

from __future__ import annotations

import re

import pytest

from resources.http import AuthenticationError, PermissionDeniedError
from resources.sources.pagerduty import connector as pagerduty_module
from resources.sources.pagerduty.connector import PagerDutyConnector, PagerDutySettingsError
from tests.harness import (
    FAULT_MODES,
    assert_reconnect_message,
    clean_sync_content,
    kill_fetch_after,
    sync_under_fault,
)

INCIDENTS = "GET /incidents"
LOG_ENTRIES = "GET /log_entries"
TABLES = list(PagerDutyConnector.entities)
TIMING_KINDS = ("trigger", "acknowledge", "resolve")


def expected_counts(org) -> dict[str, int]:
    incidents = org.pagerduty.incidents()
    return {
        "pagerduty_services": len(org.pagerduty.services),
        "pagerduty_users": len(org.humans),
        "pagerduty_incidents": len(incidents),
        "pagerduty_log_entries": sum(entry.kind in TIMING_KINDS
                                     for incident in incidents for entry in incident.log),
    }


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in TABLES}


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few items, so the tiny org spans several pages of every listing."""
    monkeypatch.setattr(pagerduty_module, "PAGE_SIZE", 12)


def test_first_sync_lands_every_entity_with_the_model_counts(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty")
    [summary] = org.sync("pagerduty")

    assert counts(org) == expected_counts(emulator.org)
    incident = emulator.org.pagerduty.incidents()[0]
    [row] = org.query("SELECT status, urgency, priority, service_id, resolved_at "
                      "FROM metadata.pagerduty_incidents WHERE incident_number = 1")
    assert row == (incident.status, incident.urgency, incident.priority,
                   incident.service.service_id, incident.entry("resolve").at.replace(tzinfo=None))
    # Windows of at most six months, and only overview log entries are asked for.
    for record in emulator.requests:
        if record.endpoint in (INCIDENTS, LOG_ENTRIES):
            assert record.query["limit"] == "100"
    assert all(r.query["is_overview"] == "true" for r in emulator.requests
               if r.endpoint == LOG_ENTRIES)
    assert summary.http["requests"] == len(emulator.requests)


def test_unchanged_second_sync_reads_one_window_per_stream_and_changes_nothing(
        sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty")
    org.sync("pagerduty")
    before = org.snapshot(TABLES)
    emulator.clear_requests()

    org.sync("pagerduty")

    assert org.snapshot(TABLES) == before
    # Services, users, and one open window each of incidents and log entries.
    assert emulator.requests_per_endpoint("pagerduty") == {
        "GET /services": 1, "GET /users": 1, INCIDENTS: 1, LOG_ENTRIES: 1}
    assert all("until" not in r.query for r in emulator.requests)


def test_next_sync_picks_up_a_new_incident_and_a_later_resolution(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty")
    number = emulator.org.pagerduty.add_incident()
    org.sync("pagerduty")
    assert org.query("SELECT status FROM metadata.pagerduty_incidents "
                     "WHERE incident_number = ?", [number]) == [("triggered",)]
    resolved_at = emulator.org.pagerduty.resolve_incident(number)

    org.sync("pagerduty")

    assert counts(org) == expected_counts(emulator.org)
    incident_id = emulator.org.pagerduty.incident(number).incident_id
    resolve = org.query("SELECT created_at FROM metadata.pagerduty_log_entries "
                        "WHERE incident_id = ? AND type = 'resolve_log_entry'", [incident_id])
    assert resolve == [(resolved_at.replace(tzinfo=None),)]


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_sync_under_fault_equals_a_clean_sync(sieve_org, emulator, monkeypatch, small_pages,
                                              mode):
    expected = clean_sync_content(sieve_org, emulator, "pagerduty", TABLES)
    org = sieve_org("faulty")
    org.connect_emulator(emulator, "pagerduty")
    sync_under_fault(org, emulator, "pagerduty", mode, r"/incidents|/log_entries", monkeypatch)
    assert org.content(TABLES) == expected


def test_killed_sync_rerun_converges(sieve_org, emulator, monkeypatch, small_pages):
    expected = clean_sync_content(sieve_org, emulator, "pagerduty", TABLES)
    org = sieve_org("killed")
    org.connect_emulator(emulator, "pagerduty")
    revive = kill_fetch_after(monkeypatch, PagerDutyConnector, 3)
    with pytest.raises(KeyboardInterrupt):
        org.sync("pagerduty")
    assert 0 < org.count("pagerduty_incidents") < expected_counts(emulator.org)[
        "pagerduty_incidents"]
    revive()
    emulator.clear_requests()

    org.sync("pagerduty")

    assert org.content(TABLES) == expected
    # The rerun resumed incidents after the last durable page, not from the history start.
    first = next(r for r in emulator.requests if r.endpoint == INCIDENTS)
    assert first.query["since"] > "2026-06"


def test_no_canary_and_no_forbidden_pii_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty")
    org.sync("pagerduty")
    stored = "\n".join(org.stored_strings())
    planted = [c for c in emulator.canaries() if "pagerduty" in c]
    assert planted and [c for c in planted if c in stored] == []
    assert "CANARY-" not in stored
    assert [p for p in emulator.forbidden_pii() if p in stored] == []


def test_bad_token_names_org_and_connection_and_says_reconnect(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("pagerduty", {"base_url": emulator.base_url("pagerduty")},
                             {"token": "not-the-token"})
    error = org.sync_error("pagerduty", AuthenticationError)
    assert_reconnect_message(error, org, connection, "not-the-token")


def test_key_without_access_to_users_stores_nothing_of_the_failed_listing(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("pagerduty", {"base_url": emulator.base_url("pagerduty")},
                             {"token": emulator.apps["pagerduty"].NO_USERS_TOKEN})
    error = org.sync_error("pagerduty", PermissionDeniedError)
    message = str(error)
    assert connection.id in message and "sieve connect acme pagerduty" in message
    assert org.count("pagerduty_users") == 0 and org.count("pagerduty_incidents") == 0


def test_configured_service_that_no_longer_exists_is_named(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty", services=["PGONE00"])
    error = org.sync_error("pagerduty", PagerDutySettingsError)
    assert re.search(r"PGONE00.*no longer exists.*"
                                                     r"sieve connect acme pagerduty", str(error))
    assert emulator.count_requests("pagerduty", INCIDENTS) == 0


def test_configured_services_limit_incidents(sieve_org, emulator):
    service = emulator.org.pagerduty.incidents()[0].service
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty", services=[service.service_id])
    org.sync("pagerduty")
    assert org.query("SELECT DISTINCT service_id FROM metadata.pagerduty_incidents") == [
        (service.service_id,)]


def test_check_makes_one_request_and_reveals_no_personal_data(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "pagerduty")
    description = PagerDutyConnector(org.connector_context("pagerduty")).check()
    assert len(emulator.requests) == 1 and "accepted" in description
