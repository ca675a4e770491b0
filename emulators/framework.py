"""What every emulated API shares: routing, request records, rate limits, faults, conditional
requests and deterministic JSON.

Each API module builds an ``ApiApp`` (routes plus its own auth, error bodies and rate-limit
headers); ``emulators.server`` dispatches HTTP requests to it and applies the shared behaviour.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import ClassVar
from urllib.parse import parse_qs, urlencode

JSON_TYPE = "application/json; charset=utf-8"


def dump_json(obj: object) -> bytes:
    """Compact, key-order-preserving JSON: the same object always gives the same bytes."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def iso_z(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


class ApiError(Exception):
    """Raised by a handler to answer with an API-specific error (status, body, headers)."""

    def __init__(self, status: int, body: object, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Request:
    api: str
    method: str
    path: str  # relative to the API root, e.g. "/repos/o/r/pulls"
    query: dict[str, str]  # first value of each query (or form) parameter
    headers: dict[str, str]  # lower-cased names
    base_url: str  # the API root the client used, e.g. "http://127.0.0.1:8765/github/api/v3"
    body: bytes = b""
    log_epoch: int = 0  # the request log generation this request belongs to
    endpoint: str = ""
    params: dict[str, str] = field(default_factory=dict)  # captured from the route pattern
    repeat_page: bool = False  # fault: this page repeats the previous page's tail
    raw_query: str = ""  # the query string as sent, for parameters given more than once
    # The rate-limit budget the request spends, when not its API's own (set by authenticate:
    # a GitHub App installation's token spends the installation's budget).
    budget: str | None = None
    operation: str = ""  # set by a GraphQL handler: the operation's name, for the request log

    def query_list(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (PagerDuty's ``service_ids[]``)."""
        return parse_qs(self.raw_query).get(name, [])

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def int_param(self, name: str, default: int, maximum: int | None = None,
                  minimum: int = 0) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, {"message": f"Invalid value for {name}: {raw!r}"}) from None
        value = max(minimum, value)
        return min(value, maximum) if maximum is not None else value


@dataclass
class Response:
    status: int = 200
    body: object = None  # JSON-able object, or bytes for a raw body
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    content_type: str = JSON_TYPE

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return dump_json(self.body)


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    endpoint: str
    handler: Handler


def strip_prefix(path: str, prefix: str) -> str | None:
    """``path`` relative to ``prefix`` when it lies under it, else None."""
    if path == prefix or path.startswith(prefix + "/"):
        return path[len(prefix):] or "/"
    return None


def compile_route(template: str) -> re.Pattern:
    """``/repos/{owner}/{repo}/pulls`` -> a regex with named groups (no slashes in a group)."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


class ApiApp:
    """Routes and API-specific conventions. Subclasses override the hooks."""

    name = ""
    credentials: ClassVar[dict[str, str]] = {}  # the demo credentials, as keyword arguments of __init__
    supports_conditional = True  # ETag/Last-Modified validators and 304 answers
    counts_conditional = False  # GitHub: a 304 does not count against the rate limit
    uncounted_endpoints: frozenset[str] = frozenset()  # e.g. GitHub's GET /rate_limit

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.rate_limits: RateLimits | None = None  # attached by the server


    def route(self, method: str, template: str, handler: Handler) -> None:
        self.routes.append(Route(method, compile_route(template), f"{method} {template}", handler))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if route.method != method and not (route.method == "GET" and method == "HEAD"):
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None, {}

    # Hooks -----------------------------------------------------------------------------------
    def split_path(self, path: str) -> tuple[str, str] | None:
        """(API-root prefix, API-relative path) for a path under /<api>, or None."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> ApiError | None:
        raise NotImplementedError

    def not_found(self, request: Request) -> ApiError:
        raise NotImplementedError

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        return {}

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        raise NotImplementedError

    def secondary_rate_limited(self, retry_after: int, request: Request) -> ApiError:
        return self.rate_limited_retry_after(retry_after, request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        raise NotImplementedError

    def server_error(self, status: int) -> ApiError:
        return ApiError(status, {"message": "Server Error"})

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {}

    def reset(self) -> None:
        """Forget what the app itself keeps between requests (faults, records, tokens issued,
        installations or grants changed by a test)."""


# ---------------------------------------------------------------------------------------------
# Rate limits
# ---------------------------------------------------------------------------------------------

@dataclass
class RateLimitState:
    """One window of a primary budget. ``reset_at`` is wall-clock epoch seconds."""

    limit: int
    window_seconds: float
    reset_at: float
    # A budget a test configured rolls over only once used up, so exhaustion comes after
    # exactly ``limit`` requests however slow the client (a loaded machine cannot dodge it).
    rolls_over_only_when_exhausted: bool = False
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def reset_epoch(self) -> int:
        return math.ceil(self.reset_at)

    def seconds_to_reset(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))


# (requests, window seconds) as the real services document them: GitHub 5,000 per hour for a
# token; gitlab.com 2,000 per minute for an authenticated user; Jira Cloud and Slack meter per
# minute (Slack by method tier — one generous budget stands in for the tiers here); PagerDuty
# 960 a minute per REST API key; Opsgenie meters per minute by plan; Azure DevOps delays a user
# past 200 times a typical user's use in a sliding five minutes (a generous stand-in here).
DEFAULT_RATE_LIMITS = {"github": (5000, 3600.0), "gitlab": (2000, 60.0), "jira": (1000, 60.0),
                       "slack": (1000, 60.0), "pagerduty": (960, 60.0), "opsgenie": (600, 60.0),
                       # Bitbucket Cloud: 1,000 an hour on /2.0/repositories/* (rolling hour).
                       "bitbucket": (1000, 3600.0),
                       "azuredevops": (2000, 300.0),
                       # GitHub's GraphQL points: a budget of its own beside the REST requests.
                       "github_graphql": (5000, 3600.0)}
DEFAULT_WINDOW_SECONDS = 3600.0


class RateLimits:
    """One primary budget per API: ``limit`` requests per ``window_seconds`` (wall clock).

    The default budgets behave like the real ones: a window starts at its first request and
    refills when it ends. Budgets set with ``configure`` (tests) are deterministic: the window
    refills only after it has been used up, ``window_seconds`` after it began or after the
    exhausting request, whichever is later."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._default_clock = clock
        self.clock = clock  # wall clock of the windows; a test may swap it (reset restores it)
        self._lock = threading.Lock()
        self._states: dict[str, RateLimitState] = {}
        self._configured: dict[str, tuple[int, float]] = {}
        # Budgets of their own beside the APIs' (one per GitHub App installation).
        self._defaults: dict[str, tuple[int, float]] = {}

    def add_budget(self, key: str, limit: int, window_seconds: float) -> None:
        """A budget named ``key`` with the real service's ``limit`` (a test's ``configure``
        still wins)."""
        with self._lock:
            self._defaults[key] = (limit, window_seconds)

    def configure(self, api: str, limit: int, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError(f"a {api} rate limit needs limit >= 1 and window_seconds > 0, "
                             f"got {limit} per {window_seconds}s")
        with self._lock:
            self._configured[api] = (limit, window_seconds)
            self._states.pop(api, None)

    def reset(self) -> None:
        with self._lock:
            self.clock = self._default_clock
            self._configured.clear()
            self._defaults.clear()
            self._states.clear()

    def state(self, api: str) -> RateLimitState:
        with self._lock:
            return self._current(api)

    def _current(self, api: str) -> RateLimitState:
        now = self.clock()
        state = self._states.get(api)
        if state is not None and now >= state.reset_at:
            if state.rolls_over_only_when_exhausted and state.remaining > 0:
                state.reset_at = now + state.window_seconds  # not used up: keep counting
            else:
                state = None
        if state is None:
            configured = self._configured.get(api)
            limit, window = configured or self._defaults.get(api) or DEFAULT_RATE_LIMITS[api]
            state = RateLimitState(limit, window, now + window, configured is not None)
            self._states[api] = state
        return state

    def exhausted(self, api: str) -> RateLimitState | None:
        with self._lock:
            state = self._current(api)
            return state if state.remaining == 0 else None

    def spend(self, api: str, amount: int = 1) -> RateLimitState:
        with self._lock:
            state = self._current(api)
            state.used += amount
            if state.remaining == 0 and state.rolls_over_only_when_exhausted:
                state.reset_at = max(state.reset_at, self.clock() + state.window_seconds)
            return state

    def exhaust(self, api: str) -> None:
        with self._lock:
            state = self._current(api)
            state.used = state.limit
            if state.rolls_over_only_when_exhausted:
                state.reset_at = max(state.reset_at, self.clock() + state.window_seconds)

    def now(self) -> float:
        return self.clock()


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

FAULT_KINDS = ("server_error", "not_found", "delay", "truncate_json", "invalid_json",
               "repeat_page", "drop_connection", "secondary_rate_limit")


@dataclass
class FaultRule:
    kind: str
    pattern: re.Pattern
    api: str | None
    times: int | None  # None: every matching request
    status: int = 502
    seconds: float = 0.0
    skip: int = 0  # let this many matching requests through first


@dataclass(frozen=True)
class FaultEvent:
    kind: str
    api: str
    target: str


class Faults:
    """Fault injection, configured per test. Each rule matches ``re.search(pattern, target)``
    where target is the API-relative path plus query string (e.g. ``/repos/o/r/pulls?page=2``)
    and fires for the next ``times`` matching requests (``None`` = every one), after letting
    ``after`` matching requests through. ``events`` lists what fired."""

    def __init__(self, rate_limits: RateLimits):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.rate_limits = rate_limits
        self.events: list[FaultEvent] = []

    def _add(self, kind: str, pattern: str, api: str | None, times: int | None, after: int,
             **extra) -> FaultRule:
        rule = FaultRule(kind, re.compile(pattern), api, times, skip=after, **extra)
        with self._lock:
            self._rules.append(rule)
        return rule

    def server_errors(self, pattern: str = "", times: int = 3, status: int = 502,
                      api: str | None = None, after: int = 0) -> FaultRule:
        """A burst of ``times`` 5xx answers."""
        if not 500 <= status <= 599:
            raise ValueError(f"server_errors needs a 5xx status, got {status}")
        return self._add("server_error", pattern, api, times, after, status=status)

    def not_found(self, pattern: str = "", times: int = 1, api: str | None = None,
                  after: int = 0) -> FaultRule:
        """The API's own 404 for an item that exists: a replica lagging behind its listing."""
        return self._add("not_found", pattern, api, times, after)

    def slow(self, pattern: str = "", seconds: float = 1.0, times: int | None = 1,
             api: str | None = None, after: int = 0) -> FaultRule:
        """Delay the answer: a client timeout shorter than ``seconds`` sees a read timeout."""
        return self._add("delay", pattern, api, times, after, seconds=seconds)

    def truncated_json(self, pattern: str = "", times: int = 1, api: str | None = None,
                       after: int = 0) -> FaultRule:
        """200 with the body cut in half (Content-Length matches the cut body)."""
        return self._add("truncate_json", pattern, api, times, after)

    def invalid_json(self, pattern: str = "", times: int = 1, api: str | None = None,
                     after: int = 0) -> FaultRule:
        """200 whose body is an HTML error page despite the JSON content type."""
        return self._add("invalid_json", pattern, api, times, after)

    def repeated_page(self, pattern: str = "", times: int = 1, api: str | None = None,
                      after: int = 0) -> FaultRule:
        """The page starts with the last items of the previous page (as when new items shift
        an offset-paginated list); no item is lost, some are served twice."""
        return self._add("repeat_page", pattern, api, times, after)

    def dropped_connection(self, pattern: str = "", times: int = 1, api: str | None = None,
                           after: int = 0) -> FaultRule:
        """Close the connection without answering (the client sees a connection error)."""
        return self._add("drop_connection", pattern, api, times, after)

    def secondary_rate_limit(self, pattern: str = "", times: int = 1, retry_after: int = 1,
                             api: str | None = None, after: int = 0) -> FaultRule:
        """GitHub: 403 with Retry-After and the secondary-limit message; others: 429."""
        return self._add("secondary_rate_limit", pattern, api, times, after, seconds=retry_after)

    def rate_limit(self, api: str, limit: int, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        """Set the primary budget of ``api``: ``limit`` requests per window (starts afresh).
        Deterministic: the ``limit + 1``-th counted request is refused however long the
        requests took, and the window refills ``window_seconds`` after it began or after the
        exhausting request, whichever is later."""
        self.rate_limits.configure(api, limit, window_seconds)

    def exhaust_rate_limit(self, api: str) -> None:
        """Spend the rest of the current window's budget: the next request is refused."""
        self.rate_limits.exhaust(api)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.events.clear()
        self.rate_limits.reset()

    def take(self, kind: str, api: str, target: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind != kind or (rule.api and rule.api != api):
                    continue
                if rule.times is not None and rule.times <= 0:
                    continue
                if not rule.pattern.search(target):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times is not None:
                    rule.times -= 1
                self.events.append(FaultEvent(kind, api, target))
                return rule
        return None


# ---------------------------------------------------------------------------------------------
# Request log
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestRecord:
    api: str
    method: str
    path: str  # API-relative
    query: dict[str, str]
    status: int  # 0: the connection was dropped without an answer
    conditional: bool  # the request carried If-None-Match / If-Modified-Since
    endpoint: str  # route template, e.g. "GET /repos/{owner}/{repo}/pulls"
    operation: str = ""  # what a request to a single-route API asked (a GraphQL operation name)
    body_bytes: int = 0  # the answer's body as sent


class RequestLog(list):
    """A list of ``RequestRecord`` with counting helpers."""

    def per_endpoint(self, api: str | None = None) -> Counter:
        return Counter(r.endpoint for r in self if api is None or r.api == api)

    def matching(self, api: str | None = None, endpoint: str | None = None,
                 status: int | None = None) -> int:
        """How many records match every given filter."""
        return sum(1 for r in self if (api is None or r.api == api)
                   and (endpoint is None or r.endpoint == endpoint)
                   and (status is None or r.status == status))


# ---------------------------------------------------------------------------------------------
# Conditional requests and pagination helpers
# ---------------------------------------------------------------------------------------------

def etag_for(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(body).hexdigest() + '"'


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    if_none_match = request.header("if-none-match")
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        bare = etag.removeprefix("W/")
        return "*" in tags or etag in tags or bare in tags or f"W/{bare}" in tags
    since = request.header("if-modified-since")
    if since is not None and last_modified is not None:
        parsed = parse_http_date(since)
        return parsed is not None and last_modified.replace(microsecond=0) <= parsed
    return False


def is_conditional(request: Request) -> bool:
    return request.header("if-none-match") is not None or request.header("if-modified-since") is not None


def page_window(total: int, start: int, size: int, repeat: bool) -> range:
    """Indexes served for a page starting at ``start``. With the repeat fault the page also
    starts with the previous page's last half-page of items."""
    begin = start
    if repeat and start > 0:
        begin = max(0, start - max(1, size // 2))
    return range(begin, min(total, start + size))


def query_string(params: dict[str, object]) -> str:
    return urlencode([(k, str(v)) for k, v in params.items() if v is not None])


@dataclass(frozen=True)
class NumberedPage:
    """One page of a page-number-paginated list (GitHub, GitLab)."""

    page: int
    per_page: int
    last: int
    total: int
    window: range


def numbered_page(request: Request, total: int, default: int, maximum: int) -> NumberedPage:
    per_page = request.int_param("per_page", default, maximum, 1)
    page = request.int_param("page", 1, minimum=1)
    window = page_window(total, (page - 1) * per_page, per_page, request.repeat_page)
    return NumberedPage(page, per_page, max(1, -(-total // per_page)), total, window)


def link_header(request: Request, rels: list[tuple[str, int]]) -> str:
    """RFC 8288 Link header pointing at other pages of the same request."""
    links = []
    for rel, page in rels:
        params = {**request.query, "page": page}
        links.append(f'<{request.base_url}{request.path}?{query_string(params)}>; rel="{rel}"')
    return ", ".join(links)


COMPARISONS: dict[str, Callable[[object, object], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "=": operator.eq, "!=": operator.ne}


def select_by_time_conditions(items: list, raw: str, condition: re.Pattern,
                              parse_value: Callable[[str], object],
                              item_value: Callable[[datetime], object],
                              times: Callable[[object], dict[str, datetime]],
                              invalid: Callable[[str], Exception]) -> list:
    """The items whose times meet every ``field OP value`` condition of a search query joined
    by AND (Bitbucket's ``q``, Opsgenie's ``query``): ``condition`` matches one condition as
    (field, operator, value); ``invalid`` is the API's error for a part it cannot read."""
    raw = raw.strip()
    if not raw:
        return items
    conditions = []
    for part in re.split(r"\s+AND\s+", raw, flags=re.IGNORECASE):
        found = condition.match(part.strip())
        if found is None:
            raise invalid(part.strip()[:60])
        conditions.append((found[1], COMPARISONS[found[2]], parse_value(found[3])))
    return [item for item in items
            if all(compare(item_value(times(item)[name]), value)
                   for name, compare, value in conditions)]
