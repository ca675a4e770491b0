"""An emulated OAuth 2.0 authorization server (RFC 6749 with PKCE, RFC 7636; revocation,
RFC 7009), as GitLab and Atlassian run them: the authorization code grant with S256
challenges, refresh tokens that rotate (a used one is refused with ``invalid_grant``), and
access tokens that expire. The authorize step approves at once, as a person clicking
"Authorize" would.

What differs between the two is a ``Dialect``: where the endpoints are, what the authorize
request must carry, the scopes granted, and how a spent refresh token is refused (GitLab 400,
Atlassian 403 "Unknown or invalid refresh token." — developer.atlassian.com/cloud/oauth/
getting-started/refresh-tokens). Atlassian issues a refresh token only when ``offline_access``
was asked for (same page), and a spent refresh token presented again invalidates every refresh
token of its grant (Atlassian's "Deprecating persistent refresh tokens" announcement, 2022;
its 10-minute reuse leeway is not emulated: any reuse is refused).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from emulators.framework import ApiError, Request, Response
from emulators.tokens import IssuedTokens

CLIENT_ID = "sieve-demo-client"
CLIENT_SECRET = "demo-client-secret"


@dataclass(frozen=True)
class Dialect:
    authorize_path: str = "/oauth/authorize"
    token_path: str = "/oauth/token"
    revoke_path: str = "/oauth/revoke"
    scope: str = "read_api"
    # Parameters the authorize request must carry with exactly these values.
    required_authorize_params: dict = field(default_factory=dict)
    # A scope without which no refresh token is issued (None: always issued).
    refresh_scope: str | None = None
    access_lifetime_seconds: float = 7200.0
    refused_refresh_status: int = 400
    refused_refresh_description: str = ("The provided authorization grant is invalid, expired, "
                                        "revoked, or was issued to another client.")
    # A spent refresh token presented again ends the whole grant (every refresh token of it).
    reuse_ends_grant: bool = False


GITLAB = Dialect()


class OAuthAuthority:
    def __init__(self, dialect: Dialect = GITLAB) -> None:
        self._lock = threading.Lock()
        self.dialect = dialect
        self._lifetime = dialect.access_lifetime_seconds
        self.reset()

    def reset(self) -> None:
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.tokens = IssuedTokens("oat-", self._lifetime)
        self._codes: dict[str, tuple[str, str, str, str]] = {}
        self._refresh: dict[str, bool] = {}  # refresh token -> still redeemable
        self._grant_of: dict[str, str] = {}  # refresh token -> the authorization it descends from
        self.refresh_grants = 0
        self.refused_grants = 0

    def add_routes(self, route) -> None:
        dialect = self.dialect
        route("GET", dialect.authorize_path, self.authorize)
        route("POST", dialect.token_path, self.token)
        route("POST", dialect.revoke_path, self.revoke)

    def is_public(self, request: Request) -> bool:
        """The authorization server's own endpoints, which take no access token."""
        dialect = self.dialect
        return request.path in (dialect.authorize_path, dialect.token_path, dialect.revoke_path)

    def valid_access_token(self, token: str) -> bool:
        return self.tokens.subject(token) is not None

    # -- endpoints ---------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        query = request.query
        required = self.dialect.required_authorize_params.items()
        if query.get("client_id") not in self.clients or \
                query.get("code_challenge_method") != "S256" or \
                any(query.get(name) != value for name, value in required):
            raise ApiError(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(16)
        self._codes[code] = (query["client_id"], query.get("redirect_uri", ""),
                             query.get("code_challenge", ""), query.get("scope", ""))
        location = f"{query.get('redirect_uri')}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return Response(status=302, body=b"", headers={"Location": location})

    def token(self, request: Request) -> Response:
        form = request.query
        if self.clients.get(form.get("client_id")) != form.get("client_secret"):
            raise ApiError(401, {"error": "invalid_client",
                                 "error_description": "Client authentication failed."})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._code_grant(form)
        if grant == "refresh_token":
            return self._refresh_grant(form)
        raise ApiError(400, {"error": "unsupported_grant_type"})

    def _code_grant(self, form: dict) -> Response:
        entry = self._codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if entry is None or entry[1] != form.get("redirect_uri", "") or \
                entry[2] != challenge.rstrip(b"=").decode():
            raise ApiError(400, {"error": "invalid_grant"})
        refresh_scope = self.dialect.refresh_scope
        return self._issue(form["client_id"], with_refresh=refresh_scope is None
                           or refresh_scope in entry[3].split())

    def _refresh_grant(self, form: dict) -> Response:
        presented = form.get("refresh_token", "")
        with self._lock:
            self.refresh_grants += 1
            if not self._refresh.get(presented):
                self.refused_grants += 1
                if presented in self._refresh and self.dialect.reuse_ends_grant:
                    self._end_grant(self._grant_of[presented])
                raise ApiError(self.dialect.refused_refresh_status, {
                    "error": "invalid_grant",
                    "error_description": self.dialect.refused_refresh_description})
            self._refresh[presented] = False  # rotation: a refresh token works once
        return self._issue(form["client_id"], grant=self._grant_of[presented])

    def _end_grant(self, grant: str) -> None:
        for token, of in self._grant_of.items():
            if of == grant:
                self._refresh[token] = False

    def _issue(self, client_id: str, with_refresh: bool = True,
               grant: str | None = None) -> Response:
        access, _expires_at = self.tokens.issue(client_id)
        body = {"access_token": access, "token_type": "Bearer",
                "expires_in": int(self._lifetime), "scope": self.dialect.scope}
        if with_refresh:
            body["refresh_token"] = f"ort-{secrets.token_hex(16)}"
            with self._lock:
                self._refresh[body["refresh_token"]] = True
                self._grant_of[body["refresh_token"]] = grant or body["refresh_token"]
        return Response(body=body)

    def grant(self) -> dict[str, str]:
        """Tokens as if a person had just authorized the demo client (for tests)."""
        body = self._issue(CLIENT_ID).body
        return {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    def revoke(self, request: Request) -> Response:
        token = request.query.get("token", "")
        with self._lock:
            if token in self._refresh:
                self._end_grant(self._grant_of[token])
        self.tokens.revoke(token)
        return Response(body={})
