"""A webhook receiver on loopback for the notification tests: it records every JSON document
POSTed to it and answers as a Slack incoming webhook does — 200 with the plain-text body "ok"
(https://docs.slack.dev/tools/python-slack-sdk/webhook: ``response.body == "ok"``), and errors
as HTTP statuses with a short plain-text code, never JSON. ``fail_with`` makes it answer every
request with that status until cleared.

Its URL carries a secret path, as a Slack webhook's does (``/services/T…/B…/<secret>``), so
tests can look for that secret wherever Sieve may write.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from resources.http import RetryPolicy


class WebhookReceiver:
    def __init__(self) -> None:
        self.secret = f"hooksecret{secrets.token_hex(8)}"
        self.path = f"/services/T0SIEVE/B0SIEVE/{self.secret}"
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_with: int | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def notifications(self) -> list[dict]:
        """Every notification of every generic JSON message received, in order."""
        return [n for message in self.received for n in message.get("notifications", [])]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.attempts += 1
                    status = receiver.fail_with
                    if status is None and self.path == receiver.path:
                        receiver.received.append(json.loads(body))
                if status is None and self.path != receiver.path:
                    status = 404
                answer = {None: b"ok", 404: b"no_service", 400: b"invalid_payload"}.get(
                    status, b"internal_error")
                self.send_response(status or 200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                """Silent: the tests read ``received`` instead."""

        return Handler


def quick_webhook_retries(monkeypatch) -> None:
    """The real retry loop of webhook deliveries, with backoffs of milliseconds, not seconds."""
    monkeypatch.setattr("resources.notifications.webhook.WEBHOOK_RETRY", RetryPolicy(
        max_retries=3, backoff_base=0.01, backoff_cap=0.02, max_total_wait=5.0))
