"""GitHub App installations on the GitHub emulator: the app's JWT (RS256, verified against
the app's public key), installation lookup, installation access tokens with an expiry and
their revocation, as docs.github.com/rest/apps describes them (API version 2022-11-28).

One demo app (id ``APP_ID``) is installed on the demo organization; its RSA key pair is
made when the emulator starts, and tests read the private key from ``private_key_pem``.

An installation's tokens spend a rate-limit budget of the installation's own, apart from any
personal token's, with its own ``x-ratelimit-*`` headers. Its size follows "Primary rate limit
for GitHub App installations" (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-
the-rest-api): 15,000 requests an hour on a GitHub Enterprise Cloud organization; otherwise
5,000, plus 50 for each repository when the installation has more than 20, and 50 for each
user when its organization has more than 20, at most 12,500. The docs' "for each repository"
is read as every repository, not only those past the twentieth.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.framework import ApiError, Request, Response, iso_z
from emulators.tokens import IssuedTokens

APP_ID = 424242
INSTALLATION_ID = 5150001
DOCS = "https://docs.github.com/rest/apps/apps"
# GitHub refuses a JWT whose lifetime exceeds ten minutes (plus a little drift).
MAX_JWT_LIFETIME_SECONDS = 600 + 60
INSTALLATION_BASE_LIMIT = 5000
INSTALLATION_SCALING_THRESHOLD = 20
INSTALLATION_EXTRA_PER_REPOSITORY_OR_USER = 50
INSTALLATION_MAX_LIMIT = 12500
ENTERPRISE_CLOUD_INSTALLATION_LIMIT = 15000
RATE_LIMIT_WINDOW_SECONDS = 3600.0


def installation_rate_limit(repositories: int, users: int, enterprise_cloud: bool) -> int:
    """Requests an hour for one installation's tokens (see the module's docstring)."""
    if enterprise_cloud:
        return ENTERPRISE_CLOUD_INSTALLATION_LIMIT
    extra = sum(INSTALLATION_EXTRA_PER_REPOSITORY_OR_USER * count for count in (repositories, users)
                if count > INSTALLATION_SCALING_THRESHOLD)
    return min(INSTALLATION_MAX_LIMIT, INSTALLATION_BASE_LIMIT + extra)


def installation_budget(installation_id: int) -> str:
    """The name of an installation's rate-limit budget (``emulator.faults.rate_limit`` takes
    it like an API's name)."""
    return f"github_installation_{installation_id}"


def _new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class AppInstallations:
    """The demo app, where it is installed, and the installation tokens it has minted."""

    def __init__(self, owner: str, owner_id: int,
                 owner_size: Callable[[], tuple[int, int]]) -> None:
        self._owner = (owner, owner_id)
        # (repositories, users) of the owner, read when a limit is first needed.
        self._owner_size = owner_size
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.installations = {INSTALLATION_ID: self._owner}
        self.suspended: set[int] = set()
        # Installations on a GitHub Enterprise Cloud organization (a test knob).
        self.enterprise_cloud: set[int] = set()
        self.tokens = IssuedTokens("ghs_")
        self.mint_requests = 0

    # Made on first use: most emulator runs never authenticate as an app.
    @functools.cached_property
    def private_key_pem(self) -> str:
        return _new_private_key_pem()

    @functools.cached_property
    def _public_key(self):
        return serialization.load_pem_private_key(self.private_key_pem.encode(),
                                                  password=None).public_key()

    def add_routes(self, route) -> None:
        route("GET", "/app/installations", self.list_installations)
        route("GET", "/orgs/{org}/installation", self.owner_installation)
        route("GET", "/users/{username}/installation", self.owner_installation)
        route("GET", "/repos/{owner}/{repo}/installation", self.owner_installation)
        route("POST", "/app/installations/{installation_id}/access_tokens", self.access_token)
        route("DELETE", "/installation/token", self.revoke_token)

    # -- authentication ----------------------------------------------------------------------

    def needs_jwt(self, request: Request) -> bool:
        return request.path.startswith("/app/") or request.path == "/app" or (
            request.method == "GET" and request.path.endswith("/installation"))

    def check_jwt(self, request: Request) -> ApiError | None:
        scheme, _, value = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return _unauthorized("A JSON web token could not be decoded")
        try:
            claims = jwt.decode(value.strip(), self._public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=60)
        except jwt.PyJWTError:
            return _unauthorized("A JSON web token could not be decoded")
        if str(claims["iss"]) != str(APP_ID):
            return _unauthorized("Integration not found")
        if claims["exp"] - claims["iat"] > MAX_JWT_LIFETIME_SECONDS:
            return _unauthorized("'Expiration time' claim ('exp') is too far in the future")
        return None

    def installation_of(self, token: str) -> int | None:
        subject = self.tokens.subject(token)
        return int(subject) if subject is not None else None

    def rate_limit(self, installation_id: int) -> int:
        repositories, users = self._owner_size()
        return installation_rate_limit(repositories, users,
                                       installation_id in self.enterprise_cloud)

    # -- routes ------------------------------------------------------------------------------

    def _installation_json(self, installation_id: int, base: str) -> dict:
        login, account_id = self.installations[installation_id]
        return {"id": installation_id, "app_id": APP_ID, "target_type": "Organization",
                "account": {"login": login, "id": account_id, "type": "Organization"},
                "access_tokens_url": f"{base}/app/installations/{installation_id}/access_tokens",
                "repository_selection": "all", "permissions": _PERMISSIONS,
                "suspended_at": "2026-01-01T00:00:00Z" if installation_id in self.suspended
                else None}

    def list_installations(self, request: Request) -> Response:
        return Response(body=[self._installation_json(i, request.base_url)
                              for i in sorted(self.installations)])

    def owner_installation(self, request: Request) -> Response:
        owner = (request.params.get("org") or request.params.get("username")
                 or request.params.get("owner") or "").lower()
        for installation_id, (login, _id) in self.installations.items():
            if login.lower() == owner:
                return Response(body=self._installation_json(installation_id, request.base_url))
        raise ApiError(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def access_token(self, request: Request) -> Response:
        try:
            installation_id = int(request.params["installation_id"])
        except ValueError:
            installation_id = -1
        if installation_id not in self.installations:
            raise ApiError(404, {"message": "Not Found", "documentation_url": DOCS,
                                 "status": "404"})
        if installation_id in self.suspended:
            raise ApiError(403, {"message": "This installation has been suspended",
                                 "documentation_url": DOCS, "status": "403"})
        with self._lock:
            self.mint_requests += 1
        token, expires_at = self.tokens.issue(str(installation_id))
        return Response(status=201, body={
            "token": token, "expires_at": iso_z(_utc(expires_at)),
            "permissions": _PERMISSIONS, "repository_selection": "all"})

    def revoke_token(self, request: Request) -> Response:
        _scheme, _, value = (request.header("authorization") or "").partition(" ")
        self.tokens.revoke(value.strip())
        return Response(status=204, body=b"")

    def uninstall(self, installation_id: int = INSTALLATION_ID) -> None:
        """Test knob: the organization removed the app; its tokens stop working."""
        self.installations.pop(installation_id, None)
        self.tokens.revoke_subject(str(installation_id))


_PERMISSIONS = {"metadata": "read", "contents": "read", "pull_requests": "read",
                "issues": "read", "deployments": "read", "actions": "read", "members": "read"}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, {"message": message, "documentation_url": DOCS, "status": "401"})


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
