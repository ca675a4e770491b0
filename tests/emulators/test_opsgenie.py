"""The Opsgenie emulator: paging.next links, update-time queries, auth, rate limits, and alerts
whose reports time each incident."""

from __future__ import annotations

from datetime import UTC

import requests

from tests.emulators.clients import get


def test_paging_next_walks_every_incident_once_least_recently_updated_first(emulator):
    seen, url = [], None
    body = get(emulator, "opsgenie", "/v1/incidents", limit=5, sort="updatedAt",
               order="asc").json()
    while True:
        assert len(body["data"]) <= 5 and body["totalCount"] == len(
            emulator.org.opsgenie.incidents())
        seen += [(incident["updatedAt"], incident["id"]) for incident in body["data"]]
        url = body["paging"].get("next")
        if url is None:
            break
        key = emulator.credentials("opsgenie")["api_key"]
        body = requests.get(url, headers={"Authorization": f"GenieKey {key}"}, timeout=10).json()
    assert seen == sorted(seen) and len({incident_id for _, incident_id in seen}) == len(seen) > 5


def test_query_selects_by_update_time_in_epoch_milliseconds(emulator):
    incidents = emulator.org.opsgenie.incidents()
    pivot = sorted(i.updated_at for i in incidents)[len(incidents) // 2]
    millis = int(pivot.astimezone(UTC).timestamp() * 1000)
    body = get(emulator, "opsgenie", "/v1/incidents", limit=100,
               query=f"updatedAt>{millis}").json()
    assert {i["id"] for i in body["data"]} == {i.incident_id for i in incidents
                                               if i.updated_at > pivot}
    assert get(emulator, "opsgenie", "/v1/incidents", query="message:down").status_code == 422


def test_associated_alerts_and_their_reports_time_the_incident(emulator):
    incident = next(i for i in emulator.org.opsgenie.incidents() if len(i.alerts) == 2)
    ids = get(emulator, "opsgenie",
              f"/v1/incidents/{incident.incident_id}/associated-alert-ids").json()["data"]
    assert ids == [alert.alert_id for alert in incident.alerts]
    alerts = {a["id"]: a for a in get(emulator, "opsgenie", "/v2/alerts", limit=100).json()["data"]}
    for alert in incident.alerts:
        report = alerts[alert.alert_id]["report"]
        assert report["ackTime"] == (alert.acknowledged_at - alert.created_at).total_seconds() * 1000
        assert report["closeTime"] == (incident.resolved_at - alert.created_at).total_seconds() * 1000
    missing = get(emulator, "opsgenie", "/v1/incidents/no-such-incident/associated-alert-ids")
    assert missing.status_code == 404 and "does not exist" in missing.json()["message"]


def test_bad_key_is_401_and_a_key_without_users_access_is_403(emulator):
    url = emulator.base_url("opsgenie")
    bad = requests.get(f"{url}/v2/teams", headers={"Authorization": "GenieKey nope"}, timeout=10)
    scoped = {"Authorization": f"GenieKey {emulator.apps['opsgenie'].NO_USERS_KEY}"}
    assert bad.status_code == 401 and bad.json()["message"] == "Could not authenticate"
    assert requests.get(f"{url}/v2/users", headers=scoped, timeout=10).status_code == 403
    assert requests.get(f"{url}/v2/teams", headers=scoped, timeout=10).status_code == 200


def test_exhausted_rate_limit_is_429_throttled_for_the_period(emulator):
    emulator.faults.rate_limit("opsgenie", limit=1, window_seconds=30)
    assert get(emulator, "opsgenie", "/v2/teams").headers["X-RateLimit-State"] == "OK"
    refused = get(emulator, "opsgenie", "/v2/teams")
    assert refused.status_code == 429 and refused.headers["X-RateLimit-State"] == "THROTTLED"
    assert 0 < int(refused.headers["X-RateLimit-Period-In-Sec"]) <= 30
    assert "requestId" in refused.json()


def test_every_incident_is_on_a_service_and_recent_ones_may_be_open(emulator):
    data = emulator.org.opsgenie
    incidents = data.incidents()
    assert {i.service.name for i in incidents} == {s.name for s in data.services}
    number = data.add_incident()
    assert data.incident(number).status == "open"
    data.resolve_incident(number)
    assert data.incident(number).status == "resolved"
