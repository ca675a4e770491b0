"""Encrypted Parquet exports: readable with the export key from DuckDB, pyarrow and pandas;
unreadable without it; marts only; published atomically."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import duckdb
import pandas
import pyarrow.parquet as parquet
import pyarrow.parquet.encryption as parquet_encryption
import pytest

from resources.analyst import exports
from resources.analyst.exports import (
    ExportError,
    current_export,
    decryption_properties,
    export_key,
    export_marts,
    org_export_key,
)
from resources.security.vault import Secret
from resources.storage.metadata_store import StoreError, connect_encrypted
from tests.analyst.marts import CANARY_EMAIL, CANARY_NAME, MART_SQL, build_marts


def duckdb_read(path: Path, key: Secret) -> list[tuple]:
    connection = duckdb.connect(config={"autoinstall_known_extensions": False,
                                        "autoload_known_extensions": False})
    try:
        connection.execute(f"PRAGMA add_parquet_key('sieve_export', '{key.reveal()}')")
        return connection.execute(
            "SELECT * FROM read_parquet(?, encryption_config = {footer_key: 'sieve_export'})",
            [str(path)]).fetchall()
    finally:
        connection.close()


def mart_rows(org, mart: str) -> list[tuple]:
    return org.query(f"SELECT * FROM marts.{mart}")


@pytest.fixture
def exported(sieve_org):
    org = sieve_org("acme")
    counts = build_marts(org)
    result = export_marts(org.sieve, org.org)
    return org, counts, result


def test_round_trip_through_duckdb_pyarrow_and_pandas(exported):
    org, counts, result = exported
    key = org_export_key(org.sieve, org.org)
    current = current_export(org.sieve.settings.orgs_dir, org.org.id)
    assert current.resolve() == result.directory
    assert result.row_counts == counts
    for mart, rows in counts.items():
        path = current / f"{mart}.parquet"
        if mart != "deployments":  # its list column is JSON text in the export (below)
            assert sorted(duckdb_read(path, key), key=repr) == sorted(mart_rows(org, mart),
                                                                      key=repr)
        table = parquet.read_table(path, decryption_properties=decryption_properties(key))
        assert table.num_rows == rows
        frame = pandas.read_parquet(path, decryption_properties=decryption_properties(key))
        assert list(frame.columns) == table.column_names and len(frame) == rows

    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["marts"]["deployments"]["json_columns"] == ["failure_kinds"]
    kinds = parquet.read_table(current / "deployments.parquet", columns=["failure_kinds"],
                               decryption_properties=decryption_properties(key))
    assert sorted({json.dumps(json.loads(v)) for v in kinds.column(0).to_pylist()}) == [
        '["incident", "revert"]', "[]"]


def test_a_reader_with_the_key_from_a_plain_pyarrow_api_gets_the_same_rows(exported):
    org, _, _ = exported
    key = org_export_key(org.sieve, org.org)
    path = current_export(org.sieve.settings.orgs_dir, org.org.id) / "dora_weekly.parquet"
    raw_key = base64.b64decode(key.reveal())
    table = parquet.read_table(
        path, decryption_properties=parquet_encryption.create_decryption_properties(raw_key))
    assert sorted(table.to_pylist(), key=repr) == sorted(
        (dict(zip(table.column_names, row)) for row in duckdb_read(path, key)), key=repr)


def test_a_wrong_key_or_no_key_cannot_read_an_export(exported, sieve_org):
    org, _, _ = exported
    other = sieve_org("globex")
    wrong = org_export_key(other.sieve, other.org)
    path = current_export(org.sieve.settings.orgs_dir, org.org.id) / "pr_flow_weekly.parquet"
    with pytest.raises(duckdb.Error, match="(?i)key|tag"):
        duckdb_read(path, wrong)
    with pytest.raises(OSError):
        parquet.read_table(path, decryption_properties=decryption_properties(wrong))
    with pytest.raises(OSError):
        parquet.read_table(path)
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.connect().execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()


def test_the_export_key_is_per_organization_and_cannot_open_the_database(exported, sieve_org):
    org, _, _ = exported
    data_key = org.sieve.control_plane.org_data_key(org.org)
    key = org_export_key(org.sieve, org.org)
    assert len(base64.b64decode(key.reveal())) == 32
    assert key.reveal() != data_key.reveal()
    assert export_key(data_key, org.org.id).reveal() == key.reveal()  # stable
    other = sieve_org("globex")
    assert org_export_key(other.sieve, other.org).reveal() != key.reveal()
    with pytest.raises(StoreError, match="cannot be opened"):
        connect_encrypted(org.database_path, key, read_only=True)


def test_no_metadata_table_or_canary_reaches_an_export(exported):
    org, counts, result = exported
    key = org_export_key(org.sieve, org.org)
    files = sorted(p.name for p in result.directory.iterdir())
    assert files == sorted([f"{mart}.parquet" for mart in counts] + ["manifest.json"])
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert set(manifest["marts"]) == set(counts)
    needles = [CANARY_NAME, CANARY_EMAIL]
    for path in result.directory.iterdir():
        data = path.read_bytes()
        assert not [n for n in needles if n.encode() in data], path.name
        if path.suffix == ".parquet":
            # Encrypted: not even column names are readable without the key.
            assert b"deployment_count" not in data and b"week_start" not in data
            decrypted = json.dumps(duckdb_read(path, key), default=str)
            assert not [n for n in needles if n in decrypted], path.name


def test_each_export_is_published_whole_and_a_failed_one_changes_nothing(exported,
                                                                       monkeypatch):
    org, counts, first = exported
    root = exports.exports_directory(org.sieve.settings.orgs_dir, org.org.id)
    second = export_marts(org.sieve, org.org)
    third = export_marts(org.sieve, org.org)
    current = current_export(org.sieve.settings.orgs_dir, org.org.id)
    assert current.is_symlink() and current.resolve() == third.directory
    # The previous generation stays for readers still on it; older ones go.
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [exports.CURRENT_LINK, second.directory.name, third.directory.name])

    written = []

    def fail_on_the_third_mart(batches, path, key):
        written.append(path)
        if len(written) == 3:
            raise OSError("disk full")
        return real_write(batches, path, key)

    real_write = exports.write_encrypted_parquet
    monkeypatch.setattr(exports, "write_encrypted_parquet", fail_on_the_third_mart)
    with pytest.raises(OSError, match="disk full"):
        export_marts(org.sieve, org.org)
    assert current.resolve() == third.directory
    assert sorted(p.name for p in current.iterdir()) == sorted(
        [f"{mart}.parquet" for mart in counts] + ["manifest.json"])
    assert not [p for p in root.rglob("*") if p.name.startswith(".")]


def test_an_org_without_marts_gets_a_clear_error(sieve_org):
    org = sieve_org("acme")
    build_marts(org, without=tuple(MART_SQL))
    with pytest.raises(ExportError, match="no metric tables to export yet"):
        export_marts(org.sieve, org.org)
    root = exports.exports_directory(org.sieve.settings.orgs_dir, org.org.id)
    assert list(root.iterdir()) == []
