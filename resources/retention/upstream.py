"""Records the source no longer returns (deleted upstream).

Incremental syncs only see what changed, never what disappeared. Reconciling a connection lists
everything once more — the connector run with no cursors and no HTTP validators, nothing
committed — and notes the natural key of every record still there; rows of that connection
whose key is no longer listed are deleted. Only entities the listing returned rows for are
reconciled: an empty listing (a permission change, an outage) never empties a table; nor is an
item that failed during the listing, or anything stored under it, taken for deleted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from resources.security.pii import PiiScrubber
from resources.sources import connector_class, entity
from resources.sources.connector import ConnectorContext
from resources.storage.control_plane import ConnectionRecord, ControlPlane
from resources.storage.metadata_store import METADATA_SCHEMA, MetadataStore, quote_identifier
from resources.storage.org_config import OrgConfig
from resources.sync.engine import table_spec
from resources.sync.extraction import project_many


class FullListingState:
    """A sync state with no cursors and no validators, that commits nothing: the connector
    lists everything, and the connection's real cursors are left as they were."""

    def __init__(self, connection_id: str):
        self.connection_id = connection_id

    def cursor(self, stream: str) -> None:
        return None

    def get(self, key: str) -> None:
        return None

    def put(self, key: str, etag: str | None, last_modified: str | None) -> None:
        """Validators are not kept: the next listing must be complete again."""

    def commit(self, cursors=None, validators=()) -> None:
        """Nothing advances: reconciling does not move the incremental sync."""


@dataclass
class UpstreamListing:
    """What a source lists now: the natural keys per entity, and per entity the parents
    (``RawBatch.parent``) whose records could not all be listed."""

    keys: dict[str, set[tuple]] = field(default_factory=dict)
    incomplete: dict[str, list[dict]] = field(default_factory=dict)


def keys_still_upstream(control_plane: ControlPlane, org_slug: str,
                        connection: ConnectionRecord, config: OrgConfig | None = None
                        ) -> UpstreamListing:
    """Natural keys of every record the source lists now, per entity; workflow runs as a sync
    with the organization's ``config`` lists them (its deploy workflows' only)."""
    config = config or OrgConfig()
    context = ConnectorContext(org_slug, connection, control_plane.credentials(connection),
                               FullListingState(connection.id),
                               workflow_names=config.production_workflow_names)
    connector = connector_class(connection.source)(context)
    scrubber = PiiScrubber()
    listing = UpstreamListing()
    for batch in connector.fetch():
        declared = entity(batch.entity)
        # An item whose fetch failed now is no evidence that it was deleted: keep it, and
        # what is stored under it.
        if batch.failed_keys:
            listing.keys.setdefault(batch.entity, set()).update(batch.failed_keys)
        if batch.incomplete:
            listing.incomplete.setdefault(batch.entity, []).append(batch.parent)
        for row in project_many(declared, batch.records, connection.id, scrubber,
                                parent=batch.parent):
            listing.keys.setdefault(batch.entity, set()).add(
                tuple(row[k] for k in declared.natural_key))
    return listing


def delete_gone_upstream(store: MetadataStore, connection_id: str, listing: UpstreamListing,
                         *, delete_rows: bool = True) -> Counter:
    """Rows of the connection whose key the listing no longer has: deleted, or counted."""
    counts: Counter = Counter()
    existing = set(store.tables())
    for name, keys in sorted(listing.keys.items()):
        declared = entity(name)
        if declared.table not in existing:
            continue
        table = f"{METADATA_SCHEMA}.{quote_identifier(declared.table)}"
        columns = ", ".join(quote_identifier(k) for k in declared.natural_key)
        stored = store.connection.execute(f"SELECT {columns} FROM {table} WHERE connection_id = ?",
                                          [connection_id]).fetchall()
        kept = set(keys)
        for parent in listing.incomplete.get(name, ()):
            under = " AND ".join(f"{quote_identifier(column)} = ?" for column in parent)
            kept.update(store.connection.execute(
                f"SELECT {columns} FROM {table} WHERE connection_id = ? AND {under}",
                [connection_id, *parent.values()]).fetchall())
        gone = [(connection_id, *key) for key in stored if tuple(key) not in kept]
        if gone:
            counts[declared.table] += (store.delete_keys(table_spec(declared), gone)
                                       if delete_rows else len(gone))
    return counts
