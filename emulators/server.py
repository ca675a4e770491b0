"""One HTTP server on loopback serving the GitHub, GitLab, Jira and Slack emulators.

Base URLs (``EmulatorServer.base_url(api)``) mean what a connector's ``--base-url`` means for the
real service, so the same client code works against both:

- ``github``: the REST API root, like ``https://api.github.com`` -> ``http://HOST:PORT/github``.
  The Enterprise form ``http://HOST:PORT/github/api/v3`` (like ``https://ghe.example/api/v3``)
  answers identically; ``Link`` headers and ``url`` fields keep whichever root was used.
- ``gitlab``: the instance root, like ``https://gitlab.example.com`` -> ``http://HOST:PORT/gitlab``;
  the API lives under ``/api/v4``.
- ``jira``: the Cloud site, like ``https://site.atlassian.net`` -> ``http://HOST:PORT/jira``;
  ``/rest/api/3`` and ``/rest/agile/1.0`` below it.
- ``slack``: like ``https://slack.com`` -> ``http://HOST:PORT/slack``; methods at ``/api/<method>``.

Credentials (``credentials(api)``): GitHub/GitLab/Slack ``{"token": ...}``; Jira Cloud
``{"email": ..., "token": ...}`` for Basic auth.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from emulators.azuredevops.api import AzureDevOpsApp
from emulators.bitbucket.api import BitbucketApp
from emulators.framework import (
    JSON_TYPE,
    ApiApp,
    ApiError,
    Faults,
    RateLimits,
    Request,
    RequestLog,
    RequestRecord,
    Response,
    etag_for,
    http_date,
    is_conditional,
    not_modified,
)
from emulators.github.api import GitHubApp
from emulators.gitlab.api import GitLabApp
from emulators.jira.api import JiraApp
from emulators.opsgenie.api import OpsgenieApp
from emulators.org import Org
from emulators.pagerduty.api import PagerDutyApp
from emulators.slack.api import SlackApp

# The emulated sources. Adding one: its package under emulators/ and one line here.
APPS: dict[str, type[ApiApp]] = {
    "github": GitHubApp,
    "gitlab": GitLabApp,
    "jira": JiraApp,
    "slack": SlackApp,
    "pagerduty": PagerDutyApp,
    "opsgenie": OpsgenieApp,
    "bitbucket": BitbucketApp,
    "azuredevops": AzureDevOpsApp,
}
APIS = tuple(APPS)


class EmulatorServer:
    """All the emulated APIs on one loopback port, served from a background thread."""

    def __init__(self, scale: str = "tiny", seed: int = 7, host: str = "127.0.0.1",
                 port: int = 0, org: Org | None = None):
        self.scale = scale
        self.seed = seed
        self.org = org if org is not None else Org(scale, seed)
        self.rate_limits = RateLimits()
        self.faults = Faults(self.rate_limits)
        self.requests = RequestLog()
        self._log_lock = threading.Lock()
        self._counter = itertools.count(1)
        # Bumped by clear_requests(): a request still in flight from before (a slow fault's
        # sleeper, say) must not land in the fresh log.
        self._log_epoch = 0
        self.apps: dict[str, ApiApp] = {api: app(self.org, **app.credentials)
                                        for api, app in APPS.items()}
        for app in self.apps.values():
            app.rate_limits = self.rate_limits
        self._host, self._requested_port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        handler = type("EmulatorHandler", (_Handler,), {"emulator": self})
        try:
            self._httpd = ThreadingHTTPServer((self._host, self._requested_port), handler)
        except OSError as error:
            raise OSError(f"the emulator cannot listen on {self._host}:{self._requested_port} "
                          f"({error.strerror or error}); choose another --port") from error
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def host(self) -> str:
        return self._host

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def base_url(self, api: str) -> str:
        _check_api(api)
        return f"{self.root_url}/{api}"

    def credentials(self, api: str) -> dict[str, str]:
        _check_api(api)
        return dict(APPS[api].credentials)

    def credential_line(self, api: str) -> str:
        """The credential as ``serve`` prints it (Jira: ``email:token``)."""
        return ":".join(self.credentials(api).values())

    # -- org, canaries, accounting -----------------------------------------------------------

    def canaries(self) -> list[str]:
        return self.org.canaries()

    def forbidden_pii(self) -> list[str]:
        return self.org.forbidden_pii()

    def clear_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()
            self._log_epoch += 1

    def count_requests(self, api: str | None = None, endpoint: str | None = None,
                       status: int | None = None) -> int:
        """How many requests matched (``endpoint`` is the route, e.g. ``GET /rate_limit``)."""
        with self._log_lock:
            return self.requests.matching(api, endpoint, status)

    def requests_per_endpoint(self, api: str | None = None):
        with self._log_lock:
            return self.requests.per_endpoint(api)

    def reset(self) -> None:
        """Forget faults, rate-limit spending, the request log and org mutations."""
        self.faults.clear()
        self.clear_requests()
        self.org.reset_mutations()
        for app in self.apps.values():
            app.reset()

    # -- dispatch ----------------------------------------------------------------------------

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes
                 ) -> tuple[int, dict[str, str], bytes] | None:
        """Answer one request; None means: drop the connection without answering."""
        parsed = self._parse(method, raw_path, headers, body)
        if parsed is None:
            return 404, {"Content-Type": JSON_TYPE}, b'{"message":"Not Found"}'
        app, route, request, target = parsed
        if self.faults.take("drop_connection", request.api, target):
            self._record(request, 0)
            return None
        delay = self.faults.take("delay", request.api, target)
        if delay is not None:
            time.sleep(delay.seconds)
            if request.log_epoch != self._log_epoch:
                return None  # reset while asleep: its client is gone; leave the new faults be
        common = app.base_headers(request, next(self._counter))
        refusal = self._refusal(app, route, request, target)
        if refusal is not None:
            # Of the refusals only an unknown path costs a request (as on GitHub).
            return self._error(app, request, refusal, common, spend=route is None and refusal.status == 404)
        request.repeat_page = self.faults.take("repeat_page", request.api, target) is not None
        try:
            response = route.handler(request)
        except ApiError as err:
            return self._error(app, request, err, common, spend=True)
        return self._success(app, request, response, common, target)

    def _parse(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        """(app, route or None, request, fault-matching target), or None for an unknown API."""
        parsed = urlsplit(raw_path)
        api, _, tail = parsed.path.lstrip("/").partition("/")
        app = self.apps.get(api)
        split = app.split_path("/" + tail) if app else None
        if app is None or split is None:
            return None
        prefix, rel = split
        query = {k: v[0] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for k, v in parse_qs(body.decode(), keep_blank_values=True).items():
                query.setdefault(k, v[0])
        request = Request(api, method, rel, query, headers, f"{self.root_url}/{api}{prefix}", body,
                          log_epoch=self._log_epoch, raw_query=parsed.query)
        route, request.params = app.match(method, rel)
        request.endpoint = route.endpoint if route else f"{method} (unknown)"
        return app, route, request, rel + (f"?{parsed.query}" if parsed.query else "")

    def _refusal(self, app: ApiApp, route, request: Request, target: str) -> ApiError | None:
        """Why the request is not served: bad credentials, unknown route, an injected fault or
        an exhausted rate limit (checked in that order, as the real services do)."""
        api = request.api
        auth_error = app.authenticate(request)
        if auth_error is not None:
            return auth_error
        if route is None:
            return app.not_found(request)
        fault = self.faults.take("server_error", api, target)
        if fault is not None:
            return app.server_error(fault.status)
        if self.faults.take("not_found", api, target) is not None:
            return app.not_found(request)
        fault = self.faults.take("secondary_rate_limit", api, target)
        if fault is not None:
            return app.secondary_rate_limited(int(fault.seconds), request)
        if request.endpoint not in app.uncounted_endpoints:
            exhausted = self.rate_limits.exhausted(request.budget or api)
            if exhausted is not None:
                return app.rate_limited(exhausted, request)
        return None

    def _error(self, app: ApiApp, request: Request, err: ApiError, common: dict[str, str],
               spend: bool) -> tuple[int, dict[str, str], bytes]:
        budget = request.budget or request.api
        state = self.rate_limits.spend(budget) if spend else self.rate_limits.state(budget)
        out = {**common, **app.rate_limit_headers(state), **err.headers}
        if isinstance(err.body, str):
            payload = err.body.encode()
            out.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = Response(body=err.body).encoded()
            out.setdefault("Content-Type", JSON_TYPE)
        self._record(request, err.status, len(payload))
        return err.status, out, payload

    def _success(self, app: ApiApp, request: Request, response: Response, common: dict[str, str],
                 target: str) -> tuple[int, dict[str, str], bytes]:
        api = request.api
        budget = request.budget or api
        payload = response.encoded()
        out = dict(common)
        if response.last_modified is not None and app.supports_conditional:
            out["Last-Modified"] = http_date(response.last_modified)
        if response.status == 200 and app.supports_conditional:
            out["ETag"] = etag_for(payload)
            if not_modified(request, out["ETag"], response.last_modified):
                # GitHub does not count a 304 against the limit; the others do.
                state = (self.rate_limits.spend(budget) if app.counts_conditional
                         else self.rate_limits.state(budget))
                out.update(app.rate_limit_headers(state))
                self._record(request, 304)
                return 304, out, b""
        free = request.endpoint in app.uncounted_endpoints
        out.update(app.rate_limit_headers(self.rate_limits.state(budget) if free
                                          else self.rate_limits.spend(budget)))
        out["Content-Type"] = response.content_type
        out.update(response.headers)
        if response.status == 200 and self.faults.take("truncate_json", api, target):
            payload = payload[: max(1, len(payload) // 2)]
        elif response.status == 200 and self.faults.take("invalid_json", api, target):
            payload = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self._record(request, response.status, len(payload))
        return response.status, out, payload

    def _record(self, request: Request, status: int, body_bytes: int = 0) -> None:
        record = RequestRecord(request.api, request.method, request.path, request.query, status,
                               is_conditional(request), request.endpoint, request.operation,
                               body_bytes)
        with self._log_lock:
            if request.log_epoch == self._log_epoch:
                self.requests.append(record)


def _check_api(api: str) -> None:
    if api not in APIS:
        raise ValueError(f"unknown API {api!r}; the emulator serves {', '.join(APIS)}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body go out in two writes, and with Nagle's algorithm the body
    # would wait for the client's delayed ACK (~40 ms per answer).
    disable_nagle_algorithm = True
    emulator: EmulatorServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.emulator.dispatch(self.command, self.path, headers, body)
        if answer is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status, out_headers, payload = answer
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        if "Server" not in out_headers:
            self.send_header("Server", self.version_string())
        for name, value in out_headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = _serve

    def log_message(self, format: str, *args) -> None:
        """Silent: request lines may carry search terms; the request log is the record."""

    def version_string(self) -> str:
        return "sieve-emulator"
