"""Carrying out one deletion request end to end: delete, rewrite, verify, certify.

``execute_request`` is what the Dagster deletion jobs (and ``sieve retention run``) call. It
waits while a sync holds the org's database (DuckDB allows one writer; the sync honours the
request's tombstone meanwhile), and records the outcome as a certificate — scope, time, rows
per table, verification result, a salted hash of the subject — in the request and in the
hash-chained audit log. A request already done is not redone: rerunning it yields a
certificate that says so.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update

from resources.analyst.exports import export_marts
from resources.errors import SieveError
from resources.http.errors import InvalidBaseUrlError, SourceRequestError
from resources.notifications.delivery import forget_person_notifications
from resources.partitions import organization_partitions
from resources.retention import requests as reqs
from resources.retention.instance import (
    purge_organization_runs,
    remove_named_paths,
    vacuum_sqlite_files,
)
from resources.retention.person import (
    existing_tables,
    forget_in_derived,
    forget_in_metadata,
    resolve_person,
    table_columns,
)
from resources.retention.physical import rewrite_database, shred_file, shred_tree, withdraw_exports
from resources.retention.settings_file import forget_in_settings_file, settings_file_names
from resources.retention.subjects import PersonIdentifiers, certificate_hash, normalize_identifier
from resources.retention.tombstones import record_tombstones
from resources.retention.upstream import (
    UpstreamListing,
    delete_gone_upstream,
    keys_still_upstream,
)
from resources.retention.verify import (
    SqlCheck,
    files_under,
    scan_files,
    sql_check_connection,
    sql_check_person,
)
from resources.runtime import Sieve
from resources.security.vault import Secret
from resources.storage.control_plane import Organization
from resources.storage.control_plane.schema import (
    connections,
    credential_state,
    deletion_requests,
    grants,
    notification_deliveries,
    notification_webhooks,
    organizations,
    sync_state,
)
from resources.storage.metadata_store import (
    DATABASE_ALIAS,
    METADATA_SCHEMA,
    MetadataStore,
    StoreBusyError,
    open_store,
    org_database_path,
    quote_identifier,
)
from resources.storage.org_config import config_path, load_org_config
from resources.sync.engine import rebuild_identities

STORE_WAIT_SECONDS = 900.0
# Errors a source can answer a listing with (bad token, outage, rate limit): not the job's.
PEOPLE_FACING_ERRORS = (SieveError, SourceRequestError, InvalidBaseUrlError)
MartsBuilder = Callable[[Sieve, str], object]


class DeletionError(SieveError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def store_when_free(path: Path, key: Secret, *, wait_seconds: float,
                    sleep: Callable[[float], None]) -> Iterator[MetadataStore]:
    """The org's database, once no sync holds it (polling; a sync holds it for minutes)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with open_store(path, key) as store:
                yield store
            return
        except StoreBusyError:
            if time.monotonic() >= deadline:
                raise
            sleep(1.0)


class _Deletion:
    """State of one execution, gathered into the certificate."""

    def __init__(self, sieve: Sieve, request: reqs.DeletionRequest, *, instance,
                 rebuild_marts: MartsBuilder | None, wait_seconds: float, sleep):
        self.sieve = sieve
        self.control_plane = sieve.control_plane
        self.request = request
        self.instance = instance
        self.rebuild_marts = rebuild_marts
        self.wait_seconds = wait_seconds
        self.sleep = sleep
        self.started_at = _now()
        self.rows: Counter = Counter()
        self.details: dict = {}
        self.verification: dict = {}
        self.verified = False
        self.subject_for_hash = request.subject_ref or request.org_id

    @property
    def org(self) -> Organization:
        return self.control_plane.organization(self.request.org_id)

    @property
    def database_path(self) -> Path:
        return org_database_path(self.sieve.settings.orgs_dir, self.request.org_id)

    def store(self, key: Secret):
        return store_when_free(self.database_path, key, wait_seconds=self.wait_seconds,
                               sleep=self.sleep)

    def plaintext_store_files(self, *, control_plane: bool = True) -> list[Path]:
        """Every store file a byte could be read from in clear: the org's directory (spills,
        dbt logs, leftovers) but its encrypted database — the SQL check reads inside that —,
        the Dagster instance, and the SQLite control plane. (A PostgreSQL control plane or
        Dagster storage has no files here: the certificate says so; its dump is scanned by the
        PostgreSQL tests.)"""
        roots = [self.database_path.parent, self.sieve.settings.dagster_home]
        url = self.control_plane.engine.url
        sqlite = url.get_backend_name() == "sqlite" and bool(url.database)
        self.details["control_plane_files_scanned"] = sqlite and control_plane
        if control_plane and sqlite:
            roots.append(Path(url.database))
        return [p for p in files_under(*roots) if p != self.database_path]

    def after_change(self, key: Secret) -> None:
        """Rebuild what derives from the metadata, rewrite the file physically, and replace
        the published exports (every generation may hold the subject) by fresh ones."""
        if self.rebuild_marts is not None:
            try:
                self.rebuild_marts(self.sieve, self.request.org_id)
                self.details["marts_rebuilt"] = True
            except SieveError as error:
                # Mart rows of the subject were already removed; the next sync rebuilds them.
                self.details["marts_rebuilt"] = False
                self.details["marts_rebuild_error"] = type(error).__name__
        self.details["database"] = rewrite_database(self.database_path, key)
        withdrawn = withdraw_exports(self.database_path.parent)
        self.details["exports_withdrawn"] = withdrawn
        if withdrawn:
            try:
                export_marts(self.sieve, self.org)
                self.details["exports_republished"] = True
            except SieveError as error:
                # Withdrawn is safe; the next export run publishes them again.
                self.details["exports_republished"] = False
                self.details["exports_error"] = type(error).__name__

    # --- person -----------------------------------------------------------------------------

    def person(self) -> None:
        org = self.org
        key = self.control_plane.org_data_key(org)
        if self.request.subject_kind == "person":
            subject = self.request.subject_ref
        else:
            sealed = reqs.open_subject(self.control_plane, self.request)
            if sealed is None:
                raise DeletionError(f"Deletion request {self.request.id} has no subject left "
                                    "to forget (it was wiped); record a new request.")
            subject = sealed.reveal()
        self.subject_for_hash = subject
        mode = load_org_config(self.sieve.settings.home, org.slug).person_deletion_mode
        self.details["mode"] = mode
        person = PersonIdentifiers()
        if self.database_path.exists():
            with self.store(key) as store:
                person = resolve_person(store.connection, self.request.subject_kind, subject)
                # What their signals' notifications were recorded as goes before their rows.
                self.details["notification_records"] = forget_person_notifications(
                    self.control_plane, org, store.connection, key, set(person.person_ids))
                with store.transaction():
                    self.rows += forget_in_metadata(store.connection, person, mode=mode)
                    self.rows += forget_in_derived(store.connection, person, mode=mode)
                    self.details["tombstones"] = record_tombstones(store, key, person,
                                                                   self.request.id)
            if self.rows:
                self.after_change(key)
        self.details["settings_file"] = forget_in_settings_file(self.sieve.settings.home,
                                                                org.slug, person)
        self.details["identifiers"] = {"person_ids": len(person.person_ids),
                                       "accounts": sum(map(len, person.accounts.values())),
                                       "logins": len(person.logins),
                                       "emails": len(person.emails)}
        self.verify_person(key, person)

    def sql_check(self, key: Secret, check: Callable[..., SqlCheck], subject) -> dict:
        """Run an SQL check on the org's database (none to check when it was never synced)."""
        if not self.database_path.exists():
            return SqlCheck().as_dict()
        with self.store(key) as store:
            return check(store.connection, subject).as_dict()

    def verify_person(self, key: Secret, person: PersonIdentifiers) -> None:
        sql = self.sql_check(key, sql_check_person, person)
        scan = scan_files(self.plaintext_store_files(), person.scannable())
        self.verification = {"sql": sql, "bytes": scan.as_dict(self.sieve.settings.home)}
        # References were removed above; anything left (a pattern, a comment) is the
        # operator's to edit, and the deletion is not verified until they have.
        named = settings_file_names(self.sieve.settings.home, self.org.slug, person)
        self.verification["settings_file_names_subject"] = named
        self.verified = sql["hits"] == 0 and not scan.hits and not named

    @property
    def matched_nothing(self) -> bool:
        """A person request whose subject named no row and no setting: nothing was erased,
        which usually means a mistyped or unknown identifier."""
        return (self.request.scope == "person" and not self.rows
                and not self.details.get("settings_file"))

    # --- connection -------------------------------------------------------------------------

    def connection(self) -> None:
        connection_id = self.request.subject_ref
        record = self.control_plane.connection(connection_id)
        if record.status != "removed":
            self.control_plane.remove_connection(record)
        self.details["credential_revocation"] = self.revocation_at_removal(connection_id)
        org = self.org
        key = self.control_plane.org_data_key(org)
        if self.database_path.exists():
            with self.store(key) as store:
                with store.transaction():
                    self.rows += delete_connection_rows(store, connection_id)
            if self.rows:
                rebuild_identities(self.sieve, org.id)
                self.after_change(key)
        with self.control_plane.transaction() as conn:
            # A sync that was running when the connection was removed may have committed
            # cursors after the removal wiped them.
            conn.execute(delete(sync_state).where(sync_state.c.connection_id == connection_id))
        self.verify_connection(key, connection_id)

    def revocation_at_removal(self, connection_id: str) -> str:
        """What `sieve disconnect` did to the credentials at their source (revoked, or why not),
        as its audit entry recorded it when the connection was removed."""
        removed = [e for e in self.sieve.audit.entries(org_id=self.request.org_id)
                   if e.action == "connection.removed" and e.target == connection_id]
        if removed and removed[-1].details.get("revocation"):
            return removed[-1].details["revocation"]
        return ("not attempted: the connection was removed without `sieve disconnect`; its "
                "credentials were wiped here, and delete them where they were created")

    def verify_connection(self, key: Secret, connection_id: str) -> None:
        sql = self.sql_check(key, sql_check_connection, connection_id)
        with self.control_plane.engine.connect() as conn:
            credentials = conn.execute(select(connections.c.credentials).where(
                connections.c.id == connection_id)).scalar_one()
            cursors = conn.execute(select(func.count()).select_from(sync_state).where(
                sync_state.c.connection_id == connection_id)).scalar_one()
        # The control plane keeps the removed connection's record (id, source, status).
        scan = scan_files(self.plaintext_store_files(control_plane=False), [connection_id])
        self.verification = {"sql": sql, "bytes": scan.as_dict(self.sieve.settings.home),
                             "control_plane": {"credentials_wiped": credentials is None,
                                               "sync_state_rows": cursors}}
        self.verified = (sql["hits"] == 0 and not scan.hits and credentials is None
                         and cursors == 0)

    # --- organization -----------------------------------------------------------------------

    def organization(self) -> None:
        org = self.org
        if self.instance is None:
            raise DeletionError(f"Deleting organization {org.id} needs the Dagster instance to "
                                "purge its partition and runs from; run it as the "
                                "purge_organization job or `sieve retention run`.")
        needles: set[str] = set()
        if org.status != "deleted":
            key = self.control_plane.org_data_key(org)
            if self.database_path.exists():
                # Opened (waiting for a running sync to finish) only to count and collect
                # what must be gone afterwards; shredded right after it is closed.
                with self.store(key) as store:
                    needles = org_identifiers(store)
                    self.rows += row_counts(store)
            self.shred_organization(org)
        else:
            self.details["already_deleted"] = True
        self.verify_organization(org, needles | {org.id})

    def shred_organization(self, org: Organization) -> None:
        org_dir = self.database_path.parent
        self.details["bytes_shredded"] = shred_tree(org_dir)
        shred_file(config_path(self.sieve.settings.home, org.slug))
        with self.control_plane.transaction() as conn:
            org_connections = select(connections.c.id).where(connections.c.org_id == org.id)
            conn.execute(delete(sync_state).where(sync_state.c.connection_id.in_(org_connections)))
            conn.execute(delete(credential_state).where(
                credential_state.c.connection_id.in_(org_connections)))
            # Its webhook's sealed URL goes with its credentials, and what was sent to it.
            for table in (notification_deliveries, notification_webhooks):
                conn.execute(delete(table).where(table.c.org_id == org.id))
            # Access to an organization that no longer exists: its grants go with it.
            self.details["grants_deleted"] = conn.execute(
                delete(grants).where(grants.c.org_id == org.id)).rowcount
            self.details["connections_deleted"] = conn.execute(
                delete(connections).where(connections.c.org_id == org.id)).rowcount
            # Crypto-shredding: without its data key no copy of the org's files can be opened.
            conn.execute(update(organizations).where(organizations.c.id == org.id).values(
                data_key=None, status="deleted", settings="{}"))
            # Other requests of the org are superseded; their sealed subjects go now.
            conn.execute(update(deletion_requests).where(
                (deletion_requests.c.org_id == org.id) & (deletion_requests.c.id != self.request.id)
                & deletion_requests.c.status.in_(("pending", "running", "failed"))).values(
                status="done", completed_at=_now(), subject_sealed=None))
        self.details["dagster"] = purge_organization_runs(self.instance, org.id)
        self.details["dagster"]["named_paths_removed"] = remove_named_paths(
            self.sieve.settings.dagster_home, org.id)
        self.details["sqlite_files_vacuumed"] = vacuum_sqlite_files(
            self.sieve.settings.dagster_home)

    def verify_organization(self, org: Organization, needles: set[str]) -> None:
        with self.control_plane.engine.connect() as conn:
            data_key = conn.execute(select(organizations.c.data_key).where(
                organizations.c.id == org.id)).scalar_one()
            remaining_connections = conn.execute(select(func.count()).select_from(connections)
                                                 .where(connections.c.org_id == org.id)).scalar_one()
        # The org id itself stays in the control plane's records (the organization row, the
        # requests, the audit log); everything else of the org must be gone everywhere.
        control_plane_needles = needles - {org.id}
        instance_scan = scan_files(files_under(self.sieve.settings.dagster_home), needles)
        control_scan = scan_files(
            [p for p in self.plaintext_store_files() if not p.is_relative_to(
                self.sieve.settings.dagster_home)], control_plane_needles)
        partition_left = self.instance.has_dynamic_partition(organization_partitions.name,
                                                             org.id)
        self.verification = {
            "org_directory_exists": self.database_path.parent.exists(),
            "data_key_destroyed": data_key is None,
            "connections_left": remaining_connections,
            "dagster_partition_left": partition_left,
            "bytes": {"dagster_instance": instance_scan.as_dict(self.sieve.settings.home),
                      "other_stores": control_scan.as_dict(self.sieve.settings.home)},
        }
        self.verified = (not self.database_path.parent.exists() and data_key is None
                         and remaining_connections == 0 and not partition_left
                         and not instance_scan.hits and not control_scan.hits)

    # --- out of date ------------------------------------------------------------------------

    def out_of_date(self) -> None:
        org = self.org
        config = load_org_config(self.sieve.settings.home, org.slug)
        retention_days = config.retention_days
        cutoff = (_now() - timedelta(days=retention_days)).replace(tzinfo=None)
        self.details["retention_days"] = retention_days
        key = self.control_plane.org_data_key(org)
        if not self.database_path.exists():
            self.verification = {"sql": {"rows_older_than_window": 0, "rows_gone_upstream": 0}}
            self.verified = True
            return
        # Listing everything again costs as many requests as a first sync: once a week, on the
        # org's reconcile_weekday (a source it cannot reach gives up within the HTTP layer's
        # unreachable budget and is named in the certificate).
        reconcile = self.request.requested_at.weekday() == config.reconcile_weekday_number
        listings = self.upstream_listings(org) if reconcile else {}
        with self.store(key) as store:
            with store.transaction():
                self.rows += delete_older_than(store, cutoff, delete_rows=True)
                for connection_id, seen in listings.items():
                    self.rows.update({f"{table}.gone_upstream": count for table, count in
                                      delete_gone_upstream(store, connection_id, seen).items()})
        if self.rows:
            rebuild_identities(self.sieve, org.id)
            self.after_change(key)
        with self.store(key) as store:
            old = delete_older_than(store, cutoff, delete_rows=False)
            gone = sum(sum(delete_gone_upstream(store, connection_id, seen,
                                                delete_rows=False).values())
                       for connection_id, seen in listings.items())
        self.verification = {"sql": {"rows_older_than_window": sum(old.values()),
                                     "rows_gone_upstream": gone}}
        self.verified = not old and not gone

    def upstream_listings(self, org: Organization) -> dict[str, UpstreamListing]:
        """What each active connection's source still lists. A source that cannot be listed
        now is left alone this time (and named in the certificate)."""
        listings, unreachable = {}, []
        config = load_org_config(self.sieve.settings.home, org.slug)
        for connection in self.control_plane.connections(org):
            try:
                listings[connection.id] = keys_still_upstream(self.control_plane, org.slug,
                                                              connection, config)
            except PEOPLE_FACING_ERRORS:
                unreachable.append(connection.id)
        self.details["connections_reconciled"] = len(listings)
        if unreachable:
            self.details["connections_not_reachable"] = unreachable
        return listings

    def certificate(self, *, noop: bool) -> dict:
        return {
            "request_id": self.request.id,
            "org_id": self.request.org_id,
            "scope": self.request.scope,
            "subject_kind": self.request.subject_kind,
            "subject_hash": certificate_hash(self.subject_for_hash),
            "requested_at": self.request.requested_at.isoformat(),
            "started_at": self.started_at.isoformat(),
            "completed_at": _now().isoformat(),
            "rows": dict(sorted(self.rows.items())),
            "details": self.details,
            "verification": self.verification,
            "verified": self.verified,
            "noop": noop,
        }


def delete_connection_rows(store: MetadataStore, connection_id: str) -> Counter:
    counts: Counter = Counter()
    for schema in _schemas(store):
        for table in sorted(existing_tables(store.connection, schema)):
            if "connection_id" not in {c for c, _ in table_columns(store.connection, schema, table)}:
                continue
            deleted = store.connection.execute(
                f"DELETE FROM {schema}.{quote_identifier(table)} WHERE connection_id = ?",
                [connection_id]).fetchone()[0]
            if deleted:
                counts[f"{schema}.{table}" if schema != METADATA_SCHEMA else table] += deleted
    return counts


def delete_older_than(store: MetadataStore, cutoff: datetime, *, delete_rows: bool) -> Counter:
    """Rows of metadata tables whose latest timestamp is before the cutoff: deleted, or
    counted. Rows with no timestamp at all (directories) are not dated and stay."""
    counts: Counter = Counter()
    for table in sorted(existing_tables(store.connection, METADATA_SCHEMA)):
        stamps = [quote_identifier(c) for c, t in table_columns(store.connection, METADATA_SCHEMA,
                                                               table) if t.startswith("TIMESTAMP")]
        if not stamps:
            continue
        latest = stamps[0] if len(stamps) == 1 else f"greatest({', '.join(stamps)})"
        verb = "DELETE" if delete_rows else "SELECT count(*)"
        found = store.connection.execute(
            f"{verb} FROM {METADATA_SCHEMA}.{quote_identifier(table)} WHERE {latest} < ?",
            [cutoff]).fetchone()[0]
        if found:
            counts[table] += found
    return counts


def _schemas(store: MetadataStore) -> list[str]:
    return [r[0] for r in store.connection.execute(
        "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_catalog = ? "
        "ORDER BY 1", [DATABASE_ALIAS]).fetchall()]


def row_counts(store: MetadataStore) -> Counter:
    counts: Counter = Counter()
    for schema in _schemas(store):
        for table in existing_tables(store.connection, schema):
            counts[f"{schema}.{table}"] = store.connection.execute(
                f"SELECT count(*) FROM {schema}.{quote_identifier(table)}").fetchone()[0]
    return +counts


def org_identifiers(store: MetadataStore) -> set[str]:
    """Every person identifier of the org worth a byte scan (logins, emails, distinctive
    account keys), to prove none is left anywhere once the org is deleted."""
    if "identity_accounts" not in existing_tables(store.connection, METADATA_SCHEMA):
        return set()
    found: set[str] = set()
    for key, login, email in store.connection.execute(
            "SELECT account_key, login, email FROM metadata.identity_accounts").fetchall():
        for value in (key, login, email):
            if value and len(str(value)) >= 5 and not str(value).isdigit():
                found.add(normalize_identifier(value))
    return found


def _noop_certificate(request: reqs.DeletionRequest) -> dict:
    previous = request.certificate or {}
    return {
        "request_id": request.id, "org_id": request.org_id, "scope": request.scope,
        "subject_kind": request.subject_kind,
        "subject_hash": previous.get("subject_hash"),
        "started_at": _now().isoformat(), "completed_at": _now().isoformat(),
        "rows": {}, "details": {"reason": "already carried out",
                                "original_completed_at": request.completed_at.isoformat()
                                if request.completed_at else None},
        "verification": previous.get("verification", {}),
        "verified": bool(previous.get("verified", True)), "noop": True,
    }


def execute_request(sieve: Sieve, request_id: str, *, instance=None,
                    rebuild_marts: MartsBuilder | None = None,
                    wait_seconds: float = STORE_WAIT_SECONDS,
                    sleep: Callable[[float], None] = time.sleep) -> dict:
    """Carry out one deletion request and return its certificate (also stored in the request
    and appended to the audit log). ``instance`` is the Dagster instance to purge an
    organization from; ``rebuild_marts`` rebuilds the dbt models after a change."""
    control_plane = sieve.control_plane
    request = reqs.get_request(control_plane, request_id)
    if request.status in reqs.FINISHED_STATUSES:
        certificate = _noop_certificate(request)
        sieve.audit.append("deletion.certified", org_id=request.org_id, target=request.id,
                           details=certificate)
        return certificate
    reqs.mark_running(control_plane, request.id)
    deletion = _Deletion(sieve, request, instance=instance, rebuild_marts=rebuild_marts,
                         wait_seconds=wait_seconds, sleep=sleep)
    try:
        {"person": deletion.person, "connection": deletion.connection,
         "organization": deletion.organization, "out_of_date": deletion.out_of_date,
         }[request.scope]()
    except StoreBusyError:
        reqs.mark_pending(control_plane, request.id)
        raise
    except SieveError as error:
        certificate = deletion.certificate(noop=False)
        certificate["error"] = type(error).__name__
        reqs.mark_finished(control_plane, request.id, certificate, verified=False)
        sieve.audit.append("deletion.failed", org_id=request.org_id, target=request.id,
                           details={"scope": request.scope, "error": type(error).__name__})
        raise
    certificate = deletion.certificate(noop=not deletion.rows)
    certificate["matched"] = not deletion.matched_nothing
    reqs.mark_finished(control_plane, request.id, certificate, verified=deletion.verified,
                       matched=not deletion.matched_nothing)
    sieve.audit.append("deletion.certified", org_id=request.org_id, target=request.id,
                       details=certificate)
    if not deletion.verified:
        raise DeletionError(f"Deletion request {request.id} ({request.scope}) did not verify: "
                            "see its certificate (`sieve deletions`); it stays failed until "
                            "rerun.")
    return certificate
