"""The control plane: organizations, connections (credentials sealed by the vault), sync state,
deletion requests and the audit log. SQLite by default, PostgreSQL in production — the same
SQLAlchemy Core code; the schema is migrated with Alembic on open."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select, text, update
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine

from resources.errors import SieveError
from resources.security.keys import KeyProvider
from resources.security.vault import (
    Secret,
    SecretBinding,
    envelope_kek_id,
    open_secret,
    rewrap,
    seal,
)
from resources.sources import SOURCES
from resources.storage.control_plane.schema import (
    connections,
    credential_state,
    deletion_requests,
    notification_webhooks,
    organizations,
    sync_state,
)

MIGRATIONS = Path(__file__).parent / "migrations"
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ORG_DATA_KEY_FIELD = "org-data-key"
WEBHOOK_URL_FIELD = "notification-webhook-url"


class ControlPlaneError(SieveError):
    """A problem a person can act on: unknown org, bad slug, duplicate, …"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Organization:
    id: str
    slug: str
    status: str
    created_at: datetime
    terminated_at: datetime | None
    purge_after: datetime | None
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionRecord:
    id: str
    org_id: str
    source: str
    settings: dict
    status: str
    created_at: datetime
    last_synced_at: datetime | None
    removed_at: datetime | None
    credential_fields: tuple[str, ...]


def _organization(row) -> Organization:
    return Organization(row.id, row.slug, row.status, as_utc(row.created_at),
                        as_utc(row.terminated_at), as_utc(row.purge_after),
                        json.loads(row.settings or "{}"))


def _connection(row) -> ConnectionRecord:
    sealed = json.loads(row.credentials) if row.credentials else {}
    return ConnectionRecord(row.id, row.org_id, row.source, json.loads(row.settings), row.status,
                            as_utc(row.created_at), as_utc(row.last_synced_at),
                            as_utc(row.removed_at), tuple(sorted(sealed)))


def _enable_sqlite_secure_delete(engine: Engine) -> None:
    """Deleted or overwritten rows (credentials, subjects) are zeroed in the file, not left in
    free pages; foreign keys are enforced as on PostgreSQL."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        _enable_sqlite_secure_delete(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


# The newest migration under migrations/versions/ (a test keeps the two in step). Opening a
# control plane already at this revision skips Alembic, which costs a command ~0.3 s to load.
HEAD_REVISION = "0004"


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("select version_num from alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


class ControlPlane:
    """Operations on the control plane. ``keys`` is asked for the key-encryption key only when a
    secret is sealed or opened, so listing organizations works without the key."""

    def __init__(self, engine: Engine, keys: Callable[[], KeyProvider] | None = None):
        self.engine = engine
        self._keys = keys

    @classmethod
    def open(cls, url: str, keys: Callable[[], KeyProvider] | None = None) -> ControlPlane:
        engine = make_engine(url)
        migrate(engine)
        return cls(engine, keys)

    def close(self) -> None:
        self.engine.dispose()

    def key_provider(self) -> KeyProvider:
        if self._keys is None:
            raise ControlPlaneError("This operation needs the key-encryption key, but no key "
                                    "provider was configured.")
        return self._keys()

    def transaction(self):
        return self.engine.begin()

    # Organizations -------------------------------------------------------------------------

    def add_organization(self, slug: str, *, settings: dict | None = None) -> Organization:
        if not SLUG_PATTERN.match(slug):
            raise ControlPlaneError(
                f"'{slug}' is not a valid organization slug: use 1-63 lowercase letters, digits "
                "and hyphens, starting with a letter or digit (e.g. 'acme' or 'acme-eu')."
            )
        with self.engine.begin() as conn:
            if conn.execute(select(organizations.c.id).where(organizations.c.slug == slug)).first():
                raise ControlPlaneError(f"An organization named '{slug}' already exists.")
            org_id = new_id("org")
            provider = self.key_provider()
            data_key = seal(provider, SecretBinding(org_id, "-", ORG_DATA_KEY_FIELD),
                            secrets.token_hex(32))
            conn.execute(organizations.insert().values(
                id=org_id, slug=slug, status="active", created_at=utc_now(),
                data_key=data_key, settings=json.dumps(settings or {}, sort_keys=True),
            ))
        return self.organization(slug)

    def organization(self, slug_or_id: str) -> Organization:
        with self.engine.connect() as conn:
            row = conn.execute(select(organizations).where(
                (organizations.c.slug == slug_or_id) | (organizations.c.id == slug_or_id)
            )).first()
        if row is None:
            raise ControlPlaneError(
                f"No organization '{slug_or_id}'. `sieve org list` shows the organizations; "
                f"`sieve org add {slug_or_id}` creates it."
            )
        return _organization(row)

    def organizations(self, *, status: str | None = None) -> list[Organization]:
        query = select(organizations).order_by(organizations.c.slug)
        if status:
            query = query.where(organizations.c.status == status)
        with self.engine.connect() as conn:
            return [_organization(r) for r in conn.execute(query)]

    def org_data_key(self, org: Organization) -> Secret:
        """The org's own data key (hex), which encrypts its DuckDB file and Parquet exports."""
        with self.engine.connect() as conn:
            sealed = conn.execute(select(organizations.c.data_key)
                                  .where(organizations.c.id == org.id)).scalar_one_or_none()
        if not sealed:
            raise ControlPlaneError(f"Organization '{org.slug}' has no data key: it was deleted "
                                    "and its data crypto-shredded.")
        return open_secret(self.key_provider(), SecretBinding(org.id, "-", ORG_DATA_KEY_FIELD),
                           sealed)

    # Connections ---------------------------------------------------------------------------

    def add_connection(self, org: Organization, source: str, settings: dict,
                       credentials: dict[str, Secret]) -> ConnectionRecord:
        if source not in SOURCES:
            raise ControlPlaneError(f"Unknown source '{source}'; choose one of {', '.join(SOURCES)}.")
        if org.status != "active":
            raise ControlPlaneError(f"Organization '{org.slug}' is {org.status}; it cannot take "
                                    "new connections.")
        connection_id = new_id("conn")
        provider = self.key_provider()
        sealed = {name: seal(provider, SecretBinding(org.id, connection_id, name), value.reveal())
                  for name, value in credentials.items()}
        with self.engine.begin() as conn:
            conn.execute(connections.insert().values(
                id=connection_id, org_id=org.id, source=source,
                settings=json.dumps(settings, sort_keys=True),
                credentials=json.dumps(sealed, sort_keys=True) if sealed else None,
                status="active", created_at=utc_now(),
            ))
        return self.connection(connection_id)

    def update_connection(self, connection: ConnectionRecord, settings: dict,
                          credentials: dict[str, Secret]) -> ConnectionRecord:
        """Replace a connection's settings and credentials (re-sealed) — keeping its id, so its
        data, cursors and validators stay attached to it."""
        provider = self.key_provider()
        sealed = {name: seal(provider, SecretBinding(connection.org_id, connection.id, name),
                             value.reveal()) for name, value in credentials.items()}
        with self.engine.begin() as conn:
            conn.execute(update(connections).where(connections.c.id == connection.id).values(
                settings=json.dumps(settings, sort_keys=True),
                credentials=json.dumps(sealed, sort_keys=True) if sealed else None))
        return self.connection(connection.id)

    def connection(self, connection_id: str) -> ConnectionRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(connections).where(connections.c.id == connection_id)).first()
        if row is None:
            raise ControlPlaneError(f"No connection '{connection_id}'. `sieve connections` lists them.")
        return _connection(row)

    def connections(self, org: Organization | None = None, *,
                    include_removed: bool = False) -> list[ConnectionRecord]:
        query = select(connections).order_by(connections.c.created_at, connections.c.id)
        if org is not None:
            query = query.where(connections.c.org_id == org.id)
        if not include_removed:
            query = query.where(connections.c.status == "active")
        with self.engine.connect() as conn:
            return [_connection(r) for r in conn.execute(query)]

    def credentials(self, connection: ConnectionRecord) -> dict[str, Secret]:
        with self.engine.connect() as conn:
            sealed_text = conn.execute(select(connections.c.credentials)
                                       .where(connections.c.id == connection.id)).scalar_one()
        if not sealed_text:
            return {}
        provider = self.key_provider()
        return {name: open_secret(provider, SecretBinding(connection.org_id, connection.id, name),
                                  envelope)
                for name, envelope in json.loads(sealed_text).items()}

    def remove_connection(self, connection: ConnectionRecord) -> None:
        """Credentials are kept only until the connection is removed: wipe them, and its sync
        state, now. Its data is removed by the deletion job the caller requests."""
        with self.engine.begin() as conn:
            conn.execute(update(connections).where(connections.c.id == connection.id).values(
                credentials=None, status="removed", removed_at=utc_now()))
            conn.execute(sync_state.delete().where(sync_state.c.connection_id == connection.id))
            conn.execute(credential_state.delete()
                         .where(credential_state.c.connection_id == connection.id))

    def mark_synced(self, connection_id: str, when: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(connections).where(connections.c.id == connection_id)
                         .values(last_synced_at=when or utc_now()))

    # Sync state: cursors and HTTP validators per connection ------------------------------

    def sync_state(self, connection_id: str, kind: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(sync_state.c.key, sync_state.c.value).where(
                (sync_state.c.connection_id == connection_id) & (sync_state.c.kind == kind)))
            return {r.key: r.value for r in rows}

    def put_sync_state(self, connection_id: str, kind: str, values: dict[str, str]) -> None:
        """Upsert several entries in one transaction (called only once data is durable)."""
        if not values:
            return
        now = utc_now()
        with self.engine.begin() as conn:
            for key, value in values.items():
                matches = (sync_state.c.connection_id == connection_id) & \
                    (sync_state.c.kind == kind) & (sync_state.c.key == key)
                if conn.execute(update(sync_state).where(matches)
                                .values(value=value, updated_at=now)).rowcount == 0:
                    conn.execute(sync_state.insert().values(
                        connection_id=connection_id, kind=kind, key=key, value=value,
                        updated_at=now))

    # Deletion requests ---------------------------------------------------------------------

    def request_deletion(self, org: Organization, scope: str, *, subject_ref: str | None,
                         subject_kind: str, not_before: datetime | None = None) -> str:
        """Record a deletion request; the retention sensors carry it out and certify it."""
        request_id = new_id("del")
        with self.engine.begin() as conn:
            conn.execute(deletion_requests.insert().values(
                id=request_id, org_id=org.id, scope=scope, subject_ref=subject_ref,
                subject_kind=subject_kind, status="pending", requested_at=utc_now(),
                not_before=not_before))
        return request_id

    def deletion_requests(self, org: Organization | None = None) -> list[dict]:
        query = select(deletion_requests.c.id, deletion_requests.c.org_id,
                       deletion_requests.c.scope, deletion_requests.c.subject_kind,
                       deletion_requests.c.subject_ref, deletion_requests.c.status,
                       deletion_requests.c.requested_at, deletion_requests.c.not_before,
                       deletion_requests.c.completed_at).order_by(deletion_requests.c.requested_at)
        if org is not None:
            query = query.where(deletion_requests.c.org_id == org.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # Key rotation --------------------------------------------------------------------------

    def sealed_values(self, conn: DbConnection) -> Iterator[tuple[str, SecretBinding, str]]:
        """Every envelope held here: (row locator, binding, envelope)."""
        for row in conn.execute(select(organizations.c.id, organizations.c.data_key)
                                .where(organizations.c.data_key.is_not(None))):
            yield f"organization:{row.id}", SecretBinding(row.id, "-", ORG_DATA_KEY_FIELD), row.data_key
        for row in conn.execute(select(connections.c.id, connections.c.org_id,
                                       connections.c.credentials)
                                .where(connections.c.credentials.is_not(None))):
            for name, envelope in json.loads(row.credentials).items():
                yield f"connection:{row.id}:{name}", SecretBinding(row.org_id, row.id, name), envelope
        for row in conn.execute(select(notification_webhooks.c.org_id,
                                       notification_webhooks.c.url_sealed)):
            yield (f"webhook:{row.org_id}", SecretBinding(row.org_id, "-", WEBHOOK_URL_FIELD),
                   row.url_sealed)

    def rewrap_all(self, provider: KeyProvider) -> dict[str, int]:
        """Re-wrap every data key under the provider's current KEK, one row per transaction so an
        interrupted run keeps its progress and a rerun finishes the rest."""
        current = provider.current().kek_id
        counts = {"rewrapped": 0, "already_current": 0}
        with self.engine.connect() as conn:
            pending = [(loc, b, e) for loc, b, e in self.sealed_values(conn)]
        for locator, binding, envelope in pending:
            if envelope_kek_id(envelope) == current:
                counts["already_current"] += 1
                continue
            self._store_rewrapped(locator, rewrap(provider, binding, envelope))
            counts["rewrapped"] += 1
        return counts

    def _store_rewrapped(self, locator: str, envelope: str) -> None:
        kind, row_id, *rest = locator.split(":")
        with self.engine.begin() as conn:
            if kind == "organization":
                conn.execute(update(organizations).where(organizations.c.id == row_id)
                             .values(data_key=envelope))
                return
            if kind == "webhook":
                conn.execute(update(notification_webhooks)
                             .where(notification_webhooks.c.org_id == row_id)
                             .values(url_sealed=envelope))
                return
            sealed = json.loads(conn.execute(select(connections.c.credentials)
                                             .where(connections.c.id == row_id)).scalar_one())
            sealed[rest[0]] = envelope
            conn.execute(update(connections).where(connections.c.id == row_id)
                         .values(credentials=json.dumps(sealed, sort_keys=True)))

    def kek_ids_in_use(self) -> set[str]:
        with self.engine.connect() as conn:
            return {envelope_kek_id(e) for _, _, e in self.sealed_values(conn)}
