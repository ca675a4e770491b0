"""Jira Cloud REST v3 and Agile 1.0 emulator.

Shapes follow developer.atlassian.com/cloud/jira/platform/rest/v3 (issue search
``/rest/api/3/search`` with startAt/maxResults/total, its successor ``/rest/api/3/search/jql``
with nextPageToken/isLast, ``/issue/{key}/changelog`` as a PageBean, descriptions and comments in
Atlassian Document Format) and developer.atlassian.com/cloud/jira/software/rest (boards,
sprints, sprint issues). Projects, issues and their searches show only the projects where the
account holds Browse Projects ("Get projects paginated": an account without it anywhere gets an
empty page, not an error). Timestamps are rendered in each user's time zone, as Jira does
(``2026-10-27T09:14:02.000+0100``). JQL dates are read in UTC (the reader account's zone).
The ``duedate`` field is a bare ``yyyy-MM-dd`` date, or null when none is set (the issue fields
reference of the v3 API; Jira's own "Due" date picker has no time). ``fixVersions`` is a list of
version objects (``id``, ``name``, ``archived``, ``released``, ``releaseDate`` ``yyyy-MM-dd``), and
``/project/{projectIdOrKey}/version`` pages a project's versions as a PageBean
(``startAt``/``maxResults``/``isLast``/``values``; "Get project versions paginated").

Supported JQL: clauses joined by AND over ``project``, ``key``, ``issuetype``, ``status``,
``sprint`` (``=``, ``!=``, ``in (...)``) and ``updated``/``created`` (``>``, ``>=``, ``<``,
``<=`` with ``"yyyy-MM-dd[ HH:mm]"``, ``"yyyy/MM/dd[ HH:mm]"`` or relative ``-3d``/``-4h``/``-15m``/
``-1w``), then ``ORDER BY`` one or more of ``updated``, ``created``, ``key`` (``ASC``/``DESC``).
Anything else is answered with Jira's 400 "Error in the JQL Query".

OAuth 2.0 (3LO), as developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps describes it:
the authorization server's ``/authorize`` (``audience=api.atlassian.com``, ``prompt=consent``),
``/oauth/token`` (refresh tokens rotate: the one sent is disabled; a refresh token only with
``offline_access``, developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens) and
``/oauth/revoke`` (RFC 7009; advertised in auth.atlassian.com's RFC 8414 metadata rather than
in the 3LO guide); ``GET /oauth/token/accessible-resources`` lists the sites a token reaches
(``id`` is the cloud id, ``url`` the site); and the API gateway serves the site's REST APIs
under ``/ex/jira/{cloudid}`` to a Bearer access token only (developer.atlassian.com/cloud/
oauth/getting-started/making-calls-to-api). In the emulator both hosts (auth.atlassian.com,
api.atlassian.com) are the Jira root; the site itself takes only Basic auth, as a real site
refuses a 3LO token.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from emulators.framework import ApiApp, ApiError, RateLimitState, Request, Response, page_window
from emulators.jira.data import JiraData
from emulators.jira.model import (
    JIRA_ISSUE_TYPES,
    JIRA_STATUSES,
    FixVersion,
    History,
    JiraIssue,
    JiraProject,
    Sprint,
)
from emulators.model import Person, stable_hex
from emulators.oauth import Dialect, OAuthAuthority
from emulators.org import Org

API = "/rest/api/3"
AGILE = "/rest/agile/1.0"
STATUS_CATEGORIES = {"new": ("2", "To Do", "blue-gray"), "indeterminate": ("4", "In Progress", "yellow"),
                     "done": ("3", "Done", "green")}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4"}
# Search returns the navigable fields by default, description included (as Jira does);
# comments only when asked for.
NAVIGABLE_FIELDS = ("summary", "issuetype", "project", "status", "priority", "assignee", "reporter",
                    "creator", "created", "updated", "resolutiondate", "resolution", "labels",
                    "parent", "duedate", "fixVersions", "customfield_10016", "customfield_10020",
                    "statuscategorychangedate", "description")
ALL_FIELDS = NAVIGABLE_FIELDS + ("comment",)
ATLASSIAN_OAUTH = Dialect(
    authorize_path="/authorize", token_path="/oauth/token", revoke_path="/oauth/revoke",
    scope="read:jira-work read:jira-user offline_access",
    required_authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
    refresh_scope="offline_access", access_lifetime_seconds=3600.0,
    refused_refresh_status=403, refused_refresh_description="Unknown or invalid refresh token.",
    reuse_ends_grant=True)
GATEWAY = "/ex/jira/"
ACCESSIBLE_RESOURCES = "/oauth/token/accessible-resources"


def _uuid(hex32: str) -> str:
    return "-".join((hex32[:8], hex32[8:12], hex32[12:16], hex32[16:20], hex32[20:32]))


def jira_time(at: datetime | None, person: Person | None = None) -> str | None:
    if at is None:
        return None
    zone = person.zone if person is not None and person.tz != "Etc/UTC" else UTC
    local = at.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def adf(text: str) -> dict:
    """A minimal Atlassian Document Format document holding one paragraph."""
    return {"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def _jql_error(message: str) -> ApiError:
    return ApiError(400, {"errorMessages": [f"Error in the JQL Query: {message}"], "errors": {},
                          "warningMessages": []})


# ---------------------------------------------------------------------------------------------
# JQL subset
# ---------------------------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"^\s*(?P<field>[\w\"]+)\s*(?P<op>>=|<=|!=|=|>|<|\bnot in\b|\bin\b)\s*(?P<value>\(.*?\)|\"[^\"]*\"|'[^']*'|[^\s()]+)\s*$",
    re.IGNORECASE)
_RELATIVE = re.compile(r"^-(\d+)([wdhm])$")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _parse_jql_date(value: str, now: datetime) -> datetime:
    text = _unquote(value)
    rel = _RELATIVE.match(text)
    if rel:
        amount, unit = int(rel.group(1)), rel.group(2)
        return now - timedelta(**{{"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[unit]: amount})
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _jql_error(f"Date value '{text}' for field 'updated' is invalid. Valid formats include: "
                     "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a "
                     "period format e.g. '-5d', '4w 2d'.")


def _split_order(text: str) -> tuple[str, str, str]:
    """(where part, "ORDER BY" or "", order part)."""
    parts = re.split(r"(?i)\b(order\s+by)\b", text, maxsplit=1)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (text, "", "")


class Jql:
    """A parsed JQL query: ``matches(issue)`` and ``sort(issues)``."""

    def __init__(self, text: str, now: datetime):
        self.text = text or ""
        self.filters: list = []
        self.order: list[tuple[str, bool]] = []
        # Project keys a positive project clause restricts to (None: any project), so a search
        # only indexes the projects it can match.
        self.project_keys: set[str] | None = None
        query, _, order = _split_order(self.text)
        for clause in [c for c in re.split(r"(?i)\s+and\s+", query.strip()) if c.strip()]:
            self.filters.append(self._clause(clause, now))
        for part in [p.strip() for p in order.split(",") if p.strip()]:
            name, *direction = part.split()
            name = name.lower()
            if name not in ("updated", "created", "key", "rank"):
                raise _jql_error(f"Not able to sort using field '{name}'.")
            desc = bool(direction) and direction[0].upper() == "DESC"
            self.order.append(("key" if name == "rank" else name, desc))
        if not self.order:
            self.order = [("created", True)]

    def _clause(self, clause: str, now: datetime):
        m = _CLAUSE.match(clause)
        if not m:
            raise _jql_error(f"Expecting a field, an operator and a value but got '{clause.strip()}'.")
        field = _unquote(m.group("field")).lower()
        op = " ".join(m.group("op").lower().split())
        raw = m.group("value")
        if field in ("updated", "created"):
            if op not in (">", ">=", "<", "<="):
                raise _jql_error(f"The operator '{op}' is not supported by the '{field}' field.")
            at = _parse_jql_date(raw, now)
            compare = {">": lambda v: v > at, ">=": lambda v: v >= at,
                       "<": lambda v: v < at, "<=": lambda v: v <= at}[op]
            return lambda issue: compare(getattr(issue, field))
        if field not in ("project", "key", "issuetype", "type", "status", "sprint"):
            raise _jql_error(f"Field '{field}' does not exist or you do not have permission to view it.")
        if op in ("in", "not in"):
            if not raw.startswith("("):
                raise _jql_error(f"Expecting '(' after '{op}'.")
            values = {_unquote(v).lower() for v in raw[1:-1].split(",") if v.strip()}
        elif op in ("=", "!="):
            values = {_unquote(raw).lower()}
        else:
            raise _jql_error(f"The operator '{op}' is not supported by the '{field}' field.")
        negate = op in ("!=", "not in")
        if field == "project" and not negate:
            named = {v.upper() for v in values}
            self.project_keys = named if self.project_keys is None else self.project_keys & named

        def value_of(issue: JiraIssue | IssueRow) -> set[str]:
            if field == "project":
                return {issue.project.key.lower(), issue.project.project_id}
            if field == "key":
                return {issue.key.lower()}
            if field in ("issuetype", "type"):
                return {issue.issue_type.lower()}
            if field == "status":
                return {issue.status.lower()}
            return {str(s.sprint_id) for s in issue.sprints} | {s.name.lower() for s in issue.sprints}

        return lambda issue: bool(value_of(issue) & values) != negate

    def matches(self, issue: JiraIssue | IssueRow) -> bool:
        return all(f(issue) for f in self.filters)

    def sort(self, issues: list) -> list:
        out = sorted(issues, key=lambda i: (i.project.index, i.number))
        for name, desc in reversed(self.order):
            if name == "key":
                out.sort(key=lambda i: (i.project.key, i.number), reverse=desc)
            else:
                out.sort(key=lambda i: getattr(i, name), reverse=desc)
        return out


class IssueRow:
    """An issue known by its index row; anything else loads the whole issue on first use."""

    __slots__ = ("_issue", "jira", "number", "project", "updated")

    def __init__(self, jira: JiraData, project: JiraProject, number: int, updated: datetime):
        self.jira, self.project, self.number, self.updated = jira, project, number, updated
        self._issue: JiraIssue | None = None

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"

    @property
    def created(self) -> datetime:
        return self.jira.created(self.project, self.number)

    @property
    def issue_type(self) -> str:
        return self.jira.issue_type(self.project, self.number)

    def load(self) -> JiraIssue:
        if self._issue is None:
            self._issue = self.jira.issue(self.project, self.number)
        return self._issue

    def __getattr__(self, name: str):
        return getattr(self.load(), name)


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------

class JiraApp(ApiApp):
    name = "jira"
    credentials: ClassVar[dict[str, str]] = {"email": "sieve-reader@sieve-demo.example", "token": "demo-token"}
    supports_conditional = False  # no ETag or 304 on the real service either

    def __init__(self, org: Org, email: str, token: str):
        super().__init__()
        self.org = org
        self.data = org.jira
        self.expected_auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.reader_email = email
        # Keys of the projects where the account holds Browse Projects; a test may take the
        # permission away (reset restores it).
        self.browsable = self._all_keys()
        self.cloud_id = _uuid(stable_hex(32, "jira-cloud-id", org.seed))
        self.oauth = OAuthAuthority(ATLASSIAN_OAUTH)
        r = self.route
        self.oauth.add_routes(r)
        r("GET", ACCESSIBLE_RESOURCES, self.accessible_resources)
        r("GET", f"{API}/myself", self.myself)
        r("GET", f"{API}/serverInfo", self.server_info)
        r("GET", f"{API}/project", self.projects)
        r("GET", f"{API}/project/search", self.project_search)
        r("GET", f"{API}/project/{{key}}", self.project)
        r("GET", f"{API}/project/{{key}}/version", self.project_versions)
        r("GET", f"{API}/issuetype", self.issue_types)
        r("GET", f"{API}/field", self.fields)
        r("GET", f"{API}/users/search", self.users)
        r("GET", f"{API}/user", self.user)
        r("GET", f"{API}/search", self.search)
        r("POST", f"{API}/search", self.search)
        r("GET", f"{API}/search/jql", self.search_jql)
        r("POST", f"{API}/search/jql", self.search_jql)
        r("GET", f"{API}/issue/{{key}}", self.issue)
        r("GET", f"{API}/issue/{{key}}/changelog", self.changelog)
        r("GET", f"{API}/issue/{{key}}/comment", self.comments)
        r("GET", f"{AGILE}/board", self.boards)
        r("GET", f"{AGILE}/board/{{board}}/sprint", self.board_sprints)
        r("GET", f"{AGILE}/sprint/{{sprint}}/issue", self.sprint_issues)

    def _all_keys(self) -> frozenset[str]:
        return frozenset(p.key for p in self.data.projects)

    def reset(self) -> None:
        self.browsable = self._all_keys()
        self.oauth.reset()

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        if not path.startswith(GATEWAY):
            return "", path
        cloud_id, _, rest = path[len(GATEWAY):].partition("/")
        if cloud_id != self.cloud_id:
            return None
        return f"{GATEWAY}{cloud_id}", f"/{rest}"

    def authenticate(self, request: Request) -> ApiError | None:
        if self.oauth.is_public(request):
            return None
        header = request.header("authorization") or ""
        if GATEWAY in request.base_url or request.path == ACCESSIBLE_RESOURCES:
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            if token and self.oauth.valid_access_token(token):
                return None
            return ApiError(401, {"code": 401, "message": "Unauthorized"})
        if header == self.expected_auth:
            return None
        headers = {"WWW-Authenticate": 'Basic realm="protected-area"'}
        if header:
            headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        return ApiError(401, "Client must be authenticated to access this resource.", headers)

    def not_found(self, request: Request) -> ApiError:
        return ApiError(404, {"errorMessages": [("Issue does not exist or you do not have "
                                                 "permission to see it.")], "errors": {}})

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        reset = datetime.fromtimestamp(state.reset_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"X-RateLimit-Limit": str(state.limit), "X-RateLimit-Remaining": str(state.remaining),
                "X-RateLimit-Reset": reset}

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        seconds = state.seconds_to_reset(self.rate_limits.now())
        return self.rate_limited_retry_after(seconds, request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        return ApiError(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                        {"Retry-After": str(retry_after), "RateLimit-Reason": "jira-quota-based"})

    def server_error(self, status: int) -> ApiError:
        return ApiError(status, {"errorMessages": ["Internal server error"], "errors": {}})

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"Server": "AtlassianEdge", "Cache-Control": "no-cache, no-store, no-transform",
                "X-AREQUESTID": f"{request_number:08x}-{self.org.seed:04x}",
                "X-Content-Type-Options": "nosniff"}

    # -- JSON --------------------------------------------------------------------------------

    def user_json(self, person: Person | None, base: str) -> dict | None:
        if person is None:
            return None
        body = {"self": f"{base}{API}/user?accountId={person.jira_account_id}",
                "accountId": person.jira_account_id,
                "avatarUrls": {size: f"https://avatar.sieve-demo.example/{person.jira_account_id}/{size}"
                               for size in ("48x48", "24x24", "16x16", "32x32")}}
        if person.is_bot:
            body.update({"displayName": "Automation for Jira", "active": True, "accountType": "app"})
            return body
        if person.is_deleted:
            body.update({"displayName": "Former user", "active": False, "timeZone": "Etc/UTC",
                         "accountType": "atlassian"})
            return body
        # Most people share their email; one hides it (Jira's profile visibility setting).
        if person.index != 7:
            body["emailAddress"] = person.jira_email
        body.update({"displayName": person.jira_display_name, "active": True, "timeZone": person.tz,
                     "accountType": "atlassian"})
        return body

    def project_json(self, project: JiraProject, base: str, full: bool = False) -> dict:
        body = {"expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
                "self": f"{base}{API}/project/{project.project_id}", "id": project.project_id,
                "key": project.key, "name": project.name,
                "avatarUrls": {"48x48": f"https://avatar.sieve-demo.example/project/{project.key}"},
                "projectTypeKey": "software", "simplified": False,
                "style": "classic", "isPrivate": False, "properties": {}}
        if full:
            body.update({"description": "", "lead": self.user_json(project.lead, base),
                         "issueTypes": [self.issue_type_json(n, base)
                                        for n in self._project_types(project)]})
        return body

    def version_json(self, version: FixVersion, base: str, project_id: str | None = None) -> dict:
        body = {"self": f"{base}{API}/version/{version.version_id}", "id": version.version_id,
                "description": f"Release train {version.name}", "name": version.name,
                "archived": False, "released": version.released,
                "releaseDate": version.release_date.isoformat()}
        if project_id is not None:  # the project's listing says which project; issues do not
            body.update({"overdue": not version.released
                         and version.release_date < self.org.now.date(),
                         "userReleaseDate": version.release_date.strftime("%d/%b/%y"),
                         "projectId": int(project_id)})
        return body

    def _project_types(self, project: JiraProject) -> list[str]:
        return ["Incident", "Task"] if project.is_ops else ["Epic", "Story", "Task", "Bug"]

    def issue_type_json(self, name: str, base: str) -> dict:
        type_id, level = JIRA_ISSUE_TYPES[name]
        return {"self": f"{base}{API}/issuetype/{type_id}", "id": type_id, "description": "",
                "iconUrl": f"{base}/images/icons/issuetypes/{name.lower()}.svg", "name": name,
                "untranslatedName": name, "subtask": False, "avatarId": 10300 + int(type_id) % 100,
                "hierarchyLevel": level}

    def status_json(self, name: str, base: str) -> dict:
        status_id, category = JIRA_STATUSES[name]
        cat_id, cat_name, colour = STATUS_CATEGORIES[category]
        return {"self": f"{base}{API}/status/{status_id}", "description": "",
                "iconUrl": f"{base}/images/icons/statuses/generic.png", "name": name, "id": status_id,
                "statusCategory": {"self": f"{base}{API}/statuscategory/{cat_id}", "id": int(cat_id),
                                   "key": category, "colorName": colour, "name": cat_name}}

    def sprint_json(self, sprint: Sprint, base: str, agile: bool = False) -> dict:
        state = sprint.state(self.org.now)
        body = {"id": sprint.sprint_id, "name": sprint.name, "state": state,
                "boardId": sprint.board_id, "goal": sprint.goal,
                "startDate": sprint.start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "endDate": sprint.end.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        if state == "closed":
            body["completeDate"] = (sprint.end + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if agile:
            body = {"id": sprint.sprint_id, "self": f"{base}{AGILE}/sprint/{sprint.sprint_id}",
                    **{k: v for k, v in body.items() if k not in ("id", "boardId")},
                    "createdDate": (sprint.start - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "originBoardId": sprint.board_id}
        return body

    def history_json(self, history: History, base: str) -> dict:
        return {"id": history.history_id, "author": self.user_json(history.author, base),
                "created": jira_time(history.created, history.author),
                "items": [{"field": item.field,
                           "fieldtype": "custom" if item.field_id.startswith("customfield") else "jira",
                           "fieldId": item.field_id, "from": item.from_id, "fromString": item.from_string,
                           "to": item.to_id, "toString": item.to_string} for item in history.items]}

    def comment_json(self, issue: JiraIssue, comment, base: str) -> dict:
        author = self.user_json(comment.author, base)
        return {"self": f"{base}{API}/issue/{issue.issue_id}/comment/{comment.comment_id}",
                "id": str(comment.comment_id), "author": author, "body": adf(comment.body),
                "updateAuthor": author, "created": jira_time(comment.created_at, comment.author),
                "updated": jira_time(comment.updated_at, comment.author), "jsdPublic": True}

    def issue_json(self, issue: JiraIssue, base: str, fields: tuple[str, ...], expand: set[str]) -> dict:
        tz_person = issue.reporter
        values = {
            "summary": lambda: issue.summary,
            "issuetype": lambda: self.issue_type_json(issue.issue_type, base),
            "project": lambda: self.project_json(issue.project, base),
            "status": lambda: self.status_json(issue.status, base),
            "priority": lambda: {"self": f"{base}{API}/priority/{PRIORITIES[issue.priority]}",
                                 "iconUrl": f"{base}/images/icons/priorities/{issue.priority.lower()}.svg",
                                 "name": issue.priority, "id": PRIORITIES[issue.priority]},
            "assignee": lambda: self.user_json(issue.assignee, base),
            "reporter": lambda: self.user_json(issue.reporter, base),
            "creator": lambda: self.user_json(issue.reporter, base),
            "created": lambda: jira_time(issue.created, tz_person),
            "updated": lambda: jira_time(issue.updated, tz_person),
            "resolutiondate": lambda: jira_time(issue.resolution_date, tz_person),
            "resolution": lambda: {"self": f"{base}{API}/resolution/10000", "id": "10000",
                                   "description": "Work has been completed on this issue.",
                                   "name": "Done"} if issue.resolution_date else None,
            "labels": lambda: list(issue.labels),
            "duedate": lambda: issue.due_date.isoformat() if issue.due_date else None,
            "fixVersions": lambda: [self.version_json(v, base) for v in issue.fix_versions],
            "parent": lambda: self._parent_json(issue, base),
            "customfield_10016": lambda: issue.story_points,
            "customfield_10020": lambda: [self.sprint_json(s, base) for s in issue.sprints] or None,
            "statuscategorychangedate": lambda: jira_time(
                next((h.created for h in reversed(issue.histories) if h.items[0].field == "status"),
                     issue.created), tz_person),
            "description": lambda: adf(issue.description),
            "comment": lambda: {"comments": [self.comment_json(issue, c, base) for c in issue.comments],
                                "self": f"{base}{API}/issue/{issue.issue_id}/comment",
                                "maxResults": len(issue.comments), "total": len(issue.comments),
                                "startAt": 0},
        }
        body = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                "id": issue.issue_id, "self": f"{base}{API}/issue/{issue.issue_id}", "key": issue.key,
                "fields": {name: values[name]() for name in fields if name in values}}
        if "parent" in body["fields"] and body["fields"]["parent"] is None:
            del body["fields"]["parent"]
        if "changelog" in expand:
            histories = issue.histories[:100]
            body["changelog"] = {"startAt": 0, "maxResults": len(histories),
                                 "total": len(issue.histories),
                                 "histories": [self.history_json(h, base) for h in reversed(histories)]}
        return body

    def _parent_json(self, issue: JiraIssue, base: str) -> dict | None:
        if issue.parent_number is None or issue.parent_number == issue.number:
            return None
        parent = self.data.issue(issue.project, issue.parent_number)
        if parent is None:
            return None
        return {"id": parent.issue_id, "key": parent.key, "self": f"{base}{API}/issue/{parent.issue_id}",
                "fields": {"summary": parent.summary, "status": self.status_json(parent.status, base),
                           "priority": {"name": parent.priority, "id": PRIORITIES[parent.priority]},
                           "issuetype": self.issue_type_json(parent.issue_type, base)}}

    # -- request helpers ---------------------------------------------------------------------

    def _params(self, request: Request) -> dict[str, object]:
        """Query parameters, merged with a JSON body for POST searches."""
        params: dict[str, object] = dict(request.query)
        if request.method == "POST" and request.body:
            try:
                params.update(json.loads(request.body))
            except ValueError:
                raise ApiError(400, {"errorMessages": [("Invalid request payload. Refer to the "
                                                        "REST API documentation and try again.")]}) from None
        return params

    @staticmethod
    def _list_param(value: object) -> list[str]:
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        return [v.strip() for v in str(value).split(",") if v.strip()]

    def _fields(self, value: object, default: tuple[str, ...]) -> tuple[str, ...]:
        names = self._list_param(value)
        if not names:
            return default
        if "*all" in names:
            return ALL_FIELDS
        if "*navigable" in names:
            return NAVIGABLE_FIELDS + tuple(n for n in names if n in ALL_FIELDS and n not in NAVIGABLE_FIELDS)
        return tuple(n for n in names if not n.startswith("-"))

    def _int(self, params: dict[str, object], name: str, default: int, maximum: int) -> int:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        try:
            return max(0, min(int(raw), maximum)) if name == "maxResults" else max(0, int(raw))
        except (TypeError, ValueError):
            raise ApiError(400, {"errorMessages": [f"The value '{raw}' is invalid for {name}."],
                                 "errors": {}}) from None

    def _matching_issues(self, jql: Jql) -> list[IssueRow]:
        """Matching issues as rows: key, dates and type come from the per-project index, so
        only clauses on status or sprint (and the rendered page) build whole issues."""
        keys = jql.project_keys
        rows = [IssueRow(self.data, project, number, updated)
                for project in self._browsable_projects()
                if keys is None or project.key in keys or project.project_id in keys
                for updated, number in self.data.updated_index(project)]
        return jql.sort([row for row in rows if jql.matches(row)])

    def _issue(self, request: Request) -> JiraIssue:
        key = request.params["key"]
        issue = self.data.issue_by_key(key.upper())
        if issue is None and key.isdigit():  # numeric issue id (see JiraIssue.issue_id)
            project_index, number = divmod(int(key) - 10000, 1_000_000)
            if 0 <= project_index < len(self.data.projects):
                issue = self.data.issue(self.data.projects[project_index], number)
        if issue is None:
            raise self.not_found(request)
        return issue

    # -- handlers ----------------------------------------------------------------------------

    def accessible_resources(self, request: Request) -> Response:
        """The one site the token reaches: its cloud id, name, URL and the granted scopes."""
        return Response(body=[{"id": self.cloud_id, "name": self.org.login,
                               "url": request.base_url,
                               "scopes": ATLASSIAN_OAUTH.scope.split()[:2],
                               "avatarUrl": "https://site-admin-avatar-cdn.sieve-demo.example/"
                                            "avatars/240/rocket.png"}])

    def myself(self, request: Request) -> Response:
        return Response(body={"self": f"{request.base_url}{API}/user?accountId=sieve-reader",
                              "accountId": "sieve-reader", "accountType": "atlassian",
                              "emailAddress": self.reader_email, "displayName": "Sieve reader",
                              "active": True, "timeZone": "Etc/UTC", "locale": "en_US"})

    def server_info(self, request: Request) -> Response:
        return Response(body={"baseUrl": request.base_url, "version": "1001.0.0-SNAPSHOT",
                              "deploymentType": "Cloud", "serverTitle": "Jira"})

    def projects(self, request: Request) -> Response:
        return Response(body=[self.project_json(p, request.base_url)
                              for p in self._browsable_projects()])

    def project_search(self, request: Request) -> Response:
        """GET /project/search ("Get projects paginated"): the projects the account may browse,
        filtered by ``keys`` and ordered by ``orderBy`` (``key`` by default; ``name``; a ``-``
        prefix reverses), as a PageBean of at most 50 (JRACLOUD-84803)."""
        params = self._params(request)
        start = self._int(params, "startAt", 0, 10**9)
        size = self._int(params, "maxResults", 50, 50)
        keys = set(request.query_list("keys"))
        projects = [p for p in self._browsable_projects() if not keys or p.key in keys]
        order = str(params.get("orderBy") or "key")
        field = order.lstrip("+-")
        if field not in ("key", "name"):
            raise ApiError(400, {"errorMessages": [f"Invalid orderBy value: {order}."],
                                 "errors": {}})
        projects.sort(key=lambda p: getattr(p, field), reverse=order.startswith("-"))
        window = page_window(len(projects), start, size, request.repeat_page)
        base = request.base_url
        body = {"self": f"{base}{API}/project/search?startAt={start}&maxResults={size}",
                "maxResults": size, "startAt": start, "total": len(projects),
                "isLast": start + size >= len(projects),
                "values": [self.project_json(projects[i], base) for i in window]}
        if not body["isLast"]:
            body["nextPage"] = f"{base}{API}/project/search?startAt={start + size}&maxResults={size}"
        return Response(body=body)

    def _browsable_projects(self) -> list[JiraProject]:
        return [p for p in self.data.projects if p.key in self.browsable]

    def _project_in_path(self, request: Request) -> JiraProject:
        """The project a ``/project/{projectIdOrKey}`` path names, by key or id."""
        key = request.params["key"]
        project = self.data.project(key.upper()) or next(
            (p for p in self.data.projects if p.project_id == key), None)
        if project is None or project.key not in self.browsable:
            raise ApiError(404, {"errorMessages": [f"No project could be found with key '{key}'."],
                                 "errors": {}})
        return project

    def project(self, request: Request) -> Response:
        project = self._project_in_path(request)
        return Response(body=self.project_json(project, request.base_url, full=True))

    def project_versions(self, request: Request) -> Response:
        """A PageBean of the project's versions (``startAt``/``maxResults``, default 50)."""
        project = self._project_in_path(request)
        key = request.params["key"]
        params = self._params(request)
        start = self._int(params, "startAt", 0, 10**9)
        size = self._int(params, "maxResults", 50, 50)
        versions = self.data.fix_versions(project)
        window = page_window(len(versions), start, size, request.repeat_page)
        base = request.base_url
        path = f"{base}{API}/project/{key}/version"
        body = {"self": f"{path}?startAt={start}&maxResults={size}", "maxResults": size,
                "startAt": start, "total": len(versions), "isLast": start + size >= len(versions),
                "values": [self.version_json(versions[i], base, project.project_id)
                           for i in window]}
        if not body["isLast"]:
            body["nextPage"] = f"{path}?startAt={start + size}&maxResults={size}"
        return Response(body=body)

    def issue_types(self, request: Request) -> Response:
        return Response(body=[self.issue_type_json(n, request.base_url) for n in JIRA_ISSUE_TYPES])

    def fields(self, request: Request) -> Response:
        """Field catalogue: how a client finds the story-point and sprint custom fields."""
        def system(field_id: str, name: str, kind: str) -> dict:
            return {"id": field_id, "key": field_id, "name": name, "custom": False, "orderable": True,
                    "navigable": True, "searchable": True, "clauseNames": [field_id],
                    "schema": {"type": kind, "system": field_id}}

        def custom(number: int, name: str, schema: dict) -> dict:
            field_id = f"customfield_{number}"
            return {"id": field_id, "key": field_id, "name": name, "untranslatedName": name,
                    "custom": True, "orderable": True, "navigable": True, "searchable": True,
                    "clauseNames": [f"cf[{number}]", name], "schema": {**schema, "customId": number}}

        return Response(body=[
            system("summary", "Summary", "string"), system("issuetype", "Issue Type", "issuetype"),
            system("status", "Status", "status"), system("created", "Created", "datetime"),
            system("updated", "Updated", "datetime"), system("description", "Description", "string"),
            system("parent", "Parent", "issuelink"),
            custom(10016, "Story point estimate", {
                "type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points"}),
            custom(10020, "Sprint", {"type": "array", "items": "json",
                                     "custom": "com.pyxis.greenhopper.jira:gh-sprint"}),
        ])

    def users(self, request: Request) -> Response:
        start = request.int_param("startAt", 0)
        size = request.int_param("maxResults", 50, 1000)
        people = list(self.org.people)
        window = page_window(len(people), start, size, request.repeat_page)
        return Response(body=[self.user_json(people[i], request.base_url) for i in window])

    def user(self, request: Request) -> Response:
        person = self.org.person_by_jira_account(request.query.get("accountId", ""))
        if person is None:
            raise ApiError(404, {"errorMessages": ["User not found"], "errors": {}})
        return Response(body=self.user_json(person, request.base_url))

    def search(self, request: Request) -> Response:
        """Offset search: startAt/maxResults/total (max 100 per page)."""
        params = self._params(request)
        jql = Jql(str(params.get("jql") or ""), self.org.now)
        start = self._int(params, "startAt", 0, 10**9)
        size = self._int(params, "maxResults", 50, 100)
        fields = self._fields(params.get("fields"), NAVIGABLE_FIELDS)
        expand = set(self._list_param(params.get("expand")))
        issues = self._matching_issues(jql)
        window = page_window(len(issues), start, size, request.repeat_page)
        return Response(body={
            "expand": "names,schema", "startAt": start, "maxResults": size, "total": len(issues),
            "issues": [self.issue_json(issues[i].load(), request.base_url, fields, expand)
                       for i in window]})

    def search_jql(self, request: Request) -> Response:
        """Token search (the current endpoint): nextPageToken/isLast, default fields: id only."""
        params = self._params(request)
        text = str(params.get("jql") or "")
        jql = Jql(text, self.org.now)
        size = self._int(params, "maxResults", 50, 5000 if params.get("fields") in (None, "id") else 100)
        token = params.get("nextPageToken")
        start = self._decode_token(str(token), text) if token else 0
        fields = self._fields(params.get("fields"), ())
        expand = set(self._list_param(params.get("expand")))
        issues = self._matching_issues(jql)
        window = page_window(len(issues), start, size, request.repeat_page)
        body: dict[str, object] = {
            "issues": [self.issue_json(issues[i].load(), request.base_url, fields, expand)
                       for i in window]}
        if start + size < len(issues):
            body["nextPageToken"] = self._encode_token(start + size, text)
        body["isLast"] = start + size >= len(issues)
        return Response(body=body)

    @staticmethod
    def _encode_token(offset: int, jql: str) -> str:
        raw = json.dumps([offset, jql]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_token(token: str, jql: str) -> int:
        try:
            offset, token_jql = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            raise ApiError(400, {"errorMessages": ["The provided next page token is invalid or expired."],
                                 "errors": {}}) from None
        if token_jql != jql or not isinstance(offset, int):
            raise ApiError(400, {"errorMessages": ["The provided next page token is invalid or expired."],
                                 "errors": {}})
        return offset

    def issue(self, request: Request) -> Response:
        issue = self._issue(request)
        fields = self._fields(request.query.get("fields"), ALL_FIELDS)
        expand = set(self._list_param(request.query.get("expand")))
        return Response(body=self.issue_json(issue, request.base_url, fields, expand))

    def changelog(self, request: Request) -> Response:
        issue = self._issue(request)
        start = request.int_param("startAt", 0)
        size = request.int_param("maxResults", 100, 100, 1)
        histories = issue.histories  # oldest first, as this endpoint returns them
        window = page_window(len(histories), start, size, request.repeat_page)
        base = f"{request.base_url}{API}/issue/{issue.key}/changelog"
        body: dict[str, object] = {"self": f"{base}?maxResults={size}&startAt={start}"}
        if start + size < len(histories):
            body["nextPage"] = f"{base}?maxResults={size}&startAt={start + size}"
        body.update({"maxResults": size, "startAt": start, "total": len(histories),
                     "isLast": start + size >= len(histories),
                     "values": [self.history_json(histories[i], request.base_url) for i in window]})
        return Response(body=body)

    def comments(self, request: Request) -> Response:
        issue = self._issue(request)
        start = request.int_param("startAt", 0)
        size = request.int_param("maxResults", 50, 5000, 1)
        window = page_window(len(issue.comments), start, size, request.repeat_page)
        return Response(body={"startAt": start, "maxResults": size, "total": len(issue.comments),
                              "comments": [self.comment_json(issue, issue.comments[i], request.base_url)
                                           for i in window]})

    def boards(self, request: Request) -> Response:
        start = request.int_param("startAt", 0)
        size = request.int_param("maxResults", 50, 50, 1)
        wanted = request.query.get("projectKeyOrId")
        projects = [p for p in self.data.projects
                    if wanted is None or wanted in (p.key, p.project_id)]
        base = request.base_url
        window = page_window(len(projects), start, size, request.repeat_page)
        values = []
        for i in window:
            p = projects[i]
            values.append({"id": p.board_id, "self": f"{base}{AGILE}/board/{p.board_id}",
                           "name": f"{p.key} board", "type": "kanban" if p.is_ops else "scrum",
                           "location": {"projectId": int(p.project_id), "displayName": f"{p.name} ({p.key})",
                                        "projectName": p.name, "projectKey": p.key,
                                        "projectTypeKey": "software", "name": f"{p.name} ({p.key})"}})
        return Response(body={"maxResults": size, "startAt": start, "total": len(projects),
                              "isLast": start + size >= len(projects), "values": values})

    def _board_project(self, request: Request) -> JiraProject:
        raw = request.params["board"]
        project = next((p for p in self.data.projects if str(p.board_id) == raw), None)
        if project is None:
            raise ApiError(404, {"errorMessages": [(f"Board {raw} does not exist or you do not "
                                                    "have permission to see it.")], "errors": {}})
        return project

    def board_sprints(self, request: Request) -> Response:
        project = self._board_project(request)
        if project.is_ops:
            raise ApiError(400, {"errorMessages": ["The board does not support sprints"], "errors": {}})
        states = set(self._list_param(request.query.get("state")))
        sprints = [s for s in self.data.sprints(project.board_id)
                   if not states or s.state(self.org.now) in states]
        start = request.int_param("startAt", 0)
        size = request.int_param("maxResults", 50, 50, 1)
        window = page_window(len(sprints), start, size, request.repeat_page)
        return Response(body={"maxResults": size, "startAt": start,
                              "isLast": start + size >= len(sprints),
                              "values": [self.sprint_json(sprints[i], request.base_url, agile=True)
                                         for i in window]})

    def sprint_issues(self, request: Request) -> Response:
        raw = request.params["sprint"]
        sprint = self.data.sprint(int(raw)) if raw.isdigit() else None
        if sprint is None:
            raise ApiError(404, {"errorMessages": [f"Sprint with id {raw} does not exist."], "errors": {}})
        project = next(p for p in self.data.projects if p.board_id == sprint.board_id)
        extra = request.query.get("jql")
        jql = Jql(f"project = {project.key} AND sprint = {sprint.sprint_id}"
                  + (f" AND {extra}" if extra else "") + " ORDER BY key ASC", self.org.now)
        start = request.int_param("startAt", 0)
        size = request.int_param("maxResults", 50, 100, 1)
        fields = self._fields(request.query.get("fields"), NAVIGABLE_FIELDS)
        expand = set(self._list_param(request.query.get("expand")))
        issues = self._matching_issues(jql)
        window = page_window(len(issues), start, size, request.repeat_page)
        return Response(body={"expand": "schema,names", "startAt": start, "maxResults": size,
                              "total": len(issues),
                              "issues": [self.issue_json(issues[i].load(), request.base_url, fields,
                                                         expand) for i in window]})
