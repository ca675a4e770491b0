"""How a connection authenticates, by the kind of credential it was connected with.

A connection's settings name its ``auth`` kind (absent: a static token, as before this
existed); its sealed credentials hold what that kind needs:

- ``token``: a personal, project or bot token (each source's own header scheme).
- ``github_app``: the app's private key; each run mints installation tokens from it.
- ``oauth``: OAuth 2.0 access and rotating refresh tokens, and the client's id and secret.
- ``basic``: a username and password (Jira Server and Data Center).

Connectors ask ``connection_auth`` for their ``requests`` auth object and stay unaware of
the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from requests.auth import AuthBase

from resources.http.auth import BasicPassword, BearerToken
from resources.security.vault import Secret

if TYPE_CHECKING:
    from resources.sources.connector import ConnectorContext

AUTH_KINDS = ("token", "github_app", "oauth", "basic")
DEFAULT_GITHUB_API = "https://api.github.com"


def auth_kind(settings: dict) -> str:
    return settings.get("auth") or "token"


def connection_auth(context: ConnectorContext,
                    static: Callable[[dict[str, Secret]], AuthBase]) -> AuthBase:
    """The auth object for ``context``'s connection; ``static`` builds the source's own
    token scheme from the sealed credentials when the connection uses a plain token."""
    if auth_kind(context.settings) == "oauth" and context.connection.status != "pending":
        from resources.sources.oauth_refresh import oauth_auth  # loads authlib

        return oauth_auth(context)
    return connect_time_auth(context.settings, context.credentials, static)


def connect_time_auth(settings: dict, credentials: dict[str, Secret],
                      static: Callable[[dict[str, Secret]], AuthBase]) -> AuthBase:
    """The auth object for credentials given to `sieve connect`, before anything is stored
    (an OAuth access token was just issued, so nothing needs refreshing yet)."""
    kind = auth_kind(settings)
    if kind == "github_app":
        return github_app_auth(settings, credentials)
    if kind == "oauth":
        return BearerToken(credentials["access_token"].reveal())
    if kind == "basic":
        return BasicPassword(credentials["username"].reveal(), credentials["password"].reveal())
    return static(credentials)


def github_app_client(settings: dict, credentials: dict[str, Secret]):
    from resources.http.github_app import GitHubAppClient  # loads PyJWT

    return GitHubAppClient(settings.get("base_url") or DEFAULT_GITHUB_API, settings["app_id"],
                           credentials["private_key"].reveal())


def github_app_auth(settings: dict, credentials: dict[str, Secret]) -> AuthBase:
    return github_app_client(settings, credentials).installation_auth(settings["installation_id"])
