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

from dagster import DagsterInstance, RunsFilter

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
    return {"runs_deleted": len(run_ids), "partitions_deleted": removed_partition}


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
    """VACUUM every SQLite database under the directory (the embedded instance's storage)."""
    vacuumed = 0
    for path in sorted(Path(directory).rglob("*.db")):
        with path.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                continue
        connection = sqlite3.connect(path)
        try:
            connection.execute("VACUUM")
        finally:
            connection.close()
        vacuumed += 1
    return vacuumed
