"""PagerDuty REST API v2 emulator: services, users, incidents and log entries.

Shapes follow developer.pagerduty.com/api-reference (List incidents, List log entries, List
services, List users) and its "Pagination" and "Rate Limiting" pages: classic offset
pagination (``limit`` up to 100, ``offset``, ``more``, ``total`` only when ``total=true``;
offset + limit at most 10,000), ``since``/``until`` ranges of at most six months (incidents
default to the last 30 days), ``Authorization: Token token=…`` with 401 for a bad key and 403
for a key without access, and 429 with ``ratelimit-limit``/``-remaining``/``-reset`` (seconds).
Errors are ``{"error": {"message", "code", "errors"}}``. PagerDuty sends no ETag: no 304.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from emulators.framework import ApiApp, ApiError, RateLimitState, Request, Response, iso_z
from emulators.model import Person, stable_hex
from emulators.org import Org
from emulators.pagerduty.data import pd_id
from emulators.pagerduty.model import PdIncident, PdLogEntry, PdService

MAX_LIMIT = 100
MAX_OFFSET_PLUS_LIMIT = 10_000
MAX_RANGE = timedelta(days=184)
DEFAULT_INCIDENT_RANGE = timedelta(days=30)
HTML_ROOT = "https://sieve-demo.pagerduty.com"


def _error(status: int, message: str, code: int, *errors: str) -> ApiError:
    return ApiError(status, {"error": {"message": message, "code": code, "errors": list(errors)}})


def _time(request: Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise _error(400, "Invalid Input Provided", 2001, f"{name} is not a valid date") from None
    if moment.tzinfo is None:
        raise _error(400, "Invalid Input Provided", 2001, f"{name} needs a time zone")
    return moment


class PagerDutyApp(ApiApp):
    name = "pagerduty"
    credentials: ClassVar[dict[str, str]] = {"token": "pd-demo-token"}
    # A key that may read services and incidents but not users (a missing permission).
    NO_USERS_TOKEN = "pd-no-users-token"
    supports_conditional = False

    def __init__(self, org: Org, token: str):
        super().__init__()
        self.org = org
        self.data = org.pagerduty
        self.token = token
        self.route("GET", "/services", self.list_services)
        self.route("GET", "/services/{service_id}", self.get_service)
        self.route("GET", "/users", self.list_users)
        self.route("GET", "/incidents", self.list_incidents)
        self.route("GET", "/log_entries", self.list_log_entries)

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        return "", path

    def authenticate(self, request: Request) -> ApiError | None:
        header = request.header("authorization") or ""
        token = header.removeprefix("Token token=") if header.startswith("Token token=") else None
        if token not in (self.token, self.NO_USERS_TOKEN):
            return _error(401, "Authentication failed", 2006)
        if token == self.NO_USERS_TOKEN and request.path.startswith("/users"):
            return _error(403, "Access Denied", 2010,
                          "The API key does not have access to users")
        return None

    def not_found(self, request: Request) -> ApiError:
        return _error(404, "Not Found", 2100)

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        return {"ratelimit-limit": str(state.limit), "ratelimit-remaining": str(state.remaining),
                "ratelimit-reset": str(state.seconds_to_reset(self.rate_limits.now()))}

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        return self.rate_limited_retry_after(state.seconds_to_reset(self.rate_limits.now()),
                                             request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        error = _error(429, "Rate Limit Exceeded", 2020)
        error.headers = {"ratelimit-limit": "960", "ratelimit-remaining": "0",
                         "ratelimit-reset": str(retry_after)}
        return error

    def server_error(self, status: int) -> ApiError:
        return _error(status, "Internal Server Error", 2000)

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"x-request-id": stable_hex(32, "pd-req", request_number)}

    # -- pagination ----------------------------------------------------------------------------

    def _page(self, request: Request, field: str, items: list, render) -> Response:
        limit = request.int_param("limit", 25, MAX_LIMIT, 1)
        offset = request.int_param("offset", 0)
        if offset + limit > MAX_OFFSET_PLUS_LIMIT:
            raise _error(400, "Invalid Input Provided", 2001,
                         f"Offset must be less than {MAX_OFFSET_PLUS_LIMIT - limit + 1}.")
        begin = max(0, offset - limit // 2) if request.repeat_page and offset else offset
        window = items[begin:offset + limit]
        body = {field: [render(item, request.base_url) for item in window], "limit": limit,
                "offset": offset, "more": offset + limit < len(items),
                "total": len(items) if request.query.get("total") == "true" else None}
        return Response(body=body)

    def _range(self, request: Request, default: timedelta | None) -> tuple[datetime, datetime]:
        now = self.org.now
        since, until = _time(request, "since"), _time(request, "until")
        if since is not None and until is not None and until - since > MAX_RANGE:
            raise _error(400, "Invalid Input Provided", 2001,
                         "The time range between since and until must be at most 6 months")
        if until is None:
            until = max(now, since + MAX_RANGE) if since is not None else now
        if since is None:
            since = until - (default or MAX_RANGE)
        return since, until

    # -- routes --------------------------------------------------------------------------------

    def list_services(self, request: Request) -> Response:
        return self._page(request, "services", list(self.data.services), self.service_json)

    def get_service(self, request: Request) -> Response:
        service = self.data.service(request.params["service_id"])
        if service is None:
            raise self.not_found(request)
        return Response(body={"service": self.service_json(service, request.base_url)})

    def list_users(self, request: Request) -> Response:
        return self._page(request, "users", list(self.data.users()), self.user_json)

    def list_incidents(self, request: Request) -> Response:
        since, until = self._range(request, DEFAULT_INCIDENT_RANGE)
        wanted = set(request.query_list("service_ids[]"))
        incidents = [i for i in self.data.incidents()
                     if since <= i.created_at < until
                     and (not wanted or i.service.service_id in wanted)]
        sort = request.query.get("sort_by", "created_at")
        if sort.endswith(":desc"):
            incidents.reverse()
        return self._page(request, "incidents", incidents, self.incident_json)

    def list_log_entries(self, request: Request) -> Response:
        since, until = self._range(request, None)
        overview = request.query.get("is_overview") == "true"
        entries = sorted(((entry, incident) for incident in self.data.incidents()
                          for entry in incident.log
                          if since <= entry.at < until and (not overview or entry.kind != "notify")),
                         key=lambda pair: (pair[0].at, pair[0].entry_id))
        return self._page(request, "log_entries", entries, self.log_entry_json)

    # -- JSON ----------------------------------------------------------------------------------

    def _reference(self, kind: str, object_id: str, summary: str, base: str, path: str) -> dict:
        return {"id": object_id, "type": f"{kind}_reference", "summary": summary,
                "self": f"{base}/{path}/{object_id}", "html_url": f"{HTML_ROOT}/{path}/{object_id}"}

    def service_json(self, service: PdService, base: str) -> dict:
        return {
            "id": service.service_id, "type": "service", "summary": service.name,
            "self": f"{base}/services/{service.service_id}",
            "html_url": f"{HTML_ROOT}/service-directory/{service.service_id}",
            "name": service.name, "description": service.description, "auto_resolve_timeout": 14400,
            "acknowledgement_timeout": 600, "created_at": iso_z(service.created_at),
            "status": "active" if service.repo is not None else "disabled",
            "alert_creation": "create_alerts_and_incidents",
            "escalation_policy": self._reference("escalation_policy", pd_id("ep", service.team_id),
                                                 "Default", base, "escalation_policies"),
            "teams": [self._reference("team", service.team_id, "Team", base, "teams")],
            "integrations": [],
        }

    def user_json(self, person: Person, base: str) -> dict:
        user_id = pd_id("user", person.index)
        phone = self.org.pii_catalogue[person.index % 4][1]
        return {
            "id": user_id, "type": "user", "summary": person.name, "self": f"{base}/users/{user_id}",
            "html_url": f"{HTML_ROOT}/users/{user_id}", "name": person.name, "email": person.email,
            "time_zone": person.tz, "color": "green", "role": "user", "avatar_url": None,
            "description": self.data.user_description(person), "invitation_sent": False,
            "job_title": "Site Reliability Engineer",
            "contact_methods": [{"id": pd_id("contact", person.index), "type": "phone_contact_method",
                                 "summary": "Mobile", "label": "Mobile", "address": phone}],
            "teams": [],
        }

    def _user_reference(self, person: Person, base: str) -> dict:
        return self._reference("user", pd_id("user", person.index), person.name, base, "users")

    def incident_json(self, incident: PdIncident, base: str) -> dict:
        service = incident.service
        last = incident.log[-1]
        resolve = incident.entry("resolve")
        responder = next((e.agent for e in incident.log if e.agent is not None), None)
        return {
            "id": incident.incident_id, "type": "incident",
            "summary": f"[#{incident.number}] {incident.title}",
            "self": f"{base}/incidents/{incident.incident_id}",
            "html_url": f"{HTML_ROOT}/incidents/{incident.incident_id}",
            "incident_number": incident.number, "title": incident.title,
            "description": incident.description, "created_at": iso_z(incident.created_at),
            "updated_at": iso_z(incident.updated_at), "status": incident.status,
            "incident_key": stable_hex(32, "pd-key", incident.number),
            "service": self._reference("service", service.service_id, service.name, base,
                                       "services"),
            "assignments": [{"at": iso_z(incident.created_at),
                             "assignee": self._user_reference(responder, base)}]
            if responder is not None and resolve is None else [],
            "last_status_change_at": iso_z(last.at),
            "first_trigger_log_entry": {"id": incident.log[0].entry_id,
                                        "type": "trigger_log_entry_reference"},
            "escalation_policy": self._reference("escalation_policy", pd_id("ep", service.team_id),
                                                 "Default", base, "escalation_policies"),
            "teams": [self._reference("team", service.team_id, "Team", base, "teams")],
            "urgency": incident.urgency,
            "priority": {"id": pd_id("priority", incident.priority), "type": "priority",
                         "summary": incident.priority, "name": incident.priority},
            "resolved_at": iso_z(resolve.at) if resolve else None,
            "body": {"type": "incident_body", "details": incident.description},
        }

    def log_entry_json(self, pair: tuple[PdLogEntry, PdIncident], base: str) -> dict:
        entry, incident = pair
        service = incident.service
        if entry.agent is None:
            agent = self._reference("service", service.service_id, service.name, base, "services")
        else:
            agent = self._user_reference(entry.agent, base)
        channel = ({"type": "note", "summary": entry.note} if entry.note
                   else {"type": "web_trigger" if entry.kind == "trigger" else "website"})
        return {
            "id": entry.entry_id, "type": f"{entry.kind}_log_entry",
            "summary": f"{entry.kind.capitalize()}d by {agent['summary']}",
            "self": f"{base}/log_entries/{entry.entry_id}", "html_url": None,
            "created_at": iso_z(entry.at), "agent": agent, "channel": channel,
            "service": self._reference("service", service.service_id, service.name, base,
                                       "services"),
            "incident": self._reference("incident", incident.incident_id,
                                        f"[#{incident.number}] {incident.title}", base,
                                        "incidents"),
            "teams": [], "contexts": [],
            "event_details": {"description": incident.title},
        }
