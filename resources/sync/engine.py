"""The sync engine: raw pages in memory → allow-listed rows → idempotent upserts → cursors.

Connector-agnostic. For each ``RawBatch`` a connector yields, the records are projected onto the
entity's declared schema (undeclared fields dropped, kept text scrubbed), upserted by natural key
in one transaction, and only then are the batch's cursors and validators committed. The raw page
is dropped as soon as it is projected: memory holds one page at a time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow

from resources.errors import SieveError
from resources.http import (
    RateLimitExhaustedError,
    SourceUnavailableError,
    SourceUnreachableError,
)
from resources.retention.tombstones import TombstoneCheck
from resources.runtime import Sieve
from resources.security.pii import PiiScrubber
from resources.sources import ENTITIES, connector_class
from resources.sources.allow_list import Entity
from resources.sources.connector import Connector, ConnectorContext, RawBatch, SyncState
from resources.storage.control_plane.credentials import credential_health, mark_used
from resources.storage.metadata_store import (
    MetadataStore,
    TableSpec,
    open_store,
    org_database_path,
    return_freed_heap,
)
from resources.storage.org_config import load_org_config
from resources.sync.extraction import project_many
from resources.sync.identities import (
    IDENTITY_ACCOUNTS,
    PEOPLE,
    cluster_people,
    gather_accounts,
    identity_rows,
    person_references,
)
from resources.sync.local_emulator import ensure_local_emulator


def table_spec(declared: Entity) -> TableSpec:
    """The store's view of an allow-listed entity: typed columns and the natural key."""
    columns = (("connection_id", "VARCHAR"), *((c.name, c.type) for c in declared.columns))
    return TableSpec(declared.table, columns, declared.primary_key)


@dataclass
class SyncSummary:
    """Counts only — safe for logs and Dagster metadata."""

    source: str
    connection_id: str
    pages: int = 0
    pages_not_modified: int = 0
    records_fetched: int = 0
    records_refused: int = 0
    # Fields refused or normalised (and records refused), by "entity.column: reason".
    refusals: Counter = field(default_factory=Counter)
    rows_upserted: Counter = field(default_factory=Counter)
    # Items listed but not fetched whole (per entity): pending, fetched again by the next sync.
    items_pending: Counter = field(default_factory=Counter)
    # Rows dropped or cleaned because they were about someone forgotten (tombstones).
    rows_forgotten: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    http: dict = field(default_factory=dict)
    # Why the connection could not be synced (a people-facing message), when it could not.
    failure: str | None = None
    # Why it was not even tried (a person must connect it again first), when so: a skip is
    # reported, not failed again each night.
    skipped: str | None = None
    # The people-facing error behind ``failure``, and whether syncing again soon may help.
    error: SieveError | None = None
    retry_may_help: bool = False

    def as_metadata(self) -> dict:
        return {
            "pages": self.pages,
            "pages_not_modified": self.pages_not_modified,
            "records_fetched": self.records_fetched,
            "records_refused": self.records_refused,
            "fields_refused": dict(sorted(self.refusals.items())),
            "rows_upserted": sum(self.rows_upserted.values()),
            "items_pending": sum(self.items_pending.values()),
            "rows_forgotten": sum(self.rows_forgotten.values()),
            "seconds": round(self.seconds, 3),
            **{f"http_{k}": v for k, v in self.http.items()},
        }


# Projected rows are written in transactions of up to this many rows (fewer when a page carries
# cursors or validators, which are committed right after the rows they describe are durable).
FLUSH_ROWS = 5000

# DuckDB's memory while a sync writes. Its tracked memory — cached table blocks, the rows
# written since the last checkpoint, and the blocks a checkpoint builds — is capped (beyond the
# cap, blocks are evicted or spill to the encrypted temp directory beside the file); without a
# cap its cache grows with the organization (446 MB of RSS at 100k pull requests). A checkpoint
# fills the cap (~30 MB measured), so it is set just above that: the peak stops rising once an
# organization is large enough to reach it.
SYNC_MEMORY_LIMIT_MB = 32

# One DuckDB thread: the sync writes small batches, so more threads buy no speed (measured: same
# sync time), and each thread keeps buffers of its own (RSS 13 MB higher with two).
SYNC_THREADS = 1

# What the cap does not cover — DuckDB's own state for the rows a connection has written — is
# released by reopening the store after this many rows (MetadataStore.reopen, which
# checkpoints), and the heap DuckDB frees is given back after every transaction.
# Measured on the large emulator org: bench/results/sync-100k-prs.json.
REOPEN_STORE_ROWS = 5_000


def sync_connection(connector: Connector, store: MetadataStore, state: SyncState,
                    scrubber: PiiScrubber,
                    tombstones: TombstoneCheck | None = None) -> SyncSummary:
    started = time.monotonic()
    connection_id = connector.context.connection.id
    summary = SyncSummary(connector.source, connection_id)
    declared = {name: connector.declared_entity(name) for name in connector.entities}
    specs = {name: table_spec(entity_) for name, entity_ in declared.items()}
    store.ensure_tables(specs.values())
    pending: dict[str, list[dict]] = {}
    cursors: dict[str, str] = {}
    validators: list = []
    written_since_reopen = 0

    def flush() -> None:
        nonlocal written_since_reopen
        with store.transaction():
            for name, rows in pending.items():
                if tombstones is not None:
                    # Checked before every write: a deletion may have arrived meanwhile.
                    rows, forgotten = tombstones.apply(store, name, rows)
                    summary.rows_forgotten[name] += forgotten
                summary.rows_upserted[name] += upsert_without_values(
                    store, specs[name], rows, connector.context.error_context().describe())
                written_since_reopen += len(rows)
        state.commit(dict(cursors), tuple(validators))
        pending.clear()
        cursors.clear()
        validators.clear()
        if written_since_reopen >= REOPEN_STORE_ROWS:
            store.reopen()
            written_since_reopen = 0
        else:
            return_freed_heap()

    for batch in readable_batches(connector):
        summary.pages += 1
        if batch.not_modified:
            summary.pages_not_modified += 1
        summary.records_fetched += len(batch.records)
        if batch.failed_keys:
            summary.items_pending[batch.entity] += len(batch.failed_keys)
        summary.records_refused += len(batch.refused)
        summary.refusals.update(batch.refused)
        rows = list(project_many(declared[batch.entity], batch.records, connection_id, scrubber,
                                 parent=batch.parent, refusals=summary.refusals))
        summary.records_refused += len(batch.records) - len(rows)
        pending.setdefault(batch.entity, []).extend(rows)
        cursors.update(batch.cursors)
        validators.extend(batch.validators)
        if batch.cursors or batch.validators or sum(map(len, pending.values())) >= FLUSH_ROWS:
            flush()
    flush()
    stats = connector.stats()
    summary.http = stats.as_metadata() if stats else {}
    summary.seconds = time.monotonic() - started
    return summary


class UnreadableRecordError(SieveError):
    """A connector met a record whose shape its own walk cannot read; names no value."""


# What a connector's walk raises on a record of an unexpected shape (a missing updated_at, an
# object where a number belongs); their text may quote the record.
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)


def readable_batches(connector: Connector) -> Iterator[RawBatch]:
    """The connector's batches. A record its walk cannot read stops this connection with an
    error that names the connection and the error's type only, raised unchained."""
    batches = connector.fetch()
    while True:
        failure = None
        try:
            batch = next(batches)
        except StopIteration:
            return
        except SieveError:
            raise
        except _UNREADABLE as error:
            failure = type(error).__name__
        if failure is not None:
            raise UnreadableRecordError(
                f"A record sent to {connector.context.error_context().describe()} does not have "
                f"the shape Sieve's {connector.source} connector reads ({failure}); the "
                "connection stopped there, keeping what it had stored and its cursors, and the "
                "next sync resumes from them. Please report it with this message.")
        yield batch


class StoreWriteError(SieveError):
    """Rows could not be written; the message names the table, never a value."""


def upsert_without_values(store: MetadataStore, spec: TableSpec, rows: list[dict],
                          connection: str) -> int:
    """``store.upsert``, whose errors (DuckDB's "Could not convert string '…'", Arrow's
    conversion errors) quote the values they choke on: only the error's type is kept, and it is
    raised outside the handler so the original is not chained to it."""
    failure = None
    try:
        return store.upsert(spec, rows)
    except (duckdb.Error, pyarrow.ArrowException) as error:
        failure = type(error).__name__
    raise StoreWriteError(
        f"Rows of {spec.name} for {connection} could not be written "
        f"({failure}); nothing of this batch was stored and the cursors did not move. This is a "
        "bug in Sieve's allow-list for this table, not in your setup: please report it with "
        "this message.")


def retry_may_help(error: SieveError) -> bool:
    """The source was down or out of budget: another attempt in a minute may succeed. A host
    that cannot be reached at all (its retries are already bounded), a refused token or a
    wrong setting stays so until a person acts."""
    transient = isinstance(error, (SourceUnavailableError, RateLimitExhaustedError))
    return transient and not isinstance(error, SourceUnreachableError)


def failed_connection(source: str, connection_id: str, error: SieveError) -> SyncSummary:
    return SyncSummary(source, connection_id, failure=str(error), error=error,
                       retry_may_help=retry_may_help(error))


def sync_organization_source(sieve: Sieve, org_id: str, source: str, *,
                             sleep: Callable[[float], None] | None = None,
                             clock: Callable[[], float] | None = None) -> list[SyncSummary]:
    """Sync every active connection of one source for one organization into its database.

    ``sleep`` and ``clock`` replace the HTTP clients' waiting and time (tests)."""
    control_plane = sieve.control_plane
    org = control_plane.organization(org_id)
    connections = [c for c in control_plane.connections(org) if c.source == source]
    if not connections:
        return []
    scrubber = PiiScrubber()
    summaries = []
    path = org_database_path(sieve.settings.orgs_dir, org.id)
    key = control_plane.org_data_key(org)
    config = load_org_config(sieve.settings.home, org.slug)
    delink = config.person_deletion_mode == "delink"
    tombstones = TombstoneCheck(control_plane, org.id, key, delink=delink)
    with open_store(path, key, memory_limit_mb=SYNC_MEMORY_LIMIT_MB,
                    threads=SYNC_THREADS) as store:
        for connection in connections:
            needs_reauth = credential_health(control_plane, connection.id).needs_reauth
            if needs_reauth:
                summaries.append(SyncSummary(source, connection.id, skipped=(
                    f"connection {connection.id!r} needs to be connected again "
                    f"({needs_reauth}); `sieve connections {org.slug}` shows the command.")))
                continue
            state = SyncState(control_plane, connection.id)
            context = ConnectorContext(org.slug, connection, control_plane.credentials(connection),
                                       state, sleep=sleep, clock=clock,
                                       services=config.services,
                                       workflow_names=config.production_workflow_names)
            connector = connector_class(source)(context)
            try:
                ensure_local_emulator(connection.settings)
                summary = sync_connection(connector, store, state, scrubber, tombstones)
            except SieveError as error:
                # A refused token, a dead host, a record the connector cannot walk past: each
                # fails its own connection only; the other connections, and the marts, go on.
                summary = failed_connection(source, connection.id, error)
            else:
                control_plane.mark_synced(connection.id)
                mark_used(control_plane, connection.id)
            summaries.append(summary)
    return summaries


def rebuild_identities(sieve: Sieve, org_id: str) -> dict[str, int]:
    """Recompute identity_accounts and people from the metadata, replacing both in one
    transaction (deterministic, so a rerun gives identical tables)."""
    control_plane = sieve.control_plane
    org = control_plane.organization(org_id)
    config = load_org_config(sieve.settings.home, org.slug)
    key = control_plane.org_data_key(org)
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id), key) as store:
        store.ensure_tables([IDENTITY_ACCOUNTS, PEOPLE])
        references = person_references(ENTITIES.values())
        book = gather_accounts(store.connection, references, set(store.tables()))
        people = cluster_people(book, org_key=key.reveal(), merges=config.identity_merges,
                                splits=config.identity_splits, bot_patterns=config.bot_patterns,
                                teams=config.teams)
        accounts, persons = identity_rows(people)
        with store.transaction():
            store.connection.execute("DELETE FROM metadata.identity_accounts")
            store.connection.execute("DELETE FROM metadata.people")
            store.upsert(IDENTITY_ACCOUNTS, accounts)
            store.upsert(PEOPLE, persons)
    return {"people": len(persons), "accounts": len(accounts),
            "bots": sum(1 for p in persons if p["is_bot"]),
            "people_with_team": sum(1 for p in persons if p["team"])}


def ensure_metadata_tables(sieve: Sieve, org_id: str) -> list[str]:
    """Create every declared metadata table (empty where a source is not connected), so the
    metric models can read all of them for every organization."""
    control_plane = sieve.control_plane
    org = control_plane.organization(org_id)
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id),
                    control_plane.org_data_key(org)) as store:
        store.ensure_tables([table_spec(declared) for declared in ENTITIES.values()])
        store.ensure_tables([IDENTITY_ACCOUNTS, PEOPLE])
        return store.tables()
