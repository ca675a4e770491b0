"""Removing an organization from the Dagster instance.

Runs carry opaque ids only (partition key = org id, deletion runs a request id), so the
instance never holds a person's identifiers. When an organization is deleted, its partition
goes, and so does every run of that partition — run config, tags, event logs and asset
materialization metadata with it. The embedded instance's SQLite files are then vacuumed, so
the deleted rows do not linger in free pages.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dagster import AssetKey, DagsterInstance, RunsFilter
from dagster._core.storage.event_log.schema import AssetKeyTable
from dagster._serdes import serialize_value
from sqlalchemy import select, update

from resources.partitions import organization_partitions
from resources.retention.physical import shred_file, shred_tree

PARTITION_TAG = "dagster/partition"


def purge_organization_runs(instance: DagsterInstance, org_id: str) -> dict[str, int]:
    run_ids = [record.dagster_run.run_id for record in
               instance.get_run_records(RunsFilter(tags={PARTITION_TAG: org_id}))]
    for run_id in run_ids:
        instance.delete_run(run_id)
    removed_partition = 0
    if instance.has_dynamic_partition(organization_partitions.name, org_id):
        instance.delete_dynamic_partition(organization_partitions.name, org_id)
        removed_partition = 1
    asset_keys = list(instance.all_asset_keys())
    if asset_keys:
        # Cached partition status lists partition keys; it is recomputed from the events left.
        instance.wipe_asset_cached_status(asset_keys)
    return {"runs_deleted": len(run_ids), "partitions_deleted": removed_partition,
            "latest_materializations_repointed": repoint_latest_materializations(instance,
                                                                                 org_id)}


def repoint_latest_materializations(instance: DagsterInstance, org_id: str) -> int:
    """Dagster keeps a copy of each asset's latest materialization event beside the event log
    (``asset_keys.last_materialization``); deleting runs does not touch it. Where that copy is
    of the deleted org's partition, point it at the latest event left (or at none).

    Dagster offers no public call for this: the row is updated through the event log
    storage's own SQL connection, which is the same for SQLite and PostgreSQL storage."""
    storage = instance.event_log_storage
    with storage.index_connection() as conn:
        rows = conn.execute(select(AssetKeyTable.c.asset_key).where(
            AssetKeyTable.c.last_materialization.contains(org_id))).fetchall()
    for (db_key,) in rows:
        asset_key = AssetKey.from_db_string(db_key)
        remaining = instance.fetch_materializations(asset_key, limit=1).records
        latest = remaining[0] if remaining else None
        with storage.index_transaction() as conn:
            conn.execute(update(AssetKeyTable).where(AssetKeyTable.c.asset_key == db_key).values(
                last_materialization=serialize_value(latest) if latest else None,
                last_run_id=latest.run_id if latest else None))
    return len(rows)


def remove_named_paths(dagster_home: Path, org_id: str) -> int:
    """Files or directories whose name holds the org id (an IO manager's per-partition
    outputs), shredded."""
    removed = 0
    for path in sorted(Path(dagster_home).rglob(f"*{org_id}*"), key=lambda p: len(p.parts)):
        if not path.exists():
            continue
        if path.is_dir():
            shred_tree(path)
        else:
            shred_file(path)
        removed += 1
    return removed


def vacuum_sqlite_files(directory: Path) -> int:
    """VACUUM every SQLite database under the directory (the embedded instance's storage), then
    fold its write-ahead log into it and empty the log: a WAL file keeps the pages of deleted
    rows until it is reset, and the instance keeps its connections open
    (pipelines/instance_storage.py), so it is not reset by a last close."""
    vacuumed = 0
    for path in sorted(Path(directory).rglob("*.db")):
        with path.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                continue
        connection = sqlite3.connect(path)
        try:
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        vacuumed += 1
    return vacuumed
