"""Read access to an organization's data for people: analysts get the marts only.

An analyst session is an in-memory DuckDB holding copies of the org's mart tables; the org's
file is detached before the analyst's SQL runs, so the metadata schema (names, emails) is out of
reach, not merely hidden. Operators (``--operator``, audited) get the org's file attached
read-only with both schemas. Both get the database, never the file system: external access,
the spill directory and the configuration are locked before the first statement, so no query
reads a local file or writes plaintext rows outside the stores deletion scans (exports go
through ``sieve export``, encrypted). Only reads run: anything else is refused before it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from resources.runtime import Sieve
from resources.storage.control_plane import Organization
from resources.storage.metadata_store import (
    DATABASE_ALIAS,
    MetadataStore,
    StoreError,
    connect_encrypted,
    org_database_path,
    quote_identifier,
)

ANALYST_SCHEMA = "marts"
# DESCRIBE, SHOW, SUMMARIZE, PRAGMA show_tables and FROM-first queries are SELECTs to DuckDB.
# EXPLAIN is not allowed: EXPLAIN ANALYZE runs the statement it explains.
READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT})
METADATA_HINT = " (analysts see the marts only; --operator opens metadata)"


class ReadOnlyError(StoreError):
    pass


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def analyst_session(sieve: Sieve, org: Organization, *, operator: bool) -> duckdb.DuckDBPyConnection:
    path = org_database_path(sieve.settings.orgs_dir, org.id)
    connection = connect_encrypted(path, sieve.control_plane.org_data_key(org), read_only=True)
    try:
        marts = MetadataStore(connection).tables(ANALYST_SCHEMA)
        if operator:
            schemas = [r[0] for r in connection.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ? "
                "AND schema_name IN (?, 'metadata')", [DATABASE_ALIAS, ANALYST_SCHEMA]).fetchall()]
            path = ",".join(f"{DATABASE_ALIAS}.{s}" for s in sorted(schemas, reverse=True))
            if path:
                connection.execute(f"SET search_path = '{path}'")
            _lock_down(connection)
            return connection
        if not marts:
            raise StoreError(f"{org.slug} has no metric tables yet: run `sieve sync {org.slug}` "
                             "first (or pass --operator to query the metadata schema).")
        connection.execute("USE memory")
        for table in marts:
            name = quote_identifier(table)
            connection.execute(f"CREATE TABLE memory.main.{name} AS "
                               f"SELECT * FROM {DATABASE_ALIAS}.{ANALYST_SCHEMA}.{name}")
        connection.execute(f"DETACH {DATABASE_ALIAS}")
        _lock_down(connection)
        return connection
    except BaseException:
        connection.close()
        raise


def _lock_down(connection: duckdb.DuckDBPyConnection) -> None:
    """No file system from here on. DuckDB keeps its spill directory writable when external
    access is off, so a `COPY … TO '<org>/duckdb-tmp/x.csv'` would still write plaintext rows:
    the session spills nowhere instead (the marts fit in memory; an operator's large query fails
    with DuckDB's out-of-memory error rather than writing beside the org's file)."""
    connection.execute("SET temp_directory = ''")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def refuse_writes(sql: str) -> None:
    """Raise ``ReadOnlyError`` unless every statement in ``sql`` only reads, as DuckDB's own
    parser types it (a write on the session's copy would change nothing, yet print success)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise StoreError(f"query failed: {str(error).splitlines()[0]}") from None
    for statement in statements:
        if statement.type not in READ_STATEMENTS:
            kind = statement.type.name.lower()
            raise ReadOnlyError(
                f"query refused: a {kind} statement changes data or settings, and sessions are "
                "read-only. Run SELECT (or DESCRIBE, SHOW, SUMMARIZE) statements; to hand data "
                "over, use `sieve export` or `sieve query --format parquet`.")


def execute_read_only(connection: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
    refuse_writes(sql)
    return connection.execute(sql)


def run_query(sieve: Sieve, org: Organization, sql: str, *, operator: bool = False) -> QueryResult:
    refuse_writes(sql)
    connection = analyst_session(sieve, org, operator=operator)
    try:
        cursor = execute_read_only(connection, sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns, cursor.fetchall() if columns else [])
    except duckdb.Error as error:
        hint = METADATA_HINT if not operator and reads_metadata_schema(sql) else ""
        raise StoreError(f"query failed: {str(error).splitlines()[0]}{hint}") from None
    finally:
        connection.close()


def reads_metadata_schema(sql: str) -> bool:
    """Whether ``sql`` names a ``metadata.<table>``: only then is operator access the likely
    fix for a failed query (a typo or a wrong column is not)."""
    try:
        tables = duckdb.get_table_names(sql, qualified=True)
    except duckdb.Error:
        return False
    return any(name.split(".")[-2:-1] == ["metadata"] for name in tables)
