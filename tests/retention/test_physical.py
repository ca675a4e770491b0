"""The physical side: the rewritten database keeps every table, key and view; exports are
shredded generation by generation; files are overwritten before they are unlinked."""

from __future__ import annotations

import os

import pytest

from resources.retention.physical import rewrite_database, shred_file, withdraw_exports
from resources.security.vault import Secret
from resources.storage.metadata_store import StoreError, connect_encrypted

KEY = Secret("ab" * 32)


def test_rewrite_keeps_schemas_keys_and_views_under_the_same_key(tmp_path):
    path = tmp_path / "org" / "sieve.duckdb"
    connection = connect_encrypted(path, KEY)
    connection.execute("CREATE SCHEMA metadata")
    connection.execute("CREATE TABLE metadata.t (id INTEGER PRIMARY KEY, login VARCHAR)")
    connection.execute("INSERT INTO metadata.t SELECT i, 'user' || i FROM range(1000) r(i)")
    connection.execute("CREATE SCHEMA marts")
    connection.execute("CREATE VIEW marts.v AS SELECT count(*) AS n FROM metadata.t")
    connection.execute("DELETE FROM metadata.t WHERE id < 500")
    connection.close()

    sizes = rewrite_database(path, KEY)

    assert sizes["bytes_after"] > 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["sieve.duckdb"]
    connection = connect_encrypted(path, KEY)
    assert connection.execute("SELECT n FROM marts.v").fetchall() == [(500,)]
    # The natural key survived: upserts still replace rather than duplicate.
    connection.execute("INSERT OR REPLACE INTO metadata.t VALUES (999, 'changed')")
    assert connection.execute("SELECT count(*), max(login) FROM metadata.t").fetchall() == [
        (500, "user998")]
    connection.close()
    with pytest.raises(StoreError):
        connect_encrypted(path, Secret("cd" * 32), read_only=True)


def test_withdrawn_exports_leave_no_generation_or_link(tmp_path):
    generation = tmp_path / "exports" / "20260301T000000Z-ab"
    generation.mkdir(parents=True)
    (generation / "dora_weekly.parquet").write_bytes(b"PAR1 secret-ish PAR1")
    (generation / "manifest.json").write_text("{}")
    os.symlink(generation.name, tmp_path / "exports" / "current")

    assert withdraw_exports(tmp_path) == 2
    assert not (tmp_path / "exports").exists()
    assert withdraw_exports(tmp_path) == 0


def test_shredded_file_is_zeroed_before_it_is_unlinked(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    path.write_bytes(b"canary-bytes" * 100_000)
    seen = {}
    real_unlink = type(path).unlink

    def inspect_then_unlink(self, *args, **kwargs):
        seen["content"] = self.read_bytes()
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "unlink", inspect_then_unlink)
    assert shred_file(path) == 1_200_000
    assert seen["content"] == bytes(1_200_000) and not path.exists()
