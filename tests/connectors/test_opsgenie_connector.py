"""The Opsgenie connector through the real sync path, against the Opsgenie emulator (tiny org)."""

from __future__ import annotations

import re

import pytest

from resources.http import AuthenticationError, PermissionDeniedError
from resources.sources.opsgenie import connector as opsgenie_module
from resources.sources.opsgenie.connector import OpsgenieConnector, OpsgenieSettingsError
from tests.harness import (
    FAULT_MODES,
    assert_reconnect_message,
    clean_sync_content,
    kill_fetch_after,
    sync_under_fault,
)

INCIDENTS = "GET /v1/incidents"
ALERTS = "GET /v2/alerts"
ASSOCIATED = "GET /v1/incidents/{identifier}/associated-alert-ids"
TABLES = list(OpsgenieConnector.entities)


def expected_counts(org) -> dict[str, int]:
    data = org.opsgenie
    incidents = data.incidents()
    return {
        "opsgenie_teams": len(data.teams),
        "opsgenie_services": len(data.services),
        "opsgenie_users": len(org.humans),
        "opsgenie_incidents": len(incidents),
        "opsgenie_incident_alerts": sum(len(incident.alerts) for incident in incidents),
        "opsgenie_alerts": len(data.alerts()),
    }


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in TABLES}


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few items, so the tiny org spans several pages of every listing."""
    monkeypatch.setattr(opsgenie_module, "PAGE_SIZE", 7)


def test_first_sync_lands_every_entity_with_the_model_counts(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    [summary] = org.sync("opsgenie")

    assert counts(org) == expected_counts(emulator.org)
    incident = emulator.org.opsgenie.incident(1)
    [row] = org.query("SELECT status, priority, impacted_service_ids, created_at "
                      "FROM metadata.opsgenie_incidents WHERE tiny_id = '1'")
    assert row == (incident.status, incident.priority, [incident.service.service_id],
                   incident.created_at.replace(tzinfo=None))
    alert = incident.alerts[0]
    [(ack_ms, close_ms)] = org.query("SELECT ack_time_ms, close_time_ms FROM "
                                     "metadata.opsgenie_alerts WHERE id = ?", [alert.alert_id])
    assert ack_ms == (alert.acknowledged_at - alert.created_at).total_seconds() * 1000
    assert close_ms == (alert.closed_at - alert.created_at).total_seconds() * 1000
    changed = [r for r in emulator.requests if r.endpoint in (INCIDENTS, ALERTS)]
    assert changed and all(r.query["sort"] == "updatedAt" and r.query["order"] == "asc"
                           and r.query["query"].startswith("updatedAt>") for r in changed)
    assert summary.http["requests"] == len(emulator.requests)
    # Each incident's alert links once: 5 listings + 28 incidents = 33 requests (tiny org).
    assert emulator.count_requests("opsgenie", ASSOCIATED) == counts(org)["opsgenie_incidents"]
    assert len(emulator.requests) == 5 + counts(org)["opsgenie_incidents"] == 33


def test_unchanged_second_sync_reads_each_listing_once_and_changes_nothing(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    org.sync("opsgenie")
    before = org.snapshot(TABLES)
    emulator.clear_requests()

    org.sync("opsgenie")

    assert org.snapshot(TABLES) == before
    # One page per listing; only the newest incident (its update time is the cursor, which
    # the overlap re-reads) has its alerts asked for again.
    assert emulator.requests_per_endpoint("opsgenie") == {
        "GET /v2/teams": 1, "GET /v1/services": 1, "GET /v2/users": 1, INCIDENTS: 1,
        ASSOCIATED: 1, ALERTS: 1}


def test_next_sync_picks_up_a_new_incident_and_its_later_resolution(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    number = emulator.org.opsgenie.add_incident()
    org.sync("opsgenie")
    assert org.query("SELECT status FROM metadata.opsgenie_incidents WHERE tiny_id = ?",
                     [str(number)]) == [("open",)]
    resolved_at = emulator.org.opsgenie.resolve_incident(number)
    emulator.clear_requests()

    org.sync("opsgenie")

    assert counts(org) == expected_counts(emulator.org)
    assert org.query("SELECT status FROM metadata.opsgenie_incidents WHERE tiny_id = ?",
                     [str(number)]) == [("resolved",)]
    [alert] = emulator.org.opsgenie.incident(number).alerts
    [(created, close_ms)] = org.query("SELECT created_at, close_time_ms FROM "
                                      "metadata.opsgenie_alerts WHERE id = ?", [alert.alert_id])
    assert close_ms == (resolved_at - alert.created_at).total_seconds() * 1000
    # Only what changed is listed again: the resolved incident and its alert.
    assert emulator.count_requests("opsgenie", ASSOCIATED) == 1


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_sync_under_fault_equals_a_clean_sync(sieve_org, emulator, monkeypatch, small_pages,
                                              mode):
    expected = clean_sync_content(sieve_org, emulator, "opsgenie", TABLES)
    org = sieve_org("faulty")
    org.connect_emulator(emulator, "opsgenie")
    sync_under_fault(org, emulator, "opsgenie", mode, r"/v1/incidents|/v2/alerts", monkeypatch)
    assert org.content(TABLES) == expected


def test_killed_sync_rerun_converges(sieve_org, emulator, monkeypatch, small_pages):
    expected = clean_sync_content(sieve_org, emulator, "opsgenie", TABLES)
    org = sieve_org("killed")
    org.connect_emulator(emulator, "opsgenie")
    # Teams, 2 pages of services, 2 of users, 7 incidents' alerts and their page, 2 alerts more.
    revive = kill_fetch_after(monkeypatch, OpsgenieConnector, 15)
    with pytest.raises(KeyboardInterrupt):
        org.sync("opsgenie")
    assert 0 < org.count("opsgenie_incidents") < expected_counts(emulator.org)[
        "opsgenie_incidents"]
    revive()
    emulator.clear_requests()

    org.sync("opsgenie")

    assert org.content(TABLES) == expected
    # The rerun resumed incidents after the last durable page, not from the history start.
    first = next(r for r in emulator.requests if r.endpoint == INCIDENTS)
    assert int(first.query["query"].removeprefix("updatedAt>")) > 1_777_000_000_000


def test_alert_links_answering_404_are_read_again_next_sync(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    emulator.faults.not_found(r"associated-alert-ids", times=1, api="opsgenie")
    [summary] = org.sync("opsgenie")
    expected = expected_counts(emulator.org)["opsgenie_incident_alerts"]
    assert summary.items_pending["opsgenie_incidents"] == 1
    assert 0 < org.count("opsgenie_incident_alerts") < expected
    emulator.clear_requests()

    org.sync("opsgenie")

    assert org.count("opsgenie_incident_alerts") == expected
    # The pending incident once, and the newest one the overlap reads again.
    assert emulator.count_requests("opsgenie", ASSOCIATED) == 2


def test_an_incident_gone_before_its_alerts_are_read_is_dropped_not_fatal(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    emulator.faults.not_found(r"associated-alert-ids", times=2, api="opsgenie")
    org.sync("opsgenie")
    org.sync("opsgenie")
    emulator.clear_requests()

    org.sync("opsgenie")

    assert emulator.count_requests("opsgenie", ASSOCIATED) == 1  # no longer pending


def test_no_canary_and_no_forbidden_pii_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    org.sync("opsgenie")
    stored = "\n".join(org.stored_strings())
    planted = [c for c in emulator.canaries() if "opsgenie" in c]
    assert planted and [c for c in planted if c in stored] == []
    assert "CANARY-" not in stored
    assert [p for p in emulator.forbidden_pii() if p in stored] == []


def test_bad_key_names_org_and_connection_and_says_reconnect(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("opsgenie", {"base_url": emulator.base_url("opsgenie")},
                             {"api_key": "not-the-key"})
    error = org.sync_error("opsgenie", AuthenticationError)
    assert_reconnect_message(error, org, connection, "not-the-key")
    assert counts(org) == dict.fromkeys(TABLES, 0)


def test_key_without_access_to_users_stores_nothing_of_the_failed_listing(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("opsgenie", {"base_url": emulator.base_url("opsgenie")},
                             {"api_key": emulator.apps["opsgenie"].NO_USERS_KEY})
    message = str(org.sync_error("opsgenie", PermissionDeniedError))
    assert connection.id in message and "sieve connect acme opsgenie" in message
    assert org.count("opsgenie_users") == 0 and org.count("opsgenie_incidents") == 0


def test_history_days_that_is_not_a_number_is_named(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie", history_days="a year")
    error = org.sync_error("opsgenie", OpsgenieSettingsError)
    assert re.search(r"history_days.*'a year'.*sieve connect acme opsgenie", str(error))
    assert emulator.count_requests("opsgenie", INCIDENTS) == 0


def test_check_makes_one_request_and_reveals_no_personal_data(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "opsgenie")
    description = OpsgenieConnector(org.connector_context("opsgenie")).check()
    assert len(emulator.requests) == 1 and "accepted" in description
