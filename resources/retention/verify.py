"""Proving a deletion: the subject's identifiers are absent from SQL results and from the raw
bytes of every store file.

The SQL check reads every table of the org's database (metadata, identities, the dbt
schemas, tombstones excepted: they hold keyed hashes only) — its encrypted file cannot show
anything to a byte scan, so this is the check that sees inside it. The byte scan reads every
file of the plaintext stores — the org's directory (temporary spills, dbt logs, exports), the
SQLite control plane, the Dagster instance — where a stray copy would be readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from resources.retention.person import is_person_column, mentions_sql
from resources.retention.subjects import PersonIdentifiers
from resources.retention.tombstones import TOMBSTONE_SCHEMA
from resources.sources import ENTITIES
from resources.storage.metadata_store import DATABASE_ALIAS, METADATA_SCHEMA, quote_identifier
from resources.sync.identities import person_references

_SCAN_CHUNK = 1 << 22


@dataclass
class ScanResult:
    files: int = 0
    bytes: int = 0
    hits: list[str] = field(default_factory=list)  # "path" where a needle occurs (never which)

    def as_dict(self, root: Path | None = None) -> dict:
        hits = [str(Path(h).relative_to(root)) if root and Path(h).is_relative_to(root) else h
                for h in self.hits]
        return {"files": self.files, "bytes": self.bytes, "hits": len(hits), "hit_files": hits}


def _needle_pattern(needles: Iterable[str]) -> re.Pattern[bytes] | None:
    escaped = sorted({re.escape(n.lower().encode("utf-8")) for n in needles if n}, key=len,
                     reverse=True)
    if not escaped:
        return None
    # Matched on lowercased bytes; a needle must not continue into a longer word either side.
    return re.compile(rb"(?<![a-z0-9_])(?:" + b"|".join(escaped) + rb")(?![a-z0-9_])")


def scan_files(paths: Iterable[Path], needles: Iterable[str]) -> ScanResult:
    """Search every file for any needle, reading in overlapping chunks."""
    pattern = _needle_pattern(needles)
    result = ScanResult()
    overlap = max((len(n.encode()) for n in needles), default=0) + 2
    for path in paths:
        if not path.is_file():
            continue
        result.files += 1
        result.bytes += path.stat().st_size
        if pattern is None:
            continue
        with open(path, "rb") as handle:
            tail = b""
            while chunk := handle.read(_SCAN_CHUNK):
                if pattern.search(tail + chunk.lower()):
                    result.hits.append(str(path))
                    break
                tail = chunk[-overlap:].lower()
    return result


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.rglob("*") if p.is_file()))
    return found


@dataclass
class SqlCheck:
    tables: int = 0
    hits: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"relations_checked": self.tables, "hits": sum(self.hits.values()),
                "hit_relations": dict(sorted(self.hits.items()))}


def _relations(connection) -> list[tuple[str, str]]:
    """Every table (views only read tables, so they hold nothing of their own)."""
    return [(r[0], r[1]) for r in connection.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = ? "
        "AND table_schema <> ? AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        [DATABASE_ALIAS, TOMBSTONE_SCHEMA]).fetchall()]


def sql_check_person(connection, person: PersonIdentifiers) -> SqlCheck:
    """Count rows of every relation where a text or list column holds one of the person's
    identifiers, a person reference holds one of their account keys (the short numeric ones
    too), or a person column holds their person_id."""
    check = SqlCheck()
    identifiers = person.scannable()
    key_columns: dict[str, list] = {}
    for ref in person_references(ENTITIES.values()):
        if ref.system != "email":
            key_columns.setdefault(ref.table, []).append(ref)
    for schema, table in _relations(connection):
        check.tables += 1
        conditions, values = [], []
        for column, data_type in connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                "table_catalog = ? AND table_schema = ? AND table_name = ?",
                [DATABASE_ALIAS, schema, table]).fetchall():
            name = quote_identifier(column)
            if data_type in ("VARCHAR", "VARCHAR[]") and identifiers:
                text = name if data_type == "VARCHAR" else f"array_to_string({name}, ' ')"
                condition, parameters = mentions_sql(text, identifiers)
                conditions.append(condition)
                values.extend(parameters)
            if (is_person_column(column) or column == "account_key") and person.person_ids:
                ids = sorted(person.person_ids | {k for ks in person.accounts.values() for k in ks})
                conditions.append(f"CAST({name} AS VARCHAR) IN ({', '.join('?' for _ in ids)})")
                values.extend(ids)
        if schema == METADATA_SCHEMA:
            for ref in key_columns.get(table, []):
                keys = sorted(person.keys(ref.system))
                if keys:
                    conditions.append(f"CAST({ref.key} AS VARCHAR) IN "
                                      f"({', '.join('?' for _ in keys)})")
                    values.extend(keys)
        if not conditions:
            continue
        hits = connection.execute(
            f"SELECT count(*) FROM {schema}.{quote_identifier(table)} WHERE "
            + " OR ".join(conditions), values).fetchone()[0]
        if hits:
            check.hits[f"{schema}.{table}"] = hits
    return check


def sql_check_connection(connection, connection_id: str) -> SqlCheck:
    check = SqlCheck()
    for schema, table in _relations(connection):
        check.tables += 1
        columns = {r[0] for r in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
            "table_schema = ? AND table_name = ?", [DATABASE_ALIAS, schema, table]).fetchall()}
        if "connection_id" not in columns:
            continue
        hits = connection.execute(
            f"SELECT count(*) FROM {schema}.{quote_identifier(table)} WHERE connection_id = ?",
            [connection_id]).fetchone()[0]
        if hits:
            check.hits[f"{schema}.{table}"] = hits
    return check
