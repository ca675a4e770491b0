"""The PagerDuty emulator: offset pagination, date ranges, auth, rate limits, and incidents that
follow the GitHub part's failed production deployments."""

from __future__ import annotations

from datetime import timedelta

import requests

from tests.emulators.clients import get

SINCE = "2026-05-01T00:00:00Z"


def test_offset_pagination_walks_every_incident_once(emulator):
    seen, offset = [], 0
    while True:
        body = get(emulator, "pagerduty", "/incidents", since=SINCE, limit=5, offset=offset).json()
        assert (body["limit"], body["offset"], body["total"]) == (5, offset, None)
        seen += [incident["id"] for incident in body["incidents"]]
        if not body["more"]:
            break
        offset += 5
    incidents = emulator.org.pagerduty.incidents()
    assert seen == [incident.incident_id for incident in incidents] and len(seen) > 5


def test_ranges_longer_than_six_months_and_deep_offsets_are_refused(emulator):
    too_long = get(emulator, "pagerduty", "/incidents", since="2026-01-01T00:00:00Z",
                   until="2026-08-01T00:00:00Z")
    deep = get(emulator, "pagerduty", "/incidents", since=SINCE, offset=9950, limit=100)
    assert too_long.status_code == deep.status_code == 400
    assert too_long.json()["error"]["code"] == 2001


def test_incidents_default_to_the_last_thirty_days(emulator):
    now = emulator.org.now
    body = get(emulator, "pagerduty", "/incidents", limit=100).json()
    recent = [i for i in emulator.org.pagerduty.incidents()
              if i.created_at >= now - timedelta(days=30)]
    assert [i["id"] for i in body["incidents"]] == [i.incident_id for i in recent]


def test_a_failed_production_deployment_is_followed_by_an_incident_on_its_service(emulator):
    org = emulator.org
    incidents = org.pagerduty.incidents()
    for deployment in org.failed_production_deployments():
        after = [i for i in incidents if i.service.repo == deployment.repo
                 and timedelta(0) < i.created_at - deployment.updated_at < timedelta(hours=1)]
        assert len(after) == 1
    unrelated = [i for i in incidents if i.service.repo is None]
    assert unrelated and {i.urgency for i in unrelated} == {"low"}


def test_bad_key_is_401_and_a_key_without_users_access_is_403(emulator):
    url = emulator.base_url("pagerduty")
    bad = requests.get(f"{url}/services", headers={"Authorization": "Token token=nope"},
                       timeout=10)
    scoped = {"Authorization": f"Token token={emulator.apps['pagerduty'].NO_USERS_TOKEN}"}
    assert bad.status_code == 401 and bad.json()["error"]["message"] == "Authentication failed"
    assert requests.get(f"{url}/users", headers=scoped, timeout=10).status_code == 403
    assert requests.get(f"{url}/services", headers=scoped, timeout=10).status_code == 200


def test_exhausted_rate_limit_is_429_with_seconds_until_reset(emulator):
    emulator.faults.rate_limit("pagerduty", limit=1, window_seconds=30)
    first = get(emulator, "pagerduty", "/services")
    refused = get(emulator, "pagerduty", "/services")
    assert first.headers["ratelimit-remaining"] == "0"
    assert refused.status_code == 429 and refused.json()["error"]["code"] == 2020
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 0 < int(refused.headers["ratelimit-reset"]) <= 30


def test_notes_hold_canaries_and_overview_entries_time_each_incident(emulator):
    body = get(emulator, "pagerduty", "/log_entries", since=SINCE, is_overview="true",
               limit=100).json()
    kinds = {entry["type"] for entry in body["log_entries"]}
    assert {"trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry"} <= kinds
    notes = [e["channel"]["summary"] for e in body["log_entries"]
             if e["type"] == "annotate_log_entry"]
    assert notes and all("CANARY-pagerduty-note-" in note for note in notes)
