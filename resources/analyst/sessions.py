"""Read access to an organization's data for people: analysts get the marts only.

An analyst session is an in-memory DuckDB holding copies of the org's mart tables; the org's
file is detached before the analyst's SQL runs and external access is switched off, so the
metadata schema (names, emails) is out of reach, not merely hidden. Operators (``--operator``,
audited) get the org's file attached read-only with both schemas.
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
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        return connection
    except BaseException:
        connection.close()
        raise


def run_query(sieve: Sieve, org: Organization, sql: str, *, operator: bool = False) -> QueryResult:
    connection = analyst_session(sieve, org, operator=operator)
    try:
        cursor = connection.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns, cursor.fetchall() if columns else [])
    except duckdb.Error as error:
        hint = "" if operator else " (analysts see the marts only; --operator opens metadata)"
        raise StoreError(f"query failed: {str(error).splitlines()[0]}{hint}") from None
    finally:
        connection.close()
