"""Insight notifications: each new and resolved signal told once to a loopback webhook, a failing
receiver neither failing the sync nor losing what it missed, off by default, never a person.

The org's insights mart is written by hand here (the rows dbt's insights model writes, on its
real encrypted store) so that each case is a few rows; tests/e2e/test_canaries.py runs the
same delivery on the demo org's real marts.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest

from resources.http import InvalidBaseUrlError
from resources.notifications.delivery import deliver_insight_notifications, send_check_message
from resources.notifications.events import (
    OPENED,
    RESOLVED,
    Episode,
    Notification,
    link_of,
    pending_notifications,
    web_root,
)
from resources.notifications.webhook import (
    NOTIFICATIONS_PER_MESSAGE,
    WebhookError,
    check_webhook_url,
    default_payload_format,
    slack_payload,
)
from resources.security.vault import Secret
from resources.storage.control_plane.notifications import (
    delivered_events,
    set_webhook,
    turn_off,
    webhook_status,
)
from resources.storage.metadata_store import open_store, org_database_path
from tests.webhook_receiver import WebhookReceiver, quick_webhook_retries

PERSON = "p_4f1c9a2b7d3e"
AS_OF_1 = "2026-03-02 06:00:00"
AS_OF_2 = "2026-03-03 06:00:00"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    quick_webhook_retries(monkeypatch)


INSIGHTS_DDL = """
create schema if not exists marts;
create or replace table marts.insights (
    signal_key varchar, kind varchar, severity varchar, subject_type varchar, subject varchar,
    repository varchar, number integer, team varchar, person_id varchar, metric varchar,
    observed_value double, threshold_value double, direction varchar,
    first_seen_at timestamp, resolved_at timestamp, is_open boolean);
create or replace table marts.pull_requests (
    pull_request_key varchar, source varchar, repository varchar, number integer);
"""


def signal_row(kind: str, subject_type: str, subject: str, *, repository=None, number=None,
               team=None, person_id=None, first_seen=AS_OF_1, resolved=None, severity="warning",
               observed=20.0, threshold=8.0) -> tuple:
    return (f"{kind}:{subject}", kind, severity, subject_type, subject, repository, number, team,
            person_id, None, observed, threshold, "above", first_seen, resolved, resolved is None)


def waiting_pr(number: int, **overrides) -> tuple:
    return signal_row("pr_awaiting_first_review", "pull_request", f"acme/api#{number}",
                      repository="acme/api", number=number, team="payments", **overrides)


def person_wip(person_id: str = PERSON, **overrides) -> tuple:
    return signal_row("wip_above_limit", "person", person_id, team="payments",
                      person_id=person_id, observed=7.0, threshold=4.0, **overrides)


@pytest.fixture
def acme(sieve_org):
    org = sieve_org("acme")
    org.connect("github", {"owner": "acme"}, {"token": "ghp_dummy"})
    return org


def write_insights(org, rows: list[tuple]) -> None:
    """marts.insights as dbt leaves it, and the pull requests that give links their host."""
    sieve = org.sieve
    key = sieve.control_plane.org_data_key(org.org)
    path = org_database_path(sieve.settings.orgs_dir, org.org.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection_id = sieve.control_plane.connections(org.org)[0].id
    with open_store(path, key) as store:
        store.connection.execute(INSIGHTS_DDL)
        store.connection.executemany(
            "insert into marts.insights values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows)
        store.connection.execute(
            f"insert into marts.pull_requests values ('github:{connection_id}:1', 'github', "
            "'acme/api', 1)")


def turn_on(org, receiver: WebhookReceiver, payload_format: str = "json") -> None:
    set_webhook(org.sieve.control_plane, org.org, Secret(receiver.url), payload_format,
                "user:test")


def told(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    return [(n["event"], n["kind"] + " " + (n["subject"] or n["subject_type"]))
            for n in receiver.notifications()]


# -- what is pending ---------------------------------------------------------------------

def episode(signal: str, *, resolved: bool = False, severity: str = "warning",
            first_seen: str = AS_OF_1) -> Episode:
    return Episode(signal, "pr_idle", severity, "pull_request", f"acme/api#{signal}", "acme/api",
                   1, None, None, 20.0, 14.0, "above", datetime.fromisoformat(first_seen),
                   datetime.fromisoformat(AS_OF_2) if resolved else None)


def test_open_signals_are_told_once_and_resolved_ones_only_after_their_opening():
    a, b, c = episode("a"), episode("b", resolved=True), episode("c", resolved=True)
    delivered = {("b", OPENED)}  # c opened and closed before any delivery succeeded
    pending = pending_notifications([a, b, c], delivered)
    assert [(n.event, n.episode.signal_id) for n in pending] == [(OPENED, "a"), (RESOLVED, "b")]
    delivered |= {("a", OPENED), ("b", RESOLVED)}
    assert pending_notifications([a, b, c], delivered) == []


def test_severe_and_newest_openings_come_first():
    old = episode("old", first_seen=AS_OF_1)
    new = episode("new", first_seen=AS_OF_2)
    severe = episode("severe", severity="severe", first_seen=AS_OF_1)
    assert [n.episode.signal_id for n in pending_notifications([old, new, severe], set())] == \
        ["severe", "new", "old"]


def test_links_follow_the_source_and_its_host():
    assert web_root("github", None) == "https://github.com"
    assert web_root("github", "https://ghe.example.com/api/v3") == "https://ghe.example.com"
    assert web_root("gitlab", "https://gitlab.example.com/") == "https://gitlab.example.com"
    github = ("github", "https://github.com/acme/api")
    assert link_of(github, 7) == "https://github.com/acme/api/pull/7"
    assert link_of(("gitlab", "https://gitlab.com/acme/api"), 7) == \
        "https://gitlab.com/acme/api/-/merge_requests/7"
    assert link_of(github, None) == "https://github.com/acme/api"
    assert link_of(None, 7) is None


def test_slack_payload_has_text_and_blocks_within_slacks_limits():
    notifications = [Notification(OPENED, episode(str(n))) for n in range(3)]
    notifications.append(Notification(RESOLVED, episode("r", resolved=True)))
    payload = slack_payload("acme", notifications)
    assert payload["text"] == "Sieve · acme: 3 new signals, 1 resolved"
    assert len(payload["blocks"]) == 5 <= 50 and NOTIFICATIONS_PER_MESSAGE + 1 <= 50
    assert ":white_check_mark: *Resolved* · warning · `pr_idle`" in \
        payload["blocks"][-1]["text"]["text"]
    assert "20 above the threshold 14" in payload["blocks"][1]["text"]["text"]


def test_webhook_urls_must_be_https_except_on_loopback():
    assert check_webhook_url(" https://hooks.slack.com/services/T/B/x ") == \
        "https://hooks.slack.com/services/T/B/x"
    assert check_webhook_url("http://127.0.0.1:9/hook?token=x") == "http://127.0.0.1:9/hook?token=x"
    with pytest.raises(InvalidBaseUrlError, match="webhook URL 'http://example.com'") as raised:
        check_webhook_url("http://example.com/services/T/B/secretpath")
    assert "secretpath" not in str(raised.value)
    assert default_payload_format("https://hooks.slack.com/services/T/B/x") == "slack"
    assert default_payload_format("https://alerts.example.com/in") == "json"


# -- delivery ------------------------------------------------------------------------------

def test_off_by_default_sends_nothing(acme, webhook_receiver):
    write_insights(acme, [waiting_pr(1)])
    assert webhook_status(acme.sieve.control_plane, acme.org) is None
    assert deliver_insight_notifications(acme.sieve, acme.org).state == "off"
    assert webhook_receiver.attempts == 0


def test_new_and_resolved_signals_reach_the_webhook_exactly_once(acme, webhook_receiver):
    turn_on(acme, webhook_receiver)
    write_insights(acme, [waiting_pr(1), waiting_pr(2)])
    first = deliver_insight_notifications(acme.sieve, acme.org)
    assert (first.state, first.sent) == ("delivered", 2)
    assert sorted(told(webhook_receiver)) == [("opened", "pr_awaiting_first_review acme/api#1"),
                                      ("opened", "pr_awaiting_first_review acme/api#2")]
    assert webhook_receiver.notifications()[0]["link"] == "https://github.com/acme/api/pull/1"

    # The next build: #1 got its review (resolved), #3 started waiting, #2 still waits.
    write_insights(acme, [waiting_pr(1, resolved=AS_OF_2), waiting_pr(2),
                          waiting_pr(3, first_seen=AS_OF_2)])
    second = deliver_insight_notifications(acme.sieve, acme.org)
    assert (second.state, second.sent) == ("delivered", 2)
    assert told(webhook_receiver)[2:] == [("opened", "pr_awaiting_first_review acme/api#3"),
                                  ("resolved", "pr_awaiting_first_review acme/api#1")]

    again = deliver_insight_notifications(acme.sieve, acme.org)
    assert (again.state, again.sent) == ("nothing new", 0)
    assert len(webhook_receiver.notifications()) == 4


def test_a_failing_receiver_is_retried_then_recorded_and_told_at_the_next_run(
        acme, webhook_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    turn_on(acme, webhook_receiver)
    write_insights(acme, [waiting_pr(1)])
    webhook_receiver.fail_with = 503
    failed = deliver_insight_notifications(acme.sieve, acme.org)
    assert (failed.state, failed.sent, failed.left_for_next_sync) == ("failed", 0, 1)
    assert webhook_receiver.attempts == 4  # the first and three retries
    status = webhook_status(acme.sieve.control_plane, acme.org)
    assert re.match(r"127\.0\.0\.1:\d+ did not accept the message after retries",
                    status.last_failure)
    assert webhook_receiver.secret not in status.last_failure + caplog.text

    webhook_receiver.fail_with = None
    delivered = deliver_insight_notifications(acme.sieve, acme.org)
    assert (delivered.state, delivered.sent) == ("delivered", 1)
    assert told(webhook_receiver) == [("opened", "pr_awaiting_first_review acme/api#1")]
    assert webhook_status(acme.sieve.control_plane, acme.org).last_failure is None
    assert webhook_receiver.secret not in caplog.text


def test_a_person_is_never_named_nor_identified_and_forgetting_drops_their_record(
        acme, webhook_receiver):
    turn_on(acme, webhook_receiver, "slack")
    write_insights(acme, [person_wip(), waiting_pr(1)])
    deliver_insight_notifications(acme.sieve, acme.org)
    [message] = webhook_receiver.received
    assert PERSON not in str(message)
    assert "one person (team payments)" in message["blocks"][1]["text"]["text"] + \
        message["blocks"][2]["text"]["text"]
    assert len(delivered_events(acme.sieve.control_plane, acme.org)) == 2

    # The person is forgotten: the next build of the mart no longer holds their episode.
    write_insights(acme, [waiting_pr(1)])
    outcome = deliver_insight_notifications(acme.sieve, acme.org)
    assert (outcome.state, outcome.forgotten) == ("nothing new", 1)
    assert len(delivered_events(acme.sieve.control_plane, acme.org)) == 1
    assert len(webhook_receiver.received) == 1  # and no "resolved" about them


def test_test_message_and_turning_off(acme, webhook_receiver):
    control_plane = acme.sieve.control_plane
    turn_on(acme, webhook_receiver)
    send_check_message(control_plane, acme.org)
    assert webhook_receiver.received[-1]["test"] is True
    webhook_receiver.fail_with = 404
    with pytest.raises(WebhookError, match=r"127.0.0.1:\d+ refused the message \(404\)") as raised:
        send_check_message(control_plane, acme.org)
    assert webhook_receiver.secret not in str(raised.value)
    assert turn_off(control_plane, acme.org) is True
    assert webhook_status(control_plane, acme.org) is None
    assert turn_off(control_plane, acme.org) is False
