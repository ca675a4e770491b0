"""`sieve connect ORG <source> --oauth`: the OAuth 2.0 authorization code flow with PKCE.

The authorization URL is printed (and opened in a browser when there is one); the provider
redirects to a one-shot listener on loopback (RFC 8252), whose ``state`` must match. With
``--auth-code`` (a server without a browser) the person pastes the address the browser was
redirected to at a hidden prompt instead. The code is exchanged for tokens at once; nothing is
stored unless every step succeeded.
"""

from __future__ import annotations

import secrets
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import click

from resources.http.errors import CredentialError
from resources.http.oauth import PROVIDERS, auth_root, authorization_url, exchange_code
from resources.security.vault import Secret
from resources.sources.connect import AuthMode

REDIRECT_WAIT_SECONDS = 300.0
CALLBACK_PATH = "/callback"


def oauth_credentials(slug: str, source: str, mode: AuthMode, settings: dict,
                      read: dict[str, Secret]) -> dict[str, Secret]:
    provider = PROVIDERS[mode.provider or source]
    root = auth_root(provider, settings)
    client_id, client_secret = read["client_id"].reveal(), read["client_secret"].reveal()
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(64)
    headless = settings.pop("auth_code", False)
    settings.pop(mode.trigger, None)
    with _LoopbackRedirect() as listener:
        redirect_uri = listener.uri
        url = authorization_url(provider, root, client_id, redirect_uri, state, verifier)
        click.echo(f"Authorize Sieve (read-only: {provider.scopes}) for {slug} at:\n  {url}")
        if headless:
            pasted = click.prompt("Paste the address your browser was sent to", hide_input=True)
            query = parse_qs(urlsplit(pasted.strip()).query)
        else:
            webbrowser.open(url)
            query = listener.wait(REDIRECT_WAIT_SECONDS)
    if query.get("state", [""])[0] != state:
        raise CredentialError("The authorization redirect's state does not match this "
                              "request (an old or forged redirect): nothing was stored; run "
                              "the command again.")
    if "code" not in query:
        reason = query.get("error", ["no code"])[0]
        raise CredentialError(f"The authorization was not granted ({reason}); nothing was "
                              "stored.")
    answer = exchange_code(provider, root, client_id, client_secret, redirect_uri,
                           query["code"][0], verifier)
    return {"access_token": Secret(answer.access_token),
            "refresh_token": Secret(answer.refresh_token or ""),
            "client_id": Secret(client_id), "client_secret": Secret(client_secret)}


class _LoopbackRedirect:
    """A one-request HTTP listener on 127.0.0.1 that captures the redirect's query."""

    def __enter__(self) -> _LoopbackRedirect:
        captured: dict = {}
        arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                parts = urlsplit(self.path)
                if parts.path == CALLBACK_PATH:
                    captured.update(parse_qs(parts.query))
                    arrived.set()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"Sieve received the authorization; you may close this tab.")

            def log_message(self, *args):  # the query holds the code: never log it
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._captured, self._arrived = captured, arrived
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.uri = f"http://127.0.0.1:{self._server.server_port}{CALLBACK_PATH}"
        return self

    def wait(self, seconds: float) -> dict:
        if not self._arrived.wait(seconds):
            raise CredentialError(f"No authorization arrived within {seconds:.0f} s; nothing "
                                  "was stored. Run the command again, or add --auth-code.")
        return self._captured

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
