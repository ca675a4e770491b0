"""Encrypted Parquet exports of an organization's metric tables (marts only), for analysts.

Layout, under ``SIEVE_HOME/orgs/<org_id>/exports/``::

    current -> 20260301T020304Z-1a2b      a symlink, swapped atomically on each export
    20260301T020304Z-1a2b/                one generation: one file per mart + manifest.json
        dora_weekly.parquet …

A generation is written in a hidden ``.incoming-…`` directory, renamed into place, and only then
``current`` is pointed at it (rename of a symlink: atomic), so a reader never sees a half-written
export. The previous generation is kept for readers still on it; older ones are removed.

Encryption: Parquet modular encryption (AES-GCM, footer and every column under one key), written
by pyarrow — DuckDB, pyarrow and pandas can all read that form (DuckDB's own encrypted writer is
readable by DuckDB only). The key is the org's *export key*, derived from its data key with
HKDF: deleting the data key shreds the exports too, and the export key handed to an analyst
opens the marts' exports but never the org's database, which also holds names and emails.

DuckDB 1.5 cannot read nested (list/struct) columns of such files, so those are written as JSON
text; the manifest names them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow
import pyarrow.parquet as parquet
import pyarrow.parquet.encryption as parquet_encryption
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from resources.analyst.sessions import (
    ANALYST_SCHEMA,
    analyst_session,
    execute_read_only,
    refuse_writes,
)
from resources.runtime import Sieve
from resources.security.vault import Secret
from resources.storage.control_plane import Organization
from resources.storage.metadata_store import (
    MetadataStore,
    StoreError,
    connect_encrypted,
    org_database_path,
    quote_identifier,
)

EXPORTS_DIRECTORY = "exports"
CURRENT_LINK = "current"
MANIFEST = "manifest.json"
_INCOMING_PREFIX = ".incoming-"
_EXPORT_KEY_INFO = b"sieve parquet export key v1\n"
# Marts stream to their files in batches: an export never holds a whole mart in memory.
BATCH_ROWS = 100_000


class ExportError(StoreError):
    pass


def export_key(org_data_key: Secret, org_id: str) -> Secret:
    """The org's export key: 32 bytes, base64 — the form DuckDB's ``add_parquet_key`` takes."""
    try:
        material = bytes.fromhex(org_data_key.reveal())
    except ValueError:
        raise ExportError(f"The data key of organization {org_id} is not hex; it cannot "
                          "derive an export key.") from None
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_EXPORT_KEY_INFO + org_id.encode()).derive(material)
    return Secret(base64.b64encode(derived).decode("ascii"))


def org_export_key(sieve: Sieve, org: Organization) -> Secret:
    return export_key(sieve.control_plane.org_data_key(org), org.id)


def exports_directory(orgs_dir: Path, org_id: str) -> Path:
    return Path(orgs_dir) / org_id / EXPORTS_DIRECTORY


def current_export(orgs_dir: Path, org_id: str) -> Path:
    """Where analysts read the latest published export: ``exports/current/<mart>.parquet``."""
    return exports_directory(orgs_dir, org_id) / CURRENT_LINK


def _encryption(key: Secret) -> parquet_encryption.FileEncryptionProperties:
    return parquet_encryption.create_encryption_properties(base64.b64decode(key.reveal()))


def decryption_properties(key: Secret) -> parquet_encryption.FileDecryptionProperties:
    """What pyarrow/pandas readers pass as ``decryption_properties`` (see docs/analysts.md)."""
    return parquet_encryption.create_decryption_properties(base64.b64decode(key.reveal()))


def _as_json_text(batch: pyarrow.RecordBatch, nested: list[str],
                  schema: pyarrow.Schema) -> pyarrow.RecordBatch:
    """Nested columns as JSON text (DuckDB cannot read them from encrypted files otherwise)."""
    columns = []
    for field, column in zip(batch.schema, batch.columns):
        if field.name in nested:
            column = pyarrow.array(
                [None if value is None else json.dumps(value, default=str, ensure_ascii=False)
                 for value in column.to_pylist()], type=pyarrow.string())
        columns.append(column)
    return pyarrow.RecordBatch.from_arrays(columns, schema=schema)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write`` fills a temporary file beside ``path`` (mode 0600), which then replaces
    ``path`` in one rename: a reader sees the old file or the whole new one."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        write(partial)
        os.chmod(partial, 0o600)
        _fsync(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_encrypted_parquet(batches: pyarrow.RecordBatchReader, path: Path,
                            key: Secret) -> tuple[int, list[str]]:
    """Stream ``batches`` into ``path`` encrypted under ``key``, atomically. Returns the rows
    written and the nested columns that were written as JSON text."""
    nested = [f.name for f in batches.schema if pyarrow.types.is_nested(f.type)]
    schema = pyarrow.schema([pyarrow.field(f.name, pyarrow.string()) if f.name in nested else f
                             for f in batches.schema])
    encryption = _encryption(key)
    rows = 0

    def write(partial: Path) -> None:
        nonlocal rows
        with parquet.ParquetWriter(partial, schema, encryption_properties=encryption) as writer:
            for batch in batches:
                writer.write_batch(_as_json_text(batch, nested, schema) if nested else batch)
                rows += batch.num_rows

    publish_atomically(path, write)
    return rows, nested


@dataclass(frozen=True)
class ExportResult:
    directory: Path  # the generation just published; exports/current points at it
    row_counts: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())


def export_marts(sieve: Sieve, org: Organization, *, now: datetime | None = None) -> ExportResult:
    """Publish every mart of ``org`` as encrypted Parquet and point ``exports/current`` at it."""
    database = org_database_path(sieve.settings.orgs_dir, org.id)
    key = org_export_key(sieve, org)
    root = exports_directory(sieve.settings.orgs_dir, org.id)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = now or datetime.now(UTC)
    generation = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    incoming = root / f"{_INCOMING_PREFIX}{generation}"
    incoming.mkdir(mode=0o700)
    try:
        connection = connect_encrypted(database, sieve.control_plane.org_data_key(org),
                                       read_only=True)
        try:
            marts = MetadataStore(connection).tables(ANALYST_SCHEMA)
            if not marts:
                raise ExportError(f"{org.slug} has no metric tables to export yet: run "
                                  f"`sieve sync {org.slug}` first.")
            manifest = {}
            for mart in marts:
                batches = connection.execute(
                    f"SELECT * FROM {ANALYST_SCHEMA}.{quote_identifier(mart)}"
                ).to_arrow_reader(BATCH_ROWS)
                rows, nested = write_encrypted_parquet(batches, incoming / f"{mart}.parquet",
                                                       key)
                manifest[mart] = {"file": f"{mart}.parquet", "rows": rows,
                                  "json_columns": nested}
        finally:
            connection.close()
        (incoming / MANIFEST).write_text(json.dumps({
            "organization_id": org.id, "generation": generation,
            "exported_at": now.isoformat(),
            "encryption": "Parquet modular encryption, AES_GCM_V1, one key for footer and "
                          "columns: the organization's export key (sieve export-key)",
            "marts": manifest}, indent=1))
        _fsync(incoming)
        published = root / generation
        os.rename(incoming, published)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    previous = _current_generation(root)
    _point_current_at(root, generation)
    _remove_old_generations(root, keep={generation, *previous})
    return ExportResult(published, {m: v["rows"] for m, v in manifest.items()})


def _point_current_at(root: Path, generation: str) -> None:
    link = root / f".{CURRENT_LINK}.{secrets.token_hex(4)}"
    os.symlink(generation, link)
    os.replace(link, root / CURRENT_LINK)
    _fsync(root)


def _generations(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))


def _current_generation(root: Path) -> list[str]:
    """The generation readers are on now (kept one more round), if any. Names are not
    compared: two exports in the same second must not depend on their random suffixes."""
    link = root / CURRENT_LINK
    return [os.readlink(link)] if link.is_symlink() else []


def _remove_old_generations(root: Path, keep: set[str]) -> None:
    """Older generations go; a reader still on the previous one keeps working."""
    for name in _generations(root):
        if name not in keep:
            shutil.rmtree(root / name)


def export_query(sieve: Sieve, org: Organization, sql: str, path: Path, *,
                 operator: bool = False) -> int:
    """Write one query's result as Parquet encrypted with the org's export key (like the
    exports); the query runs in the same sealed session as `sieve query`. Returns the rows."""
    refuse_writes(sql)
    key = org_export_key(sieve, org)
    connection = analyst_session(sieve, org, operator=operator)
    try:
        try:
            batches = execute_read_only(connection, sql).to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as error:
            raise ExportError(f"query failed: {str(error).splitlines()[0]}") from None
        rows, _ = write_encrypted_parquet(batches, path, key)
    finally:
        connection.close()
    return rows
