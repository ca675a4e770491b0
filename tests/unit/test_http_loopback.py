"""A scriptable loopback HTTP server and a fake clock for the HTTP layer's tests.

Each test scripts exact status/header/body sequences per path; the server records every
request it receives, stamped with the fake clock, so tests can check that nothing was
sent before a rate limit reset without any real waiting.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class FakeClock:
    """Epoch seconds that only move when ``sleep`` is called."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._lock = threading.Lock()
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@dataclass
class Reply:
    """One scripted answer. ``json`` is serialised unless ``body`` is given.

    ``hold`` makes the server wait for the event before answering (to provoke a client
    read timeout); ``cut_after`` announces the full length but sends only that many body
    bytes before closing the connection; ``drip`` sends the body one byte every that many
    seconds.
    """

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    cut_after: int | None = None
    drip: float | None = None

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        return b"" if self.json is None else json.dumps(self.json).encode()


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


class LoopbackServer:
    """``ThreadingHTTPServer`` on 127.0.0.1, port 0, serving scripted replies.

    ``script(target, *replies)`` answers requests to ``target`` (a path, or a path with
    its exact query) with the replies in order, repeating the last one. ``route(target,
    fn)`` answers with ``fn(received)``. Unscripted targets get a GitHub-style 404.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Reply]] = {}
        self._routes: dict[str, Callable[[Received], Reply]] = {}
        self.received: list[Received] = []
        self._holds: list[threading.Event] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A client that gave up on a held or cut reply leaves a broken pipe behind.
        self._httpd.handle_error = lambda request, address: None
        # A short poll interval keeps shutdown (once per test) from adding half a second.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, target: str, *replies: Reply) -> None:
        for reply in replies:
            if reply.hold is not None:
                self._holds.append(reply.hold)
        self._scripts[target] = list(replies)

    def route(self, target: str, answer: Callable[[Received], Reply]) -> None:
        self._routes[target] = answer

    def paths(self) -> list[str]:
        """Every request received, as ``path?query`` in arrival order."""
        return [
            r.path + ("?" + "&".join(f"{k}={v}" for k, v in r.query.items()) if r.query else "")
            for r in self.received
        ]

    def close(self) -> None:
        for hold in self._holds:
            hold.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, received: Received, raw_target: str) -> Reply:
        with self._lock:
            self.received.append(received)
            for target in (raw_target, received.path):
                if target in self._routes:
                    answer = self._routes[target]
                    break
                if target in self._scripts:
                    replies = self._scripts[target]
                    reply = replies.pop(0) if len(replies) > 1 else replies[0]
                    return reply
            else:
                return Reply(404, {"message": "Not Found"})
        return answer(received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's naming)
                parts = urlsplit(self.path)
                received = Received(
                    method="GET",
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    at=server._clock(),
                )
                reply = server._answer(received, self.path)
                if reply.hold is not None:
                    reply.hold.wait(10)
                body = reply.payload()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.status != 304:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if reply.drip is not None:
                    self._drip(body, reply.drip)
                else:
                    self.wfile.write(body if reply.cut_after is None else body[: reply.cut_after])
                self.close_connection = True

            def _drip(self, body: bytes, seconds: float) -> None:
                for index in range(len(body)):
                    self.wfile.write(body[index:index + 1])
                    self.wfile.flush()
                    time.sleep(seconds)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the tests read ``received`` instead."""

        return Handler
