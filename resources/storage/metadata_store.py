"""Each organization's encrypted DuckDB database (docs/architecture.md, rules 5, 7, 8).

One file per organization, encrypted with that organization's own data key (kept wrapped by the
KEK in the control plane, so destroying it shreds the file). DuckDB writes encrypted files only
with its httpfs extension loaded; the extension ships in the ``duckdb-extension-httpfs`` pip
package and is loaded from that package's path — never downloaded.

Writes are idempotent upserts by natural key inside one transaction, so a rerun of a killed sync
converges to identical tables. DuckDB allows one writing process per file: a second one gets a
clear ``StoreBusyError`` instead of an obscure lock error.
"""

from __future__ import annotations

import ctypes
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from resources.errors import SieveError
from resources.security.vault import Secret

DATABASE_ALIAS = "org"
METADATA_SCHEMA = "metadata"

# Metadata tables an earlier Sieve wrote and this one no longer declares. A store opened for
# writing drops them, so no sync, deletion or dbt build meets rows that no allow-list, deletion
# path or model covers any more.
RETIRED_TABLES = (
    # Azure DevOps state and iteration transitions, read per work item from /updates until the
    # reporting revisions stream replaced them (azuredevops_work_item_revisions).
    "azuredevops_work_item_updates",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StoreError(SieveError):
    pass


class StoreBusyError(StoreError):
    pass


def httpfs_extension_path() -> Path:
    """The httpfs extension file shipped by the pip package of duckdb's own version."""
    try:
        import duckdb_extension_httpfs
    except ImportError:
        raise StoreError("The duckdb-extension-httpfs package is not installed; it is needed to "
                         "write encrypted databases. Reinstall Sieve (make venv).") from None
    path = (Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
            / "httpfs.duckdb_extension")
    if not path.exists():
        raise StoreError(f"No httpfs extension for duckdb {duckdb.__version__} at {path}: pin "
                         "duckdb-extension-httpfs to the same version as duckdb.")
    return path


# The httpfs file whose signature DuckDB has checked in this process: (device, inode, size,
# change time). DuckDB checks an extension's signature on every LOAD, a hash over httpfs's 21 MB
# that took 60–110 ms of every opened store on this 2-core machine (a sync flush, a query, a
# deletion each open one); a store whose file is still that one loads it unchecked.
_verified_httpfs: tuple[int, int, int, int] | None = None


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino, status.st_size, status.st_ctime_ns


def load_httpfs(config: dict) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with httpfs loaded from its pip package.

    The first load in a process has DuckDB check the file's signature; later ones skip the check
    while the file is unchanged (a change time cannot be set back by its owner), and every
    session then refuses unsigned extensions again, so no SQL run in it can load one.
    """
    global _verified_httpfs
    path = httpfs_extension_path()
    identity = _file_identity(path)
    already_checked = identity == _verified_httpfs
    connection = duckdb.connect(":memory:", config={**config,
                                                    "allow_unsigned_extensions": already_checked})
    try:
        connection.execute(f"LOAD {_sql_string(str(path))}")
        if already_checked:
            connection.execute("SET allow_unsigned_extensions = false")
    except duckdb.Error as error:
        connection.close()
        reason = str(error).splitlines()[0]
        raise StoreError(f"DuckDB could not load its httpfs extension from {path} ({reason}); "
                         "reinstall Sieve (make venv).") from None
    if not already_checked:
        _verified_httpfs = identity
    return connection


def quote_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise StoreError(f"'{name}' is not a valid table or column name.")
    return f'"{name}"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def org_database_path(orgs_dir: Path, org_id: str) -> Path:
    return Path(orgs_dir) / org_id / "sieve.duckdb"


# Storage block size of new organization files. DuckDB keeps a table's not-yet-checkpointed
# appends in whole blocks per column, so with its default 256 KiB blocks a sync writing a few
# thousand rows into every GitHub table holds ~90 MB of mostly empty blocks; 64 KiB blocks cut
# that to a quarter at no measurable cost to the metric builds (bench/results). The size is
# fixed in a file's header when it is created; existing files keep theirs.
NEW_DATABASE_BLOCK_SIZE = 64 * 1024


def attach_encrypted_sql(path: Path, alias: str, key: Secret, *, read_only: bool = False) -> str:
    """The ATTACH statement of an encrypted organization file (created with the new-file block
    size when it does not exist yet)."""
    options = f"ENCRYPTION_KEY {_sql_string(key.reveal())}"
    if read_only:
        options += ", READ_ONLY"
    elif not Path(path).exists():
        options += f", BLOCK_SIZE {NEW_DATABASE_BLOCK_SIZE}"
    return f"ATTACH {_sql_string(str(path))} AS {quote_identifier(alias)} ({options})"


def connect_encrypted(path: Path, key: Secret, *, read_only: bool = False,
                      what: str = "organization database",
                      memory_limit_mb: int | None = None,
                      threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the encrypted file attached as ``org`` and in use.

    The key travels only inside the ATTACH statement of this process; it is never written to a
    file, a profile or a log. ``memory_limit_mb`` caps DuckDB's buffer pool (cached blocks and
    indexes are evicted, and large operators spill to the encrypted temp directory, rather than
    grow with the organization); ``threads`` bounds DuckDB's worker threads, each of which keeps
    buffers of its own.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"No {what} at {path}: the organization has not been synced yet "
                         "(run `sieve sync SLUG`).")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    connection = load_httpfs({
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        # Spills of large sorts/joins stay beside the org's file (and are encrypted by DuckDB).
        "temp_directory": str(path.parent / "duckdb-tmp"),
    })
    try:
        if memory_limit_mb is not None:
            connection.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        if threads is not None:
            connection.execute(f"SET threads = {int(threads)}")
        connection.execute(attach_encrypted_sql(path, DATABASE_ALIAS, key, read_only=read_only))
        connection.execute(f"USE {DATABASE_ALIAS}")
    except duckdb.Error as error:
        connection.close()
        raise _explain(error, path, what) from None
    return connection


def _explain(error: duckdb.Error, path: Path, what: str) -> StoreError:
    text = str(error)
    if "lock" in text.lower():
        return StoreBusyError(f"The {what} at {path} is busy: a sync or deletion is writing it. "
                              "Retry when it finishes, or read the last published Parquet export.")
    if "key" in text.lower() or "encrypt" in text.lower() or "decrypt" in text.lower():
        return StoreError(f"The {what} at {path} cannot be opened with this organization's data "
                          "key (wrong key, or the file belongs to another organization).")
    return StoreError(f"The {what} at {path} could not be opened: {type(error).__name__}.")


@dataclass(frozen=True)
class TableSpec:
    """What the store needs to know of a table: columns with DuckDB types, and its natural key.

    The natural key is NOT NULL and unique by construction (every write is ``upsert``), but it
    is deliberately not a PRIMARY KEY: DuckDB backs a primary key with an ART index that must
    stay in memory and grows with the table (about 150 bytes a row for our composite text
    keys), so a sync's memory would grow with the organization — and under a memory limit a
    large first sync would fail. ``upsert`` replaces rows with a join on the key instead.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def create_sql(self, schema: str = METADATA_SCHEMA, *, table: str | None = None) -> str:
        columns = ", ".join(f"{quote_identifier(n)} {t}" + (" NOT NULL" if n in self.key else "")
                            for n, t in self.columns)
        return (f"CREATE TABLE IF NOT EXISTS {schema}.{quote_identifier(table or self.name)} "
                f"({columns})")



def _arrow_table(columns: dict):
    """pyarrow is loaded by writers only, so read-only commands (``sieve query``) start faster."""
    import pyarrow

    return pyarrow.table(columns)

class MetadataStore:
    """Upserts and reads on one organization's attached database."""

    def __init__(self, connection: duckdb.DuckDBPyConnection,
                 reconnect: Callable[[], duckdb.DuckDBPyConnection] | None = None):
        self.connection = connection
        self._reconnect = reconnect

    def reopen(self) -> None:
        """Close the connection and attach the file afresh; call it between transactions.

        DuckDB keeps state for an attached database that grows with the rows its connection
        has written and that its memory limit does not cover (RSS kept rising by ~25 MB over
        a sync of 80,000 records, measured), so a long writer — the sync of a large
        organization — reopens its store now and then to shed it. Closing checkpoints the
        file; the heap the old connection freed is handed back to the operating system. A
        store over a connection it did not open (an in-memory database in tests) is kept as
        it is.
        """
        if self._reconnect is None:
            return
        self.connection.close()
        self.connection = self._reconnect()
        return_freed_heap()

    def drop_retired_tables(self) -> list[str]:
        """Drop the RETIRED_TABLES this store still holds; returns their names."""
        present = [name for name in self.tables() if name in RETIRED_TABLES]
        for name in present:
            self.connection.execute(
                f'DROP TABLE {DATABASE_ALIAS}.{METADATA_SCHEMA}."{name}"')
        return present

    def ensure_tables(self, tables: Iterable[TableSpec], schema: str = METADATA_SCHEMA) -> None:
        self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        keyed = {r[0] for r in self.connection.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE database_name = ? "
            "AND schema_name = ? AND constraint_type = 'PRIMARY KEY'",
            [DATABASE_ALIAS, schema]).fetchall()}
        present = self._columns(schema)
        not_null = self._not_null_columns(schema)
        for table in tables:
            if table.name in keyed:
                self._drop_primary_key(table, schema)
            self.connection.execute(table.create_sql(schema))
            if table.name in present:
                self._add_missing_columns(table, schema, present[table.name])
                self._relax_former_key(table, schema, not_null.get(table.name, set()))

    def _columns(self, schema: str) -> dict[str, set[str]]:
        """The columns of each table the schema holds."""
        present: dict[str, set[str]] = {}
        for table, column in self.connection.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE "
                f"table_catalog = {_sql_string(DATABASE_ALIAS)} AND table_schema = "
                f"{_sql_string(schema)}").fetchall():
            present.setdefault(table, set()).add(column)
        return present

    def _not_null_columns(self, schema: str) -> dict[str, set[str]]:
        """The NOT NULL columns of each table the schema holds."""
        found: dict[str, set[str]] = {}
        for table, columns in self.connection.execute(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE "
                "database_name = ? AND schema_name = ? AND constraint_type = 'NOT NULL'",
                [DATABASE_ALIAS, schema]).fetchall():
            found.setdefault(table, set()).update(columns)
        return found

    def _relax_former_key(self, table: TableSpec, schema: str, not_null: set[str]) -> None:
        """Files written while the table had another natural key: its former key columns may
        now be empty (a source that cannot fill them), so they lose NOT NULL."""
        for name in sorted(not_null - set(table.key)):
            self.connection.execute(f"ALTER TABLE {schema}.{quote_identifier(table.name)} "
                                    f"ALTER COLUMN {quote_identifier(name)} DROP NOT NULL")

    def _add_missing_columns(self, table: TableSpec, schema: str, present: set[str]) -> None:
        """Files written by an earlier version whose allow-list had fewer columns: add the new
        ones (NULL in the rows already kept, filled as records are fetched again)."""
        missing = [(name, type_) for name, type_ in table.columns if name not in present]
        lacking_key = [name for name, _ in missing if name in table.key]
        if lacking_key:
            raise StoreError(
                f"Table {schema}.{table.name} lacks its key column {lacking_key[0]}: a key "
                "cannot be added to kept rows. Delete and re-sync the connection that fills it.")
        for name, type_ in missing:
            self.connection.execute(f"ALTER TABLE {schema}.{quote_identifier(table.name)} "
                                    f"ADD COLUMN {quote_identifier(name)} {type_}")

    def _drop_primary_key(self, table: TableSpec, schema: str) -> None:
        """Files written before natural keys stopped being primary keys: rebuild the table
        without one (same rows, same columns) in one transaction."""
        name = f"{schema}.{quote_identifier(table.name)}"
        staging = f"{schema}.{quote_identifier(table.name + '__rekeyed')}"
        with self.transaction():
            self.connection.execute(f"DROP TABLE IF EXISTS {staging}")
            self.connection.execute(table.create_sql(schema, table=table.name + "__rekeyed"))
            self.connection.execute(f"INSERT INTO {staging} SELECT * FROM {name}")
            self.connection.execute(f"DROP TABLE {name}")
            self.connection.execute(f"ALTER TABLE {staging} RENAME TO {quote_identifier(table.name)}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def upsert(self, table: TableSpec, rows: Sequence[dict],
               schema: str = METADATA_SCHEMA) -> int:
        """Insert or replace rows by natural key; the last of duplicate keys in a batch wins."""
        if not rows:
            return 0
        unique = {tuple(row[k] for k in table.key): row for row in rows}
        names = table.column_names
        batch = {name: [row.get(name) for row in unique.values()] for name in names}
        casts = ", ".join(f"CAST({quote_identifier(n)} AS {t})" for n, t in table.columns)
        column_list = ", ".join(quote_identifier(n) for n in names)
        self.connection.register("sieve_upsert_batch", _arrow_table(batch))
        try:
            self._delete_matching(table, "sieve_upsert_batch", schema)
            self.connection.execute(
                f"INSERT INTO {schema}.{quote_identifier(table.name)} ({column_list}) "
                f"SELECT {casts} FROM sieve_upsert_batch")
        finally:
            self.connection.unregister("sieve_upsert_batch")
        return len(unique)

    def delete_keys(self, table: TableSpec, keys: Sequence[tuple],
                    schema: str = METADATA_SCHEMA) -> int:
        if not keys:
            return 0
        columns = {k: [key[i] for key in keys] for i, k in enumerate(table.key)}
        self.connection.register("sieve_deleted_keys", _arrow_table(columns))
        try:
            self._delete_matching(table, "sieve_deleted_keys", schema)
        finally:
            self.connection.unregister("sieve_deleted_keys")
        return len(keys)

    def _delete_matching(self, table: TableSpec, relation: str, schema: str) -> None:
        """Delete the rows whose natural key is in ``relation`` (one hash join on the key)."""
        target = f"{schema}.{quote_identifier(table.name)}"
        types = dict(table.columns)
        keys = ", ".join(f"CAST({quote_identifier(k)} AS {types[k]}) AS {quote_identifier(k)}"
                         for k in table.key)
        matches = " AND ".join(f"{target}.{quote_identifier(k)} = batch.{quote_identifier(k)}"
                               for k in table.key)
        self.connection.execute(f"DELETE FROM {target} USING (SELECT {keys} FROM {relation}) "
                                f"AS batch WHERE {matches}")

    def row_count(self, table: str, schema: str = METADATA_SCHEMA) -> int:
        return self.connection.execute(
            f"SELECT count(*) FROM {schema}.{quote_identifier(table)}").fetchone()[0]

    def tables(self, schema: str = METADATA_SCHEMA) -> list[str]:
        # Literals, not bound parameters: DuckDB loads pandas (~1 s) to bind the first parameter
        # of a process, which read-only commands such as `sieve query` would pay for nothing.
        return [r[0] for r in self.connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
            f"{_sql_string(DATABASE_ALIAS)} AND table_schema = {_sql_string(schema)} "
            "ORDER BY table_name").fetchall()]

    def close(self) -> None:
        self.connection.close()


@contextmanager
def open_store(path: Path, key: Secret, *, read_only: bool = False,
               memory_limit_mb: int | None = None,
               threads: int | None = None) -> Iterator[MetadataStore]:
    reconnect = functools.partial(connect_encrypted, path, key, read_only=read_only,
                                  memory_limit_mb=memory_limit_mb, threads=threads)
    store = MetadataStore(reconnect(), reconnect)
    try:
        if not read_only:
            store.drop_retired_tables()
        yield store
    finally:
        store.close()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def return_freed_heap() -> None:
    """Give the C heap's free pages back to the operating system: glibc keeps what DuckDB frees
    after each transaction for reuse, and the scattered free pages count in the process's RSS.
    Nothing to do where the C library is not glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
