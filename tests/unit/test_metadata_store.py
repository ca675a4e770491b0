"""The per-organization encrypted DuckDB store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from resources.metadata_store import (
    StoreError,
    TableSpec,
    connect_encrypted,
    open_store,
)
from resources.vault import Secret

PULLS = TableSpec(
    name="demo_pulls",
    columns=(("connection_id", "VARCHAR"), ("number", "INTEGER"), ("title", "VARCHAR"),
             ("merged_at", "TIMESTAMPTZ")),
    key=("connection_id", "number"),
)
KEY_A = Secret("a" * 64)
KEY_B = Secret("b" * 64)
MARKER = "STORE-CANARY-9c1d"


def rows(*numbers, title="t"):
    return [{"connection_id": "conn_1", "number": n, "title": f"{title}{n}",
             "merged_at": datetime(2026, 3, 29, 1, 30, tzinfo=UTC)} for n in numbers]


def test_upsert_is_idempotent_and_last_duplicate_wins(tmp_path):
    path = tmp_path / "org" / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
        with store.transaction():
            assert store.upsert(PULLS, rows(1, 2, 3) + rows(2, title="again")) == 3
        with store.transaction():
            store.upsert(PULLS, rows(1, 2, 3) + rows(2, title="again"))
        assert store.row_count("demo_pulls") == 3
        assert store.connection.execute(
            "select title from metadata.demo_pulls where number = 2").fetchone() == ("again2",)


def test_failed_transaction_leaves_no_partial_write(tmp_path):
    path = tmp_path / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.upsert(PULLS, rows(1, 2))
                raise RuntimeError("killed mid-sync")
        assert store.row_count("demo_pulls") == 0


def test_file_is_encrypted_and_needs_its_own_key(tmp_path):
    path = tmp_path / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
        store.upsert(PULLS, rows(1, title=MARKER))
        store.connection.execute("CHECKPOINT")
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert MARKER.encode() not in file.read_bytes(), file
    with pytest.raises(StoreError, match="cannot be opened with this organization's data key"):
        connect_encrypted(path, KEY_B, read_only=True)
    with open_store(path, KEY_A, read_only=True) as store:
        assert store.row_count("demo_pulls") == 1


def test_read_only_store_of_an_unsynced_org_says_so(tmp_path):
    with pytest.raises(StoreError, match="has not been synced yet"):
        connect_encrypted(tmp_path / "missing.duckdb", KEY_A, read_only=True)


def test_a_second_writer_process_gets_a_clear_busy_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "sieve.duckdb"
    holder = connect_encrypted(path, KEY_A)
    try:
        probe = (
            "import sys\n"
            "from resources.metadata_store import connect_encrypted, StoreBusyError\n"
            "from resources.vault import Secret\n"
            "try:\n"
            f"    connect_encrypted({str(path)!r}, Secret('a' * 64))\n"
            "except StoreBusyError as e:\n"
            "    print('BUSY', e); sys.exit(0)\n"
            "sys.exit(1)\n")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "is busy" in done.stdout and "Retry" in done.stdout
    finally:
        holder.close()
