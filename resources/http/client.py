"""``HttpClient``: the one HTTP client every API connector uses.

One ``requests.Session`` per connection, with timeouts, a Sieve User-Agent, retries with
jittered exponential backoff, rate-limit waits, conditional requests, streaming
pagination, per-source concurrency limits and request counters. Errors are typed and
worded for people (see ``resources.http.errors``); nothing from a response body reaches a
log line or an exception except the API-generated error code/message of a 4xx.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.auth import AuthBase

from resources.http.conditional import Validators, ValidatorStore
from resources.http.errors import (
    AuthenticationError,
    ErrorContext,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitExhaustedError,
    RequestRejectedError,
    ResponseTooLargeError,
    SourceRequestError,
    SourceUnavailableError,
    SourceUnreachableError,
)
from resources.http.limits import ConcurrencyLimits
from resources.http.pagination import (
    Page,
    PageRequest,
    PageShapeError,
    PaginationStyle,
    items_field_for,
    next_request,
    page_items,
    resume_token,
)
from resources.http.ratelimit import (
    RESET_MARGIN_SECONDS,
    SECONDARY_LIMIT_WAIT_SECONDS,
    RateLimitTracker,
    RetryPolicy,
    remaining_requests,
    reset_time,
    retry_after_seconds,
)
from resources.http.urls import describe_endpoint, origin, validate_base_url

log = logging.getLogger("sieve.http")

# One answer may be at most this large once decoded. The largest pages Sieve asks for (100 Jira
# issues with their changelogs) stay far below it; a larger body is refused, never read whole.
MAX_BODY_BYTES = 32 * 1024 * 1024
# One attempt — connecting, the headers and the whole body — ends after this long even while
# bytes keep trickling in: the read timeout only bounds the silence between two of them.
REQUEST_DEADLINE_SECONDS = 120.0
# What one connection may spend retrying a host it cannot reach at all (refused, no DNS
# answer, connect timeout), over the whole sync: a dead source is not a 502 that clears.
UNREACHABLE_BUDGET_SECONDS = 30.0
# What a check made while a person waits (`sieve connect`) may spend on an unreachable host.
INTERACTIVE_UNREACHABLE_BUDGET_SECONDS = 6.0
_unreachable_budget_now: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "unreachable_budget_now", default=None)


@contextlib.contextmanager
def interactive_budget(seconds: float = INTERACTIVE_UNREACHABLE_BUDGET_SECONDS):
    """Clients created inside give up on an unreachable host after ``seconds``: a person is
    waiting for the answer, and a refused connection will not be accepted a minute later."""
    token = _unreachable_budget_now.set(seconds)
    try:
        yield
    finally:
        _unreachable_budget_now.reset(token)

_BODY_CHUNK_BYTES = 64 * 1024
# What a client made with ``hide_paths`` says instead of a request's path.
HIDDEN_PATH = "(path not shown)"

_CREDENTIAL_HEADERS = frozenset({"authorization", "private-token", "cookie", "proxy-authorization"})
_API_MESSAGE_MAX_CHARS = 160

# Slack answers most failures with HTTP 200 and {"ok": false, "error": "<code>"}.
_SLACK_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
_SLACK_PERMISSION_ERRORS = frozenset(
    {"missing_scope", "not_allowed_token_type", "no_permission", "ekm_access_denied",
     "access_denied", "team_access_not_granted"}
)
_SLACK_NOT_FOUND_ERRORS = frozenset({"channel_not_found", "thread_not_found", "user_not_found"})
_SLACK_TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


@dataclass
class ClientStats:
    """Counts for Dagster metadata: never content, only how much was asked and waited."""

    requests: int = 0
    retries: int = 0
    not_modified: int = 0
    bytes_received: int = 0
    wait_seconds: float = 0.0
    # GraphQL rate-limit points spent (GitHub's ``rateLimit.cost``), counted by its caller.
    points: int = 0

    def as_metadata(self) -> dict[str, int | float]:
        return asdict(self)


@dataclass(frozen=True)
class JsonResponse:
    """A successful (2xx) or not-modified (304) answer to ``get_json``.

    ``data`` is the parsed JSON (``None`` on 304). ``validators`` is set when the request
    was conditional and the answer carried an ETag or Last-Modified; commit it with
    ``HttpClient.commit_validators`` once the data is durable. ``headers`` are the
    response headers (case-insensitive), e.g. for GitHub's ``X-OAuth-Scopes``.
    """

    data: Any
    status: int
    not_modified: bool
    path: str
    bytes_received: int
    validators: Validators | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Exchange:
    status: int
    url: str
    headers: Mapping[str, str]
    links: Mapping[str, Mapping[str, str]]
    payload: Any
    bytes_received: int


@dataclass(frozen=True)
class _Transient:
    """A failed attempt worth retrying; ``delay`` overrides the backoff when set."""

    kind: Literal["unavailable", "unreachable", "malformed", "rate_limited"]
    reason: str
    delay: float | None = None


class _SameOriginSession(requests.Session):
    """Follows redirects only within the origin it was sent to.

    requests strips ``Authorization`` when a redirect changes host but would forward
    other credential headers (GitLab's ``PRIVATE-TOKEN``), so cross-origin redirects are
    not followed at all; the client reports them instead.
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target and origin(urljoin(resp.url, target)) != origin(resp.url):
            return None
        return target


DEFAULT_RETRY = RetryPolicy()


class HttpClient:
    """An API client for one connection of one organization.

    ``auth`` is a ``requests`` auth object (``BearerToken``, ``GitLabPrivateToken``,
    ``BasicEmailToken``). ``context`` names the org and connection in every error.
    ``source`` names the API in errors and concurrency slots (the registry's name, e.g.
    "github"); ``ok_flag_errors`` is for APIs that report failures as a 200 with ``ok: false``
    (Slack). ``clock`` (epoch seconds), ``sleep`` and ``rng`` are injectable so tests never wait.
    ``max_body_bytes``, ``deadline`` and ``unreachable_budget`` bound one answer's size, one
    attempt's duration and the retrying of a host that cannot be reached.
    ``limits`` and ``rate_limits`` may be shared between clients: share ``limits`` across
    a process, ``rate_limits`` across clients using the same token. ``hide_paths`` keeps
    request paths out of every log line and error, for a URL whose path is the secret (a
    webhook's).
    """

    def __init__(
        self,
        base_url: str,
        auth: AuthBase,
        *,
        source: str,
        context: ErrorContext,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy = DEFAULT_RETRY,
        limits: ConcurrencyLimits | None = None,
        rate_limits: RateLimitTracker | None = None,
        validators: ValidatorStore | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        ok_flag_errors: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        deadline: float = REQUEST_DEADLINE_SECONDS,
        unreachable_budget: float | None = None,
        hide_paths: bool = False,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self.source = source
        self._ok_flag_errors = ok_flag_errors
        self.context = context
        self._host = urlsplit(self.base_url).netloc.lower()
        self._origin = origin(self.base_url)
        self._auth = auth
        self._timeout = timeout
        self._retry = retry
        self._limits = limits or ConcurrencyLimits()
        self._rate_limits = rate_limits or RateLimitTracker()
        self._validators = validators
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._max_body_bytes = max_body_bytes
        self._deadline = deadline
        self._unreachable_budget = (unreachable_budget if unreachable_budget is not None
                                    else _unreachable_budget_now.get()
                                    or UNREACHABLE_BUDGET_SECONDS)
        self._unreachable_spent = 0.0
        self._hide_paths = hide_paths
        self._stats = ClientStats()
        self._stats_lock = threading.Lock()
        extra = dict(headers or {})
        if _CREDENTIAL_HEADERS & {name.lower() for name in extra}:
            raise ValueError("credentials go in `auth`, not in `headers`, so they stay redacted")
        self._session = _SameOriginSession()
        self._session.max_redirects = 5
        self._session.headers.update(
            {"User-Agent": f"Sieve/{version('sieve')} (engineering metadata sync)",
             "Accept": "application/json", **extra}
        )

    def __repr__(self) -> str:
        return (
            f"HttpClient(source={self.source!r}, base_url={self.base_url!r}, "
            f"org={self.context.org_slug!r}, connection={self.context.connection_id!r})"
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    @property
    def stats(self) -> ClientStats:
        """A snapshot of this client's counters."""
        with self._stats_lock:
            return replace(self._stats)

    def commit_validators(self, *validators: Validators | None) -> None:
        """Persist validators once the data they describe is durable (``None`` skipped)."""
        for entry in validators:
            if entry is not None:
                self._require_store().put(entry.key, entry.etag, entry.last_modified)

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        conditional_key: str | None = None,
    ) -> JsonResponse:
        """GET one JSON document; conditional when ``conditional_key`` is given."""
        exchange = self._fetch(PageRequest(self._url(path), params), conditional_key)
        return JsonResponse(
            data=exchange.payload,
            status=exchange.status,
            not_modified=exchange.status == 304,
            path=urlsplit(exchange.url).path,
            bytes_received=exchange.bytes_received,
            validators=self._validators_from(exchange, conditional_key),
            headers=exchange.headers,
        )

    def post_json(self, path: str, body: Mapping[str, Any]) -> JsonResponse:
        """POST a JSON document and read the JSON answer (GraphQL); never conditional."""
        exchange = self._fetch(PageRequest(self._url(path)), None, json_body=body)
        return JsonResponse(
            data=exchange.payload,
            status=exchange.status,
            not_modified=False,
            path=urlsplit(exchange.url).path,
            bytes_received=exchange.bytes_received,
            validators=None,
            headers=exchange.headers,
        )

    def send_json(self, path: str, body: Mapping[str, Any]) -> int:
        """POST a JSON document to a receiver whose answer is only its status (a webhook: Slack
        answers "ok" as plain text); any 2xx is success. Retried like every request."""
        return self._fetch(PageRequest(self._url(path)), None, json_body=body,
                           read_answer=False).status

    def count_points(self, points: int) -> None:
        """Add GraphQL points reported by the API to this client's counters."""
        self._count(points=points)

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        style: PaginationStyle,
        items_field: str | None = None,
        conditional_key: str | None = None,
    ) -> Iterator[Page]:
        """Yield a listing one page at a time, fetching the next only when asked.

        With ``conditional_key`` the first page is requested conditionally; a 304 yields
        one ``not_modified`` page and ends the walk. Use it only on listings ordered most
        recently updated first, where an unchanged first page means an unchanged listing.
        A server that sends us back to a page already fetched raises
        ``MalformedResponseError`` instead of looping forever.
        """
        items_field = items_field_for(style, items_field)
        request: PageRequest | None = PageRequest(self._url(path), dict(params) if params else None)
        requested: set[str] = set()
        number = 0
        while request is not None:
            endpoint = self._describe("GET", request)
            identity = request.identity()
            if identity in requested:
                raise MalformedResponseError(
                    f"{self._host} sent {endpoint} again as the next page for "
                    f"{self.context.describe()}; the walk was stopped to avoid an endless "
                    "loop. Re-run the sync; if it repeats, the source's pagination is broken "
                    "for this listing — please report it.",
                    **self._error_fields(endpoint),
                )
            requested.add(identity)
            number += 1
            page_key = conditional_key if number == 1 else None
            exchange = self._fetch(request, page_key)
            page_path = urlsplit(exchange.url).path
            if exchange.status == 304:
                yield Page([], page_path, 304, True, exchange.bytes_received, None, number)
                return
            try:
                items = page_items(exchange.payload, items_field)
                request = next_request(
                    style, request, exchange.payload, items, exchange.headers, exchange.links
                )
            except PageShapeError as problem:
                raise MalformedResponseError(
                    f"{self._host} answered {endpoint} for {self.context.describe()} with "
                    f"JSON of an unexpected shape ({problem}). Check that the base URL points "
                    f"at the {self.source} API itself, not at a proxy or web page.",
                    **self._error_fields(endpoint, exchange.status),
                ) from None
            if request is not None and origin(request.url) != self._origin:
                raise MalformedResponseError(
                    f"{self._host} pointed the next page of {endpoint} for "
                    f"{self.context.describe()} at another host "
                    f"({urlsplit(request.url).hostname}); it was not followed so the "
                    "connection's credentials stay with the configured host.",
                    **self._error_fields(endpoint, exchange.status),
                )
            yield Page(
                items=items,
                path=page_path,
                status=exchange.status,
                not_modified=False,
                bytes_received=exchange.bytes_received,
                validators=self._validators_from(exchange, page_key),
                number=number,
                resume_token=resume_token(style, exchange.payload),
            )

    # -- one request, with retries --------------------------------------------------------

    def _describe(self, method: str, request: PageRequest) -> str:
        if self._hide_paths:
            return f"{method} {HIDDEN_PATH}"
        return describe_endpoint(method, request.url, request.params)

    def _fetch(self, request: PageRequest, conditional_key: str | None,
               json_body: Mapping[str, Any] | None = None, read_answer: bool = True) -> _Exchange:
        method = "GET" if json_body is None else "POST"
        endpoint = self._describe(method, request)
        headers = self._conditional_headers(conditional_key)
        waited = 0.0
        attempts = 0
        while True:
            waited += self._wait_for_rate_limit(endpoint, waited)
            attempts += 1
            started = time.monotonic()
            outcome = self._attempt(request, headers, endpoint, json_body, read_answer)
            if isinstance(outcome, _Exchange):
                return outcome
            if outcome.kind == "unreachable":
                self._unreachable_spent += time.monotonic() - started
            if attempts > self._retry.max_retries:
                raise self._gave_up(outcome, endpoint, attempts)
            delay = outcome.delay
            if delay is None:
                delay = self._retry.backoff(attempts - 1, self._rng)
            if waited + delay > self._retry.max_total_wait or (
                    outcome.kind == "unreachable"
                    and self._unreachable_spent + delay > self._unreachable_budget):
                raise self._gave_up(outcome, endpoint, attempts)
            if outcome.kind == "unreachable":
                self._unreachable_spent += delay
            self._count(retries=1)
            log.warning(
                "%s: %s from %s; retry %d of %d %s",
                _log_endpoint(endpoint), outcome.reason, self._host, attempts,
                self._retry.max_retries,
                f"in {delay:.1f} s" if delay else "once the rate limit allows",
            )
            self._pause(delay)
            waited += delay

    def _attempt(
        self, request: PageRequest, headers: Mapping[str, str], endpoint: str,
        json_body: Mapping[str, Any] | None = None, read_answer: bool = True,
    ) -> _Exchange | _Transient:
        started = time.monotonic()
        try:
            with self._limits.slot(self.source, self._host):
                self._count(requests=1)
                with self._session.request(
                    "GET" if json_body is None else "POST", request.url, params=request.params,
                    json=json_body, headers=headers, auth=self._auth, timeout=self._timeout,
                    stream=True,
                ) as response:
                    body = self._read_body(response, endpoint, started)
        except requests.exceptions.SSLError:
            raise SourceUnreachableError(
                f"TLS verification failed for {self._host} on {endpoint} for "
                f"{self.context.describe()}. Check the base URL, or install the CA that signs "
                "this server's certificate on the machine running Sieve.",
                **self._error_fields(endpoint),
            ) from None
        except requests.ConnectionError as failure:
            return _connection_failure(failure)
        except requests.Timeout as failure:
            # The exception text holds the full URL; only its type name is kept.
            return _Transient("unavailable", type(failure).__name__)
        if isinstance(body, _Transient):
            return body
        self._count(bytes_received=len(body))
        self._rate_limits.observe(self._host, response.headers, self._clock())
        status = response.status_code
        log.debug(
            "%s -> %d in %.3f s", _log_endpoint(endpoint), status, time.monotonic() - started
        )
        if status == 304:
            self._count(not_modified=1)
            return self._exchange(response, None, len(body))
        if status == 203:
            # Azure DevOps answers a missing or refused personal access token with its
            # sign-in page (203 Non-Authoritative Information), not with a 401.
            raise self._auth_error(f"{status} {response.reason} (a sign-in page)", endpoint,
                                   self._error_fields(endpoint, status))
        if 200 <= status < 300:
            if not read_answer:
                return self._exchange(response, None, len(body))
            return self._successful(response, body, endpoint)
        api_message, api_scopes = _api_error(body)
        if status == 429 or (status == 403 and _is_rate_limit_403(response.headers, api_message)):
            return self._rate_limited(response.headers, f"{status} {response.reason}", api_message)
        if status >= 500:
            return _Transient(
                "unavailable",
                f"{status} {response.reason}",
                retry_after_seconds(response.headers, self._clock()),
            )
        raise self._client_error(response, api_message, api_scopes, endpoint)

    def _read_body(
        self, response: requests.Response, endpoint: str, started: float
    ) -> bytes | _Transient:
        """The whole body, read in chunks as they arrive, so that neither its size nor its
        pace is unbounded (``response.content`` would wait for and hold all of it)."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            raise self._too_large(endpoint, response.status_code)
        chunks: list[bytes] = []
        size = 0
        try:
            # read1 returns what has arrived, so the deadline is checked while bytes trickle.
            while chunk := response.raw.read1(_BODY_CHUNK_BYTES, decode_content=True):
                size += len(chunk)
                if size > self._max_body_bytes:
                    raise self._too_large(endpoint, response.status_code)
                if time.monotonic() - started > self._deadline:
                    return _Transient(
                        "unavailable", f"an answer still incomplete after {self._deadline:.0f} s")
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as failure:
            # A body cut short or stalled: a transport failure, retried like one.
            return _Transient("unavailable", type(failure).__name__)
        return b"".join(chunks)

    def _too_large(self, endpoint: str, status: int) -> ResponseTooLargeError:
        cap = self._max_body_bytes
        size = f"{cap // 2**20} MB" if cap >= 2**20 else f"{cap} bytes"
        return ResponseTooLargeError(
            f"{self._host} answered {endpoint} for {self.context.describe()} with more than "
            f"{size}; Sieve stopped reading it rather than hold it in memory. Check that the "
            f"base URL points at the {self.source} API itself, not at a proxy or a download; "
            "if it does, please report it with this message.",
            **self._error_fields(endpoint, status),
        )

    def _successful(
        self, response: requests.Response, body: bytes, endpoint: str
    ) -> _Exchange | _Transient:
        if response.status_code == 204:
            return self._exchange(response, None, len(body))
        try:
            payload = json.loads(body)
        except ValueError:
            # A cut-short or garbled body is a transport failure, not an answer.
            return _Transient("malformed", "a body that is not valid JSON")
        slack_failed = isinstance(payload, dict) and payload.get("ok") is False
        if self._ok_flag_errors and slack_failed:
            return self._slack_failure(payload, response.headers, endpoint)
        return self._exchange(response, payload, len(body))

    def _exchange(self, response: requests.Response, payload: Any, size: int) -> _Exchange:
        return _Exchange(
            status=response.status_code,
            url=response.url,
            headers=response.headers,
            links=response.links,
            payload=payload,
            bytes_received=size,
        )

    # -- waiting ---------------------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
            self._count(wait_seconds=seconds)

    def _wait_for_rate_limit(self, endpoint: str, waited: float) -> float:
        """Sleep until the host's known limit allows a request; return the time slept."""
        slept = 0.0
        while True:
            resume_at = self._rate_limits.resume_at(self._host)
            delay = resume_at - self._clock()
            if delay <= 0:
                return slept
            if waited + slept + delay > self._retry.max_total_wait:
                raise self._limit_exhausted(endpoint, resume_at)
            log.warning(
                "%s: rate limit of %s exhausted; waiting %.1f s", _log_endpoint(endpoint),
                self._host, delay,
            )
            self._pause(delay)
            slept += delay

    def _rate_limited(
        self, headers: Mapping[str, str], reason: str, api_message: str | None
    ) -> _Transient:
        """Record how long the host asked us to stay away, so every send to it waits.

        Without any hint from the host the retry loop's exponential backoff applies.
        """
        now = self._clock()
        retry_after = retry_after_seconds(headers, now)
        reset = reset_time(headers, now)
        if retry_after is not None:
            resume_at = now + retry_after
        elif reset is not None and remaining_requests(headers) == 0:
            resume_at = reset + RESET_MARGIN_SECONDS
        elif api_message and "secondary rate limit" in api_message.lower():
            resume_at = now + SECONDARY_LIMIT_WAIT_SECONDS
        else:
            return _Transient("rate_limited", reason)
        self._rate_limits.block(self._host, resume_at)
        return _Transient("rate_limited", reason, delay=0.0)

    # -- errors ----------------------------------------------------------------------------

    def _error_fields(
        self, endpoint: str, status: int | None = None, api_message: str | None = None
    ) -> dict[str, Any]:
        return {
            "context": self.context,
            "host": self._host,
            "endpoint": endpoint,
            "status": status,
            "api_message": api_message,
        }

    def _reconnect(self) -> str:
        return f"`sieve connect {self.context.org_slug} {self.source}`"

    def _limit_exhausted(self, endpoint: str, resume_at: float) -> RateLimitExhaustedError:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(resume_at))
        return RateLimitExhaustedError(
            f"The rate limit of {self._host} for {self.context.describe()} is exhausted "
            f"until {when}, later than {endpoint} may wait "
            f"({self._retry.max_total_wait:.0f} s). Run the sync again after {when}, or "
            "give this connection a token with a higher limit.",
            resets_at=resume_at,
            **self._error_fields(endpoint),
        )

    def _gave_up(self, outcome: _Transient, endpoint: str, attempts: int) -> SourceRequestError:
        tried = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        fields = self._error_fields(endpoint)
        if outcome.kind == "rate_limited":
            return RateLimitExhaustedError(
                f"{self._host} still rate-limited {endpoint} for {self.context.describe()} "
                f"{tried} (last: {outcome.reason}). Run the sync again later, or lower the "
                f"number of parallel requests to {self.source}.",
                resets_at=self._rate_limits.resume_at(self._host) or None,
                **fields,
            )
        if outcome.kind == "unreachable":
            return SourceUnreachableError(
                f"{self._host} could not be reached for {self.context.describe()} "
                f"({outcome.reason}; {tried}, {self._unreachable_spent:.0f} s spent on it, "
                f"last on {endpoint}). Check the connection's base URL, DNS and any firewall "
                f"or proxy between Sieve and {self._host}; the next sync resumes from the last "
                "stored cursor.",
                **fields,
            )
        if outcome.kind == "malformed":
            return MalformedResponseError(
                f"{self._host} answered {endpoint} for {self.context.describe()} with "
                f"{outcome.reason} {tried}. Responses are being cut short or garbled; re-run "
                f"the sync later, and if it persists check any proxy between Sieve and "
                f"{self._host}.",
                **fields,
            )
        return SourceUnavailableError(
            f"{self._host} did not answer {endpoint} for {self.context.describe()} {tried} "
            f"(last: {outcome.reason}). The service may be down or unreachable; re-run the "
            "sync later — it resumes from the last stored cursor.",
            **fields,
        )

    def _client_error(
        self,
        response: requests.Response,
        api_message: str | None,
        api_scopes: str | None,
        endpoint: str,
    ) -> SourceRequestError:
        status, headers = response.status_code, response.headers
        message = api_message or response.reason or ""
        # GitLab's messages already start with the status ("404 Project Not Found").
        reason = message if message.startswith(str(status)) else f"{status} {message}".strip()
        fields = self._error_fields(endpoint, status, api_message)
        if status == 401:
            return self._auth_error(reason, endpoint, fields)
        if status == 403:
            scopes = (headers.get("X-Accepted-OAuth-Scopes") or "").strip() or api_scopes or ""
            if headers.get("X-GitHub-SSO"):
                reason += "; the token is not authorized for the organization's SAML single sign-on"
            return self._permission_error(reason, scopes, endpoint, fields)
        if status in (404, 410):
            return self._not_found_error(reason, endpoint, fields)
        if 300 <= status < 400:
            return RequestRejectedError(
                f"{self._host} redirected {endpoint} for {self.context.describe()} "
                f"({status}) to another host; it was not followed so the connection's "
                "credentials stay with the configured host. Check the base URL.",
                **fields,
            )
        return RequestRejectedError(
            f"{self._host} rejected {endpoint} for {self.context.describe()} ({reason}). "
            f"This is a bug in Sieve's {self.source} connector, not in your setup; "
            "please report it with this message.",
            **fields,
        )

    def _auth_error(
        self, reason: str, endpoint: str, fields: dict[str, Any]
    ) -> AuthenticationError:
        return AuthenticationError(
            f"The token for {self.context.describe()} was rejected by {self._host} "
            f"({reason}) on {endpoint}. Re-connect with {self._reconnect()} and a valid token.",
            **fields,
        )

    def _permission_error(
        self, reason: str, scopes: str, endpoint: str, fields: dict[str, Any]
    ) -> PermissionDeniedError:
        needed = f"; needed scopes: {scopes}" if scopes else ""
        return PermissionDeniedError(
            f"{self._host} denied {endpoint} to the token of {self.context.describe()} "
            f"({reason}{needed}). Grant the token access to this resource or the missing "
            f"scope and re-connect with {self._reconnect()}.",
            **fields,
        )

    def _not_found_error(self, reason: str, endpoint: str, fields: dict[str, Any]) -> NotFoundError:
        return NotFoundError(
            f"{self._host} has no {endpoint} for {self.context.describe()} ({reason}). "
            "If this endpoint is optional (the feature may be disabled there), it can be "
            "skipped; otherwise check the connection's owner/group/project names and that "
            "its token can see them.",
            **fields,
        )

    def _slack_failure(
        self, payload: dict, headers: Mapping[str, str], endpoint: str
    ) -> _Transient:
        code = payload.get("error")
        code = code if isinstance(code, str) and code.isidentifier() else "unknown_error"
        reason = f"Slack error {code}"
        fields = self._error_fields(endpoint, 200, code)
        if code == "ratelimited":
            return self._rate_limited(headers, reason, None)
        if code in _SLACK_TRANSIENT_ERRORS:
            return _Transient("unavailable", reason)
        if code in _SLACK_AUTH_ERRORS:
            raise self._auth_error(reason, endpoint, fields)
        if code in _SLACK_PERMISSION_ERRORS:
            needed = payload.get("needed")
            scopes = needed if isinstance(needed, str) and len(needed) < 200 else ""
            raise self._permission_error(reason, scopes, endpoint, fields)
        if code in _SLACK_NOT_FOUND_ERRORS:
            raise self._not_found_error(reason, endpoint, fields)
        raise RequestRejectedError(
            f"{self._host} rejected {endpoint} for {self.context.describe()} ({reason}). "
            "This is a bug in Sieve's slack connector, not in your setup; please report it "
            "with this message.",
            **fields,
        )

    # -- helpers ---------------------------------------------------------------------------

    def _count(self, **deltas: float) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    def _url(self, path: str) -> str:
        if "://" in path:
            if origin(path) != self._origin:
                raise ValueError(
                    f"{urlsplit(path).hostname} is not this connection's host {self._host}; "
                    "the client only sends credentials to its own base URL"
                )
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _require_store(self) -> ValidatorStore:
        if self._validators is None:
            raise ValueError("conditional requests need the client to be given a validator store")
        return self._validators

    def _conditional_headers(self, conditional_key: str | None) -> dict[str, str]:
        if conditional_key is None:
            return {}
        stored = self._require_store().get(conditional_key)
        if stored is None:
            return {}
        etag, last_modified = stored
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def _validators_from(
        self, exchange: _Exchange, conditional_key: str | None
    ) -> Validators | None:
        if conditional_key is None or exchange.status != 200:
            return None
        etag = exchange.headers.get("ETag")
        last_modified = exchange.headers.get("Last-Modified")
        if not etag and not last_modified:
            return None
        return Validators(conditional_key, etag, last_modified)


def _connection_failure(failure: requests.ConnectionError) -> _Transient:
    """A connection that never got an answer: the host unreachable (refused, no DNS answer,
    connect timeout) or a connection dropped mid-answer. Only the cause's kind is kept: the
    exception text holds the full URL."""
    reason = getattr(failure.args[0], "reason", None) if failure.args else None
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return _Transient("unreachable", "DNS lookup failed")
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # before its base class
        refused = "refused" in str(reason).lower()
        return _Transient("unreachable", "connection refused" if refused else "no connection")
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return _Transient("unreachable", "connecting timed out")
    return _Transient("unavailable", type(failure).__name__)


def _log_endpoint(endpoint: str) -> str:
    """Method and path only: log lines carry no query values."""
    return endpoint.split("?", 1)[0]


def _is_rate_limit_403(headers: Mapping[str, str], api_message: str | None) -> bool:
    """GitHub answers both primary and secondary limits with 403 (as well as 429)."""
    return (
        remaining_requests(headers) == 0
        or "Retry-After" in headers
        or "rate limit" in (api_message or "").lower()
    )


def _api_error(body: bytes) -> tuple[str | None, str | None]:
    """The API-generated error text and needed scopes of an error body; never other fields.

    GitHub and GitLab use ``message`` (GitLab also ``error``, and ``scope`` for
    ``insufficient_scope``), Jira ``errorMessages``. Only quoted for 4xx answers.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    # PagerDuty nests its error: {"error": {"message": ..., "code": ...}}.
    nested = error.get("message") if isinstance(error, dict) else None
    candidates = [payload.get("message"), error, nested]
    jira_messages = payload.get("errorMessages")
    if isinstance(jira_messages, list) and jira_messages:
        candidates.append(jira_messages[0])
    message = next((_short(c) for c in candidates if isinstance(c, str) and c.strip()), None)
    scope = payload.get("scope")
    return message, _short(scope) if isinstance(scope, str) and scope.strip() else None


def _short(text: str) -> str:
    """One line, at most ``_API_MESSAGE_MAX_CHARS`` characters."""
    text = " ".join(text.split())
    if len(text) > _API_MESSAGE_MAX_CHARS:
        return text[: _API_MESSAGE_MAX_CHARS - 1] + "…"
    return text
