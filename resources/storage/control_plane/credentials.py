"""Credential state beside the sealed secrets: expiry, last use, ``needs_reauth``, and the
refresh lease that lets one process at a time redeem a connection's rotating refresh token.

The lease is a compare-and-set UPDATE on the connection's row (no advisory locks), so it
behaves the same on SQLite and PostgreSQL. ``refresh_started_at`` is written before the
token request and cleared only by the transaction that stores its answer: finding it set
under an expired lease means a process died between the provider's answer and the commit,
when the provider may already have retired the old refresh token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from resources.security.vault import Secret, SecretBinding, seal
from resources.storage.control_plane import ConnectionRecord, ControlPlane, as_utc, utc_now
from resources.storage.control_plane.schema import connections, credential_state

LeaseOutcome = Literal["acquired", "held", "needs_reauth"]


@dataclass(frozen=True)
class CredentialHealth:
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    needs_reauth: str | None = None


def credential_health(control_plane: ControlPlane, connection_id: str) -> CredentialHealth:
    with control_plane.engine.connect() as conn:
        row = conn.execute(select(credential_state).where(
            credential_state.c.connection_id == connection_id)).first()
    if row is None:
        return CredentialHealth()
    return CredentialHealth(as_utc(row.expires_at), as_utc(row.last_used_at), row.needs_reauth)


def _ensure_row(conn, connection_id: str) -> None:
    exists = conn.execute(select(credential_state.c.connection_id).where(
        credential_state.c.connection_id == connection_id)).first()
    if exists is None:
        try:
            with conn.begin_nested():  # another process may insert it at the same moment
                conn.execute(credential_state.insert().values(connection_id=connection_id))
        except IntegrityError:
            pass


def take_refresh_lease(control_plane: ControlPlane, connection_id: str, owner: str,
                       seconds: float) -> LeaseOutcome:
    """Try once to become the one process refreshing this connection."""
    now = utc_now()
    with control_plane.engine.begin() as conn:
        _ensure_row(conn, connection_id)
        row = conn.execute(select(credential_state).where(
            credential_state.c.connection_id == connection_id)).one()
        if row.needs_reauth:
            return "needs_reauth"
        lease_until = as_utc(row.lease_until)
        if row.lease_owner and lease_until and lease_until > now:
            return "held"
        if row.refresh_started_at is not None:
            conn.execute(update(credential_state).where(
                credential_state.c.connection_id == connection_id).values(
                needs_reauth=interrupted_reason(as_utc(row.refresh_started_at)),
                lease_owner=None, lease_until=None))
            return "needs_reauth"
        taken = conn.execute(update(credential_state).where(and_(
            credential_state.c.connection_id == connection_id,
            credential_state.c.refresh_started_at.is_(None),
            or_(credential_state.c.lease_owner.is_(None), credential_state.c.lease_until < now),
        )).values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))
        return "acquired" if taken.rowcount == 1 else "held"


def interrupted_reason(started: datetime | None) -> str:
    when = started.isoformat(timespec="seconds") if started else "an earlier run"
    return (f"a token refresh started at {when} never stored its answer (the process stopped); "
            "the provider may already have retired the old refresh token, so it is not "
            "retried")


def mark_refresh_started(control_plane: ControlPlane, connection_id: str, owner: str) -> None:
    with control_plane.engine.begin() as conn:
        conn.execute(update(credential_state).where(and_(
            credential_state.c.connection_id == connection_id,
            credential_state.c.lease_owner == owner)).values(refresh_started_at=utc_now()))


def store_refreshed(control_plane: ControlPlane, connection: ConnectionRecord, owner: str,
                    replaced: dict[str, Secret], expires_at: datetime | None) -> None:
    """Seal the new tokens and end the refresh, in one transaction."""
    provider = control_plane.key_provider()
    with control_plane.engine.begin() as conn:
        sealed = json.loads(conn.execute(select(connections.c.credentials).where(
            connections.c.id == connection.id)).scalar_one() or "{}")
        for name, value in replaced.items():
            sealed[name] = seal(provider, SecretBinding(connection.org_id, connection.id, name),
                                value.reveal())
        conn.execute(update(connections).where(connections.c.id == connection.id)
                     .values(credentials=json.dumps(sealed, sort_keys=True)))
        conn.execute(update(credential_state).where(and_(
            credential_state.c.connection_id == connection.id,
            credential_state.c.lease_owner == owner)).values(
            expires_at=expires_at, refresh_started_at=None, lease_owner=None, lease_until=None))


def release_refresh_lease(control_plane: ControlPlane, connection_id: str, owner: str, *,
                          needs_reauth: str | None = None) -> None:
    """End a refresh that stored nothing: the token request was never answered (its refresh
    token is still good), or was refused (``needs_reauth`` says why)."""
    with control_plane.engine.begin() as conn:
        conn.execute(update(credential_state).where(and_(
            credential_state.c.connection_id == connection_id,
            credential_state.c.lease_owner == owner)).values(
            refresh_started_at=None, lease_owner=None, lease_until=None,
            needs_reauth=needs_reauth))


def record_expiry(control_plane: ControlPlane, connection_id: str,
                  expires_at: datetime | None) -> None:
    with control_plane.engine.begin() as conn:
        _ensure_row(conn, connection_id)
        conn.execute(update(credential_state).where(
            credential_state.c.connection_id == connection_id).values(expires_at=expires_at))


def mark_used(control_plane: ControlPlane, connection_id: str) -> None:
    with control_plane.engine.begin() as conn:
        _ensure_row(conn, connection_id)
        conn.execute(update(credential_state).where(
            credential_state.c.connection_id == connection_id).values(last_used_at=utc_now()))
