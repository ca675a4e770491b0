"""GitHub App authentication: a short-lived RS256 JWT signed with the app's private key
buys an installation access token (one hour), which the connector uses as a bearer token.

The private key arrives from the vault at run time and the installation token lives in
memory only. The token endpoints are not data endpoints: they are called with plain
``requests`` (POST, DELETE) and their refusals become ``CredentialError``s that say which
of app id, key or installation is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from resources.http.auth import IssuedToken, RenewingBearerToken
from resources.http.errors import CredentialError, SourceUnreachableError
from resources.http.urls import validate_base_url

API_VERSION = "2022-11-28"
TOKEN_REQUEST_TIMEOUT = (10.0, 30.0)
# GitHub accepts a JWT for at most ten minutes; issue it a minute in the past against
# clock drift, as GitHub's documentation recommends.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 540


def checked_private_key(pem: str) -> str:
    """The PEM text, once it has been proven to be an RSA private key (a GitHub App key)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialError("The private key file is not a PEM private key: download the "
                              "app's key again from its settings page (Private keys → "
                              "Generate a private key) and pass that .pem file.") from None
    if not isinstance(key, RSAPrivateKey):
        raise CredentialError("The private key file holds a key that is not RSA; GitHub App "
                              "keys are RSA: pass the .pem file GitHub generated.")
    return pem


def app_jwt(app_id: str, private_key_pem: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time()) - JWT_BACKDATE_SECONDS
    claims = {"iat": issued, "exp": issued + JWT_LIFETIME_SECONDS, "iss": str(app_id)}
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


class GitHubAppClient:
    """The app-level calls: find an installation, mint and revoke installation tokens."""

    def __init__(self, base_url: str, app_id: str, private_key_pem: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.base_url = validate_base_url(base_url)
        self.app_id = str(app_id)
        self.__private_key = private_key_pem
        self._clock = clock

    def __repr__(self) -> str:
        return f"GitHubAppClient(app_id={self.app_id!r}, private_key=<redacted>)"

    def _send(self, method: str, path: str, bearer: str) -> requests.Response:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "Authorization": f"Bearer {bearer}", "User-Agent": "sieve"}
        try:
            return requests.request(method, f"{self.base_url}{path}", headers=headers,
                                    timeout=TOKEN_REQUEST_TIMEOUT, allow_redirects=False)
        except requests.RequestException as failure:
            raise SourceUnreachableError(
                f"GitHub at {self.base_url} could not be reached to authenticate app "
                f"{self.app_id} ({type(failure).__name__}). Check the base URL and that it is "
                "reachable from this machine.") from None

    def _as_app(self, method: str, path: str) -> requests.Response:
        answer = self._send(method, path, app_jwt(self.app_id, self.__private_key, self._clock()))
        if answer.status_code == 401:
            raise CredentialError(
                f"GitHub rejected the JWT of app {self.app_id} (401): check that --app-id is the "
                "app's numeric App ID and that the private key is one of this app's current "
                "keys (a key deleted in the app's settings stops working).")
        return answer

    def installation_for(self, owner: str) -> int:
        """The id of the app's installation on ``owner`` (an organization or a user)."""
        for path in (f"/orgs/{owner}/installation", f"/users/{owner}/installation"):
            answer = self._as_app("GET", path)
            if answer.status_code == 200:
                return int(answer.json()["id"])
        raise CredentialError(
            f"GitHub app {self.app_id} is not installed on {owner!r}: install it there "
            "(the app's settings → Install App), or pass --installation-id.")

    def installations(self) -> list[tuple[int, str]]:
        """(installation id, account login) of every installation of the app."""
        answer = self._as_app("GET", "/app/installations?per_page=100")
        if answer.status_code != 200:
            raise CredentialError(f"GitHub answered {answer.status_code} when app "
                                  f"{self.app_id} listed its installations.")
        return [(int(item["id"]), item["account"]["login"]) for item in answer.json()]

    def mint_installation_token(self, installation_id: int | str) -> IssuedToken:
        answer = self._as_app("POST", f"/app/installations/{installation_id}/access_tokens")
        if answer.status_code in (403, 404):
            raise CredentialError(
                f"GitHub app {self.app_id} could not get a token for installation "
                f"{installation_id} ({answer.status_code}): the app was uninstalled, "
                "suspended or the installation id is wrong. Re-install the app and re-connect "
                "with `sieve connect ORG github --app-id ... --private-key-file ...`.")
        if answer.status_code != 201:
            raise CredentialError(
                f"GitHub answered {answer.status_code} when app {self.app_id} asked for an "
                f"installation token; try again later.")
        body = answer.json()
        return IssuedToken(body["token"], _epoch(body.get("expires_at")))

    def revoke_installation_token(self, token: str) -> None:
        answer = self._send("DELETE", "/installation/token", token)
        if answer.status_code != 204:
            raise CredentialError(f"GitHub answered {answer.status_code} to the revocation.")

    def installation_auth(self, installation_id: int | str) -> RenewingBearerToken:
        """Bearer auth that mints the installation's token on first use and renews it."""
        return RenewingBearerToken(lambda _stale: self.mint_installation_token(installation_id),
                                   clock=self._clock)


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
