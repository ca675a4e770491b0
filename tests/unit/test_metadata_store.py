"""The per-organization encrypted DuckDB store."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from resources.security.vault import Secret
from resources.storage import metadata_store
from resources.storage.metadata_store import (
    NEW_DATABASE_BLOCK_SIZE,
    RETIRED_TABLES,
    MetadataStore,
    StoreError,
    TableSpec,
    connect_encrypted,
    httpfs_extension_path,
    open_store,
)

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
            "from resources.storage.metadata_store import connect_encrypted, StoreBusyError\n"
            "from resources.security.vault import Secret\n"
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


def _block_size(connection) -> int:
    return connection.execute("SELECT block_size FROM pragma_database_size() "
                              "WHERE database_name = 'org'").fetchone()[0]


def test_new_files_use_small_blocks_and_existing_files_keep_theirs(tmp_path):
    """Small blocks bound what a sync's un-checkpointed appends hold in memory."""
    path = tmp_path / "org" / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
        store.upsert(PULLS, rows(1, 2))
        assert _block_size(store.connection) == NEW_DATABASE_BLOCK_SIZE
    legacy = tmp_path / "legacy.duckdb"
    connection = duckdb.connect(":memory:")
    connection.execute(f"LOAD '{httpfs_extension_path()}'")
    connection.execute(f"ATTACH '{legacy}' AS old (ENCRYPTION_KEY '{KEY_A.reveal()}')")
    connection.execute("CREATE TABLE old.main.t (i INTEGER)")
    connection.close()
    with open_store(legacy, KEY_A) as store:
        assert _block_size(store.connection) == 256 * 1024
        assert store.connection.execute("SELECT count(*) FROM main.t").fetchone()[0] == 0


def test_a_memory_limit_and_a_thread_count_bound_duckdb_for_that_session_only(tmp_path):
    path = tmp_path / "org" / "sieve.duckdb"
    settings = "SELECT current_setting('memory_limit'), current_setting('threads')"
    with open_store(path, KEY_A, memory_limit_mb=96, threads=1) as store:
        limit, threads = store.connection.execute(settings).fetchone()
        assert (limit, threads) == ("91.5 MiB", 1)  # DuckDB reports 96 MB (10^6) in MiB
    with open_store(path, KEY_A) as store:
        limit, threads = store.connection.execute(settings).fetchone()
        default_threads = duckdb.connect().execute(
            "SELECT current_setting('threads')").fetchone()[0]
        assert limit != "91.5 MiB" and threads == default_threads


def test_reopening_a_store_keeps_its_rows_its_settings_and_its_key(tmp_path):
    """A long sync reopens its store to shed DuckDB's per-connection state (resources/sync/engine)."""
    path = tmp_path / "org" / "sieve.duckdb"
    with open_store(path, KEY_A, memory_limit_mb=96, threads=1) as store:
        store.ensure_tables([PULLS])
        with store.transaction():
            store.upsert(PULLS, rows(1, 2))
        before = store.connection
        store.reopen()
        assert store.connection is not before
        assert store.connection.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchone() == ("91.5 MiB", 1)
        with store.transaction():
            store.upsert(PULLS, rows(2, 3, title="new"))
        assert store.connection.execute(
            "SELECT number, title FROM metadata.demo_pulls ORDER BY number").fetchall() == \
            [(1, "t1"), (2, "new2"), (3, "new3")]
    with pytest.raises(duckdb.ConnectionException):
        before.execute("SELECT 1")
    with open_store(path, KEY_A, read_only=True) as store:
        assert store.row_count("demo_pulls") == 3


def test_a_store_over_a_connection_it_did_not_open_is_not_reopened():
    """Reopening an in-memory database would lose it."""
    connection = duckdb.connect()
    store = MetadataStore(connection)
    store.ensure_tables([PULLS])
    store.upsert(PULLS, rows(1))
    store.reopen()
    assert store.connection is connection and store.row_count("demo_pulls") == 1


def test_a_file_written_with_primary_keys_is_rebuilt_without_them_keeping_its_rows(tmp_path):
    path = tmp_path / "org" / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.connection.execute("CREATE SCHEMA metadata")
        store.connection.execute(
            "CREATE TABLE metadata.demo_pulls (connection_id VARCHAR, number INTEGER, "
            "title VARCHAR, merged_at TIMESTAMPTZ, PRIMARY KEY (connection_id, number))")
        store.upsert(PULLS, rows(1, 2))
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
        kinds = [r[0] for r in store.connection.execute(
            "SELECT constraint_type FROM duckdb_constraints() "
            "WHERE table_name = 'demo_pulls'").fetchall()]
        assert "PRIMARY KEY" not in kinds and kinds.count("NOT NULL") == 2
        store.upsert(PULLS, rows(2, 3, title="new"))
        assert store.connection.execute(
            "SELECT number, title FROM metadata.demo_pulls ORDER BY number").fetchall() == \
            [(1, "t1"), (2, "new2"), (3, "new3")]


def test_a_table_kept_by_an_earlier_version_gains_the_new_columns(tmp_path):
    without_title = TableSpec(PULLS.name, tuple(c for c in PULLS.columns if c[0] != "title"),
                              PULLS.key)
    without_key = TableSpec(PULLS.name, tuple(c for c in PULLS.columns if c[0] != "number"),
                            ("connection_id",))
    with open_store(tmp_path / "sieve.duckdb", KEY_A) as store:
        store.ensure_tables([without_title])
        with store.transaction():
            store.upsert(without_title, [{"connection_id": "conn_1", "number": 1}])
        store.ensure_tables([PULLS])
        with store.transaction():
            store.upsert(PULLS, rows(2))
        assert store.connection.execute(
            "select number, title from metadata.demo_pulls order by number").fetchall() == [
                (1, None), (2, "t2")]
    with open_store(tmp_path / "other.duckdb", KEY_A) as store:
        store.ensure_tables([without_key])
        with pytest.raises(StoreError, match="lacks its key column number"):
            store.ensure_tables([PULLS])


def test_a_table_kept_under_a_former_key_takes_rows_without_it(tmp_path):
    """github_deployment_statuses was keyed by id, now by node_id, which GraphQL fills alone."""
    by_number = TableSpec(PULLS.name, PULLS.columns + (("node_id", "VARCHAR"),), PULLS.key)
    by_node_id = TableSpec(PULLS.name, by_number.columns, ("connection_id", "node_id"))
    with open_store(tmp_path / "sieve.duckdb", KEY_A) as store:
        store.ensure_tables([by_number])
        with store.transaction():
            store.upsert(by_number, [{**rows(1)[0], "node_id": "N1"}])
        store.ensure_tables([by_node_id])
        with store.transaction():
            store.upsert(by_node_id, [{**rows(1, title="new")[0], "number": None,
                                       "node_id": "N1"}])
        assert store.connection.execute(
            "SELECT number, title, node_id FROM metadata.demo_pulls").fetchall() == [
                (None, "new1", "N1")]


def test_a_store_opened_for_writing_drops_the_tables_sieve_no_longer_declares(tmp_path):
    """A table no allow-list declares any more (RETIRED_TABLES) would keep rows that no
    deletion path covers: the first write-open drops it; a read-only one leaves it be."""
    path = tmp_path / "sieve.duckdb"
    retired = TableSpec(name="azuredevops_work_item_updates",
                        columns=(("connection_id", "VARCHAR"), ("work_item_id", "INTEGER")),
                        key=("connection_id", "work_item_id"))
    assert retired.name in RETIRED_TABLES
    with open_store(path, KEY_A) as store:
        store.ensure_tables([retired, PULLS])
        store.upsert(retired, [{"connection_id": "conn_1", "work_item_id": 7}])
        # Dropped on open, not while this connection keeps writing it.
        assert retired.name in store.tables()
    with open_store(path, KEY_A, read_only=True) as store:
        assert retired.name in store.tables()
    with open_store(path, KEY_A) as store:
        assert retired.name not in store.tables() and PULLS.name in store.tables()


# --- the httpfs extension: its signature checked once per process and file --------------------

def _signature_broken(path) -> None:
    """Flip a byte of the extension's signature (its last 256 bytes), in place: the file still
    loads where unsigned extensions are allowed, and fails DuckDB's check."""
    with open(path, "r+b") as extension:
        extension.seek(-1, 2)
        last = extension.read(1)
        extension.seek(-1, 2)
        extension.write(bytes([last[0] ^ 0xFF]))


@pytest.fixture
def httpfs_copy(tmp_path, monkeypatch):
    """The store loads httpfs from a copy of the pip package's file, not yet checked here."""
    copy = tmp_path / "extensions" / "httpfs.duckdb_extension"
    copy.parent.mkdir()
    shutil.copyfile(httpfs_extension_path(), copy)
    monkeypatch.setattr(metadata_store, "httpfs_extension_path", lambda: copy)
    return copy


def test_an_httpfs_file_with_a_bad_signature_is_refused(tmp_path, httpfs_copy):
    _signature_broken(httpfs_copy)
    with pytest.raises(StoreError, match="could not load its httpfs extension"):
        with open_store(tmp_path / "org" / "sieve.duckdb", KEY_A):
            pass


def test_an_httpfs_file_changed_after_its_check_is_checked_again(tmp_path, httpfs_copy):
    path = tmp_path / "org" / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
    with open_store(path, KEY_A, read_only=True):  # the same file: loaded without a check
        pass
    _signature_broken(httpfs_copy)
    with pytest.raises(StoreError, match="could not load its httpfs extension"):
        with open_store(path, KEY_A, read_only=True):
            pass


def test_a_store_loaded_without_the_check_still_refuses_unsigned_extensions(tmp_path,
                                                                            httpfs_copy):
    unsigned = tmp_path / "unsigned.duckdb_extension"
    shutil.copyfile(httpfs_copy, unsigned)
    _signature_broken(unsigned)
    path = tmp_path / "org" / "sieve.duckdb"
    with open_store(path, KEY_A) as store:
        store.ensure_tables([PULLS])
    for _ in range(2):  # checked, then not
        with open_store(path, KEY_A, read_only=True) as store:
            with pytest.raises(duckdb.Error, match="signature"):
                store.connection.execute(f"LOAD '{unsigned}'")
