"""Rotating OAuth refresh tokens, redeemed safely.

A provider that rotates refresh tokens retires the old one the moment it answers. So:

1. only the holder of the connection's refresh lease (``credential_state``) redeems it;
   the others wait, then read the access token the holder stored;
2. the holder writes ``refresh_started_at`` before the request, and the new access and
   refresh tokens are sealed and committed — with that mark cleared — before the new access
   token is used;
3. a mark found under an expired lease means a process died between the answer and the
   commit: the connection is marked ``needs_reauth`` and never retried into a lockout;
4. a refused refresh (spent, revoked, wrong client) marks ``needs_reauth`` too, once.
"""

from __future__ import annotations

import os
import secrets
import socket
import time

import requests

from resources.http.auth import IssuedToken, RenewingBearerToken
from resources.http.errors import CredentialError, ReauthRequiredError, SourceUnreachableError
from resources.http.oauth import PROVIDERS, auth_root, refresh
from resources.security.vault import Secret
from resources.sources.connector import ConnectorContext
from resources.storage.control_plane.credentials import (
    credential_health,
    mark_refresh_started,
    release_refresh_lease,
    store_refreshed,
    take_refresh_lease,
)

# Longer than a token request may take (its read timeout is 30 s), so a live holder never
# loses the lease mid-request; a dead holder's lease lapses after this long.
LEASE_SECONDS = 60.0
# How long a process waits for another one's refresh before giving up on this run.
LEASE_WAIT_SECONDS = 90.0
LEASE_POLL_SECONDS = 0.2
# A stored access token this close to its expiry is refreshed rather than used.
EXPIRY_MARGIN_SECONDS = 120.0


def oauth_auth(context: ConnectorContext) -> RenewingBearerToken:
    return RenewingBearerToken(lambda stale: fresh_access_token(context, stale))


def reauth_error(context: ConnectorContext, reason: str) -> ReauthRequiredError:
    slug, connection = context.org_slug, context.connection
    site = connection.settings.get("site_url")  # Jira Cloud: the site to authorize again
    where = f" --base-url {site}" if site else ""
    return ReauthRequiredError(
        f"{context.error_context().describe()} needs to be connected again: {reason}. Run "
        f"`sieve connect {slug} {connection.source}{where} --oauth --client-id-env VAR "
        f"--client-secret-env VAR` and then `sieve disconnect {slug} {connection.id}`.")


def fresh_access_token(context: ConnectorContext, stale: str | None) -> IssuedToken:
    """A usable access token: the stored one unless it is ``stale`` or expiring, else one
    this process refreshed under the lease, or one another process just stored."""
    control_plane = context.state.control_plane
    connection_id = context.connection.id
    owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    while True:
        stored = _stored_token(context, stale)
        if stored is not None:
            return stored
        outcome = take_refresh_lease(control_plane, connection_id, owner, LEASE_SECONDS)
        if outcome == "needs_reauth":
            raise reauth_error(context, credential_health(control_plane,
                                                          connection_id).needs_reauth)
        if outcome == "acquired":
            return _refresh_under_lease(context, stale, owner)
        if time.monotonic() > deadline:
            raise SourceUnreachableError(
                f"Another process has been refreshing the token of "
                f"{context.error_context().describe()} for over {LEASE_WAIT_SECONDS:.0f} s; "
                "this run skipped it. Re-run the sync later.")
        time.sleep(LEASE_POLL_SECONDS)


def _stored_token(context: ConnectorContext, stale: str | None) -> IssuedToken | None:
    control_plane = context.state.control_plane
    health = credential_health(control_plane, context.connection.id)
    if health.needs_reauth:
        raise reauth_error(context, health.needs_reauth)
    access = control_plane.credentials(context.connection)["access_token"].reveal()
    expires_at = health.expires_at.timestamp() if health.expires_at else None
    if access == stale or (expires_at is not None
                           and expires_at - time.time() < EXPIRY_MARGIN_SECONDS):
        return None
    return IssuedToken(access, expires_at)


def _refresh_under_lease(context: ConnectorContext, stale: str | None, owner: str) -> IssuedToken:
    control_plane = context.state.control_plane
    connection = context.connection
    stored = _stored_token(context, stale)  # another process may have refreshed meanwhile
    if stored is not None:
        release_refresh_lease(control_plane, connection.id, owner)
        return stored
    credentials = control_plane.credentials(connection)
    provider = PROVIDERS[connection.source]
    mark_refresh_started(control_plane, connection.id, owner)
    try:
        answer = refresh(provider, auth_root(provider, connection.settings),
                         credentials["client_id"].reveal(), credentials["client_secret"].reveal(),
                         credentials["refresh_token"].reveal())
    except SourceUnreachableError:
        # Nothing reached the provider, so the refresh token is unspent: no mark remains.
        release_refresh_lease(control_plane, connection.id, owner)
        raise
    except CredentialError as error:
        reason = str(error).rstrip(".")
        release_refresh_lease(control_plane, connection.id, owner, needs_reauth=reason)
        raise reauth_error(context, reason) from None
    except requests.RequestException as failure:
        # Sent but unanswered (a read timeout): the provider may have rotated the token.
        reason = (f"the token endpoint did not answer the refresh ({type(failure).__name__}); "
                  "the refresh token may have been spent")
        release_refresh_lease(control_plane, connection.id, owner, needs_reauth=reason)
        raise reauth_error(context, reason) from None
    replaced = {"access_token": Secret(answer.access_token)}
    if answer.refresh_token:
        replaced["refresh_token"] = Secret(answer.refresh_token)
    store_refreshed(control_plane, connection, owner, replaced, answer.expires_at)
    return IssuedToken(answer.access_token,
                       answer.expires_at.timestamp() if answer.expires_at else None)
