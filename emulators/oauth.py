"""An emulated OAuth 2.0 authorization server (RFC 6749 with PKCE, RFC 7636; revocation,
RFC 7009), as GitLab and Atlassian run them: the authorization code grant with S256
challenges, refresh tokens that rotate (a used one is refused with ``invalid_grant``), and
access tokens that expire. The authorize step approves at once, as a person clicking
"Authorize" would.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from urllib.parse import urlencode

from emulators.framework import ApiError, Request, Response
from emulators.tokens import IssuedTokens

CLIENT_ID = "sieve-demo-client"
CLIENT_SECRET = "demo-client-secret"


class OAuthAuthority:
    def __init__(self, access_lifetime_seconds: float = 7200.0) -> None:
        self._lock = threading.Lock()
        self._lifetime = access_lifetime_seconds
        self.reset()

    def reset(self) -> None:
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.tokens = IssuedTokens("oat-", self._lifetime)
        self._codes: dict[str, tuple[str, str, str]] = {}
        self._refresh: dict[str, bool] = {}  # refresh token -> still redeemable
        self.refresh_grants = 0
        self.refused_grants = 0

    def add_routes(self, route, prefix: str = "/oauth") -> None:
        route("GET", f"{prefix}/authorize", self.authorize)
        route("POST", f"{prefix}/token", self.token)
        route("POST", f"{prefix}/revoke", self.revoke)

    def is_public(self, request: Request) -> bool:
        return request.path.startswith("/oauth/")

    def valid_access_token(self, token: str) -> bool:
        return self.tokens.subject(token) is not None

    # -- endpoints ---------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        query = request.query
        if query.get("client_id") not in self.clients or query.get("code_challenge_method") != "S256":
            raise ApiError(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(16)
        self._codes[code] = (query["client_id"], query.get("redirect_uri", ""),
                             query.get("code_challenge", ""))
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
        return self._issue(form["client_id"])

    def _refresh_grant(self, form: dict) -> Response:
        presented = form.get("refresh_token", "")
        with self._lock:
            self.refresh_grants += 1
            if not self._refresh.get(presented):
                self.refused_grants += 1
                raise ApiError(400, {"error": "invalid_grant", "error_description":
                                     "The provided authorization grant is invalid, expired, "
                                     "revoked, or was issued to another client."})
            self._refresh[presented] = False  # rotation: a refresh token works once
        return self._issue(form["client_id"])

    def _issue(self, client_id: str) -> Response:
        access, _expires_at = self.tokens.issue(client_id)
        refresh = f"ort-{secrets.token_hex(16)}"
        with self._lock:
            self._refresh[refresh] = True
        return Response(body={"access_token": access, "token_type": "Bearer",
                              "expires_in": int(self._lifetime), "refresh_token": refresh,
                              "scope": "read_api"})

    def grant(self) -> dict[str, str]:
        """Tokens as if a person had just authorized the demo client (for tests)."""
        body = self._issue(CLIENT_ID).body
        return {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    def revoke(self, request: Request) -> Response:
        token = request.query.get("token", "")
        with self._lock:
            self._refresh.pop(token, None)
        self.tokens.revoke(token)
        return Response(body={})
