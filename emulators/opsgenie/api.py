"""Opsgenie REST API emulator: teams, users, services, incidents, their associated alerts, and
alerts.

Shapes follow docs.opsgenie.com: "Team API" (List Teams, not paginated), "User API" (List
Users), "Service API" (List Services), "Incident API" (List Incidents, Get Associated Alerts —
``GET /v1/incidents/:identifier/associated-alert-ids``; available on Standard and Enterprise
plans), "Alert API" (List Alerts, whose alerts carry ``acknowledged`` and ``report.ackTime`` /
``report.closeTime`` in milliseconds after creation), "Pagination" (``offset``, ``limit`` 20 by
default and at most 100, ``sort``, ``order`` desc by default; the body's ``paging`` holds the
full URLs of the ``next``, ``prev``, ``first`` and ``last`` pages, ``next`` only while more
follow) and "Rate Limiting" (429 with ``X-RateLimit-State: THROTTLED``, ``X-RateLimit-Reason``
and ``X-RateLimit-Period-In-Sec``). Listings are filtered with the search ``query`` syntax;
``createdAt`` and ``updatedAt`` take epoch milliseconds with ``>``, ``>=``, ``<``, ``<=``,
joined by ``AND``. Keys travel as ``Authorization: GenieKey <key>``: 401 for an unknown key, 403
for a key without the access right. Errors are ``{"message", "took", "requestId"}``. EU accounts
are served from api.eu.opsgenie.com, with the same paths. Opsgenie sends no ETag: no 304.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from emulators.framework import (
    ApiApp,
    ApiError,
    RateLimitState,
    Request,
    Response,
    query_string,
    select_by_time_conditions,
)
from emulators.model import Person, stable_hex
from emulators.opsgenie.model import OgAlert, OgIncident, OgService, OgTeam
from emulators.org import Org

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
WEB_ROOT = "https://sieve-demo.app.opsgenie.com"
# One condition of a search query: a time field, a comparison and epoch milliseconds.
CONDITION = re.compile(r"^(createdAt|updatedAt)\s*(>=|<=|>|<)\s*(\d+)$")


def _error(status: int, message: str) -> ApiError:
    return ApiError(status, {"message": message, "took": 0.001,
                             "requestId": stable_hex(32, "og-error", status, message)})


def _millis(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp() * 1000)


def _iso_millis(at: datetime | None) -> str | None:
    """Opsgenie's timestamps: ISO 8601 with milliseconds and Z."""
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def matching(request: Request, items: list, times: Callable[[object], dict[str, datetime]]) -> list:
    """The items the request's search ``query`` selects (time conditions only)."""
    return select_by_time_conditions(
        items, request.query.get("query") or "", CONDITION, int, _millis, times,
        lambda part: _error(422, f"Invalid query: {part}"))


class OpsgenieApp(ApiApp):
    name = "opsgenie"
    credentials: ClassVar[dict[str, str]] = {"api_key": "og-demo-genie-key"}
    # A key that may read incidents and alerts but not users (an access right missing).
    NO_USERS_KEY = "og-no-users-key"
    supports_conditional = False

    def __init__(self, org: Org, api_key: str):
        super().__init__()
        self.org = org
        self.data = org.opsgenie
        self.api_key = api_key
        self.route("GET", "/v2/teams", self.list_teams)
        self.route("GET", "/v2/users", self.list_users)
        self.route("GET", "/v1/services", self.list_services)
        self.route("GET", "/v1/incidents", self.list_incidents)
        self.route("GET", "/v1/incidents/{identifier}/associated-alert-ids",
                   self.associated_alert_ids)
        self.route("GET", "/v2/alerts", self.list_alerts)

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        return "", path

    def authenticate(self, request: Request) -> ApiError | None:
        header = request.header("authorization") or ""
        key = header.removeprefix("GenieKey ") if header.startswith("GenieKey ") else None
        if key not in (self.api_key, self.NO_USERS_KEY):
            return _error(401, "Could not authenticate")
        if key == self.NO_USERS_KEY and request.path.startswith("/v2/users"):
            return _error(403, "You are not authorized for this operation")
        return None

    def not_found(self, request: Request) -> ApiError:
        return _error(404, "Could not find the requested resource")

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        return {"X-RateLimit-State": "OK"}

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        return self.rate_limited_retry_after(state.seconds_to_reset(self.rate_limits.now()),
                                             request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        error = _error(429, "You are making too many requests! To avoid errors, we recommend "
                            "you limit requests.")
        error.headers = {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Reason": "INTEGRATION",
                         "X-RateLimit-Period-In-Sec": str(retry_after)}
        return error

    def server_error(self, status: int) -> ApiError:
        return _error(status, "Internal Server Error")

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"X-Request-ID": stable_hex(32, "og-req", request_number)}

    # -- pagination ----------------------------------------------------------------------------

    def _page(self, request: Request, items: list, render) -> Response:
        limit = request.int_param("limit", DEFAULT_LIMIT, MAX_LIMIT, 1)
        offset = request.int_param("offset", 0)
        begin = max(0, offset - limit // 2) if request.repeat_page and offset else offset
        window = items[begin:offset + limit]

        def link(at: int) -> str:
            return (f"{request.base_url}{request.path}?"
                    f"{query_string({**request.query, 'offset': at, 'limit': limit})}")

        paging = {}
        if offset + limit < len(items):
            paging["next"] = link(offset + limit)
        if offset > 0:
            paging["prev"] = link(max(0, offset - limit))
        paging["first"] = link(0)
        paging["last"] = link(max(0, (len(items) - 1) // limit * limit))
        body = {"data": [render(item, request.base_url) for item in window],
                "paging": paging, "totalCount": len(items), "took": 0.042,
                "requestId": stable_hex(32, "og-page", request.path, offset)}
        return Response(body=body)

    def _ordered(self, request: Request, items: list, keys: dict[str, Callable]) -> list:
        sort = request.query.get("sort", "createdAt")
        if sort not in keys:
            raise _error(422, f"Invalid sort field: {sort[:40]}")
        descending = request.query.get("order", "desc") != "asc"
        return sorted(items, key=keys[sort], reverse=descending)

    # -- routes --------------------------------------------------------------------------------

    def list_teams(self, request: Request) -> Response:
        return Response(body={"data": [self.team_json(t, request.base_url)
                                       for t in self.data.teams],
                              "took": 0.012, "requestId": stable_hex(32, "og-teams")})

    def list_users(self, request: Request) -> Response:
        return self._page(request, list(self.data.users()), self.user_json)

    def list_services(self, request: Request) -> Response:
        return self._page(request, list(self.data.services), self.service_json)

    def list_incidents(self, request: Request) -> Response:
        incidents = matching(request, self.data.incidents(),
                             lambda i: {"createdAt": i.created_at, "updatedAt": i.updated_at})
        incidents = self._ordered(request, incidents, {
            "createdAt": lambda i: (i.created_at, i.incident_id),
            "updatedAt": lambda i: (i.updated_at, i.incident_id),
            "tinyId": lambda i: i.number})
        return self._page(request, incidents, self.incident_json)

    def associated_alert_ids(self, request: Request) -> Response:
        identifier = request.params["identifier"]
        if request.query.get("identifierType", "id") == "tiny":
            found = [i for i in self.data.incidents() if str(i.number) == identifier]
        else:
            found = [i for i in self.data.incidents() if i.incident_id == identifier]
        if not found:
            raise _error(404, f"Incident with id [{identifier[:40]}] does not exist")
        return self._page(request, list(found[0].alerts), lambda alert, base: alert.alert_id)

    def list_alerts(self, request: Request) -> Response:
        alerts = matching(request, self.data.alerts(),
                          lambda a: {"createdAt": a.created_at, "updatedAt": a.updated_at})
        alerts = self._ordered(request, alerts, {
            "createdAt": lambda a: (a.created_at, a.alert_id),
            "updatedAt": lambda a: (a.updated_at, a.alert_id)})
        return self._page(request, alerts, self.alert_json)

    # -- JSON ----------------------------------------------------------------------------------

    def team_json(self, team: OgTeam, base: str) -> dict:
        return {"id": team.team_id, "name": team.name, "description": team.description,
                "links": {"web": f"{WEB_ROOT}/teams/dashboard/{team.team_id}/main",
                          "api": f"{base}/v2/teams/{team.team_id}"}}

    def user_json(self, person: Person, base: str) -> dict:
        return {
            "id": self.data.user_id(person), "username": person.email,
            "fullName": person.name, "role": {"id": "User", "name": "User"},
            "blocked": False, "verified": True,
            "userAddress": self.data.user_address(person),
            "tags": ["on-call"], "details": self.data.user_details(person),
            "timeZone": person.tz, "locale": "en_US",
            "createdAt": _iso_millis(self.org.created_at),
        }

    def service_json(self, service: OgService, base: str) -> dict:
        return {"id": service.service_id, "name": service.name,
                "description": service.description, "teamId": service.team.team_id,
                "tags": ["tier-1"],
                "links": {"web": f"{WEB_ROOT}/service/{service.service_id}/status",
                          "api": f"{base}/v1/services/{service.service_id}"}}

    def incident_json(self, incident: OgIncident, base: str) -> dict:
        team = incident.service.team
        return {
            "id": incident.incident_id, "serviceId": incident.service.service_id,
            "tinyId": str(incident.number), "message": incident.message,
            "description": incident.description, "status": incident.status,
            "tags": self.data.tags(incident), "createdAt": _iso_millis(incident.created_at),
            "updatedAt": _iso_millis(incident.updated_at), "priority": incident.priority,
            "ownerTeam": team.team_id,
            "responders": [{"type": "team", "id": team.team_id}],
            "extraProperties": self.data.extra_properties(incident),
            "impactedServices": [incident.service.service_id],
            "links": {"web": f"{WEB_ROOT}/incident/detail/{incident.incident_id}",
                      "api": f"{base}/v1/incidents/{incident.incident_id}"},
            "actions": [],
        }

    def alert_json(self, alert: OgAlert, base: str) -> dict:
        incident = self.data.incident(alert.incident_number)
        team = incident.service.team
        report: dict[str, object] = {}
        if alert.acknowledged_at is not None:
            report["ackTime"] = _millis(alert.acknowledged_at) - _millis(alert.created_at)
            report["acknowledgedBy"] = alert.responder.email
        if alert.closed_at is not None:
            report["closeTime"] = _millis(alert.closed_at) - _millis(alert.created_at)
            report["closedBy"] = alert.responder.email
        return {
            "id": alert.alert_id, "tinyId": alert.tiny_id,
            "alias": stable_hex(24, "og-alias", alert.alert_id), "message": alert.message,
            "status": "closed" if alert.closed_at is not None else "open",
            "acknowledged": alert.acknowledged_at is not None, "isSeen": True,
            "tags": self.data.alert_tags(alert), "snoozed": False, "count": 1,
            "lastOccurredAt": _iso_millis(alert.created_at),
            "createdAt": _iso_millis(alert.created_at),
            "updatedAt": _iso_millis(alert.updated_at),
            "source": "Datadog", "owner": alert.responder.email, "priority": incident.priority,
            "teams": [{"id": team.team_id}], "responders": [{"type": "team", "id": team.team_id}],
            "integration": {"id": stable_hex(32, "og-integration"), "name": "Datadog",
                            "type": "Datadog"},
            "report": report, "ownerTeamId": team.team_id,
        }

