"""OAuth 2.0 for the sources that offer it (GitLab, Jira Cloud 3LO): authorization code with
PKCE, rotating refresh tokens and revocation, through authlib's requests client.

This module only speaks to the provider; who may refresh when, and how the answer is made
durable before it is used, is ``resources.sources.oauth_refresh``'s job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from resources.http.errors import CredentialError, SourceUnreachableError

TOKEN_REQUEST_TIMEOUT = (10.0, 30.0)


@dataclass(frozen=True)
class OAuthProvider:
    name: str
    # The authorization server's root; None means the connection's own base URL (GitLab).
    default_root: str | None
    authorize_path: str
    token_path: str
    revoke_path: str | None
    # Least privilege: read-only scopes, plus offline access where a refresh token needs it.
    scopes: str
    extra_authorize_params: dict = field(default_factory=dict)


PROVIDERS = {
    "gitlab": OAuthProvider("gitlab", None, "/oauth/authorize", "/oauth/token", "/oauth/revoke",
                            "read_api"),
    # Atlassian's revocation endpoint is in its authorization server metadata (RFC 8414), not
    # in the 3LO guide: revocation is tried, and the certificate says whether it worked.
    "jira": OAuthProvider("jira", "https://auth.atlassian.com", "/authorize", "/oauth/token",
                          "/oauth/revoke",
                          "read:jira-work read:jira-user offline_access",
                          {"audience": "api.atlassian.com", "prompt": "consent"}),
}


@dataclass(frozen=True)
class TokenAnswer:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None


class TokenRequestUnanswered(SourceUnreachableError):
    """The token endpoint could not be reached: the refresh token was not spent."""


def auth_root(provider: OAuthProvider, settings: dict) -> str:
    return (settings.get("oauth_url") or provider.default_root or settings["base_url"]).rstrip("/")


def _session(client_id: str, client_secret: str, **extra) -> OAuth2Session:
    return OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_post",
                         timeout=TOKEN_REQUEST_TIMEOUT, **extra)


def _answer(token: dict) -> TokenAnswer:
    expires_at = token.get("expires_at")
    if expires_at is None and token.get("expires_in"):
        expires_at = time.time() + float(token["expires_in"])
    return TokenAnswer(token["access_token"], token.get("refresh_token"),
                       datetime.fromtimestamp(expires_at, UTC) if expires_at else None)


def _refused(provider: OAuthProvider, error: OAuthError, doing: str) -> CredentialError:
    # Only the OAuth error code: descriptions may echo what was sent.
    return CredentialError(f"The {provider.name} token endpoint refused {doing} "
                           f"({error.error or 'no reason given'}).")


def refresh(provider: OAuthProvider, root: str, client_id: str, client_secret: str,
            refresh_token: str) -> TokenAnswer:
    """Redeem a refresh token. ``CredentialError`` when refused (it is spent or revoked, or
    the client is wrong); ``TokenRequestUnanswered`` when nothing reached the provider."""
    try:
        with _session(client_id, client_secret) as session:
            return _answer(session.refresh_token(root + provider.token_path,
                                                 refresh_token=refresh_token))
    except OAuthError as error:
        raise _refused(provider, error, "the refresh token") from None
    except requests.ConnectionError as failure:
        raise TokenRequestUnanswered(f"The {provider.name} token endpoint at {root} could not "
                                     f"be reached ({type(failure).__name__}).") from None


def authorization_url(provider: OAuthProvider, root: str, client_id: str, redirect_uri: str,
                      state: str, code_verifier: str) -> str:
    with _session(client_id, None, redirect_uri=redirect_uri, scope=provider.scopes,
                  code_challenge_method="S256") as session:
        url, _ = session.create_authorization_url(root + provider.authorize_path, state=state,
                                                  code_verifier=code_verifier,
                                                  **provider.extra_authorize_params)
    return url


def exchange_code(provider: OAuthProvider, root: str, client_id: str, client_secret: str,
                  redirect_uri: str, code: str, code_verifier: str) -> TokenAnswer:
    try:
        with _session(client_id, client_secret, redirect_uri=redirect_uri) as session:
            return _answer(session.fetch_token(root + provider.token_path, code=code,
                                               code_verifier=code_verifier,
                                               grant_type="authorization_code"))
    except OAuthError as error:
        raise _refused(provider, error, "the authorization code") from None
    except requests.RequestException as failure:
        raise SourceUnreachableError(f"The {provider.name} token endpoint at {root} could not "
                                     f"be reached ({type(failure).__name__}).") from None


def revoke(provider: OAuthProvider, root: str, client_id: str, client_secret: str,
           token: str) -> None:
    """Revoke ``token`` at the provider (RFC 7009); raises ``CredentialError`` if it cannot."""
    if provider.revoke_path is None:
        raise CredentialError(f"{provider.name} offers no revocation endpoint; revoke the app's "
                              "access in the account's connected-apps settings")
    try:
        with _session(client_id, client_secret) as session:
            answer = session.revoke_token(root + provider.revoke_path, token=token,
                                          token_type_hint="refresh_token")
    except requests.RequestException as failure:
        raise CredentialError(f"the revocation endpoint could not be reached "
                              f"({type(failure).__name__})") from None
    if answer.status_code != 200:
        raise CredentialError(f"the revocation endpoint answered {answer.status_code}")
