"""A real Sieve installation in a temp SIEVE_HOME, for tests that sync, query and delete.

    def test_something(sieve_org, emulator):
        org = sieve_org("acme")
        org.connect_emulator(emulator, "github", owner="sieve-demo")
        summaries = org.sync("github")
        assert org.count("github_pull_requests") == ...

Everything goes through the product's own code paths: the control plane, the vault, the
connectors over HTTP, the sync engine and the encrypted per-org DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from resources.keys import create_key_file
from resources.metadata_store import open_store, org_database_path
from resources.audit import create_audit_key_file
from resources.runtime import Sieve, open_sieve
from resources.sync import SyncSummary, sync_organization_source
from resources.vault import Secret


def no_sleep(_seconds: float) -> None:
    """Retries and rate-limit waits in tests advance nothing and wait for nothing."""


@dataclass
class SieveOrg:
    sieve: Sieve
    slug: str

    @property
    def org(self):
        return self.sieve.control_plane.organization(self.slug)

    def connect(self, source: str, settings: dict, credentials: dict[str, str]):
        return self.sieve.control_plane.add_connection(
            self.org, source, settings, {k: Secret(v) for k, v in credentials.items()})

    def connect_emulator(self, emulator, source: str, **settings):
        """A connection to one of the emulator's APIs with its (demo) credentials."""
        return self.connect(source, {"base_url": emulator.base_url(source), **settings},
                            emulator.credentials(source))

    def sync(self, source: str, sleep=no_sleep) -> list[SyncSummary]:
        return sync_organization_source(self.sieve, self.org.id, source, sleep=sleep)

    @property
    def database_path(self):
        return org_database_path(self.sieve.settings.orgs_dir, self.org.id)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        key = self.sieve.control_plane.org_data_key(self.org)
        with open_store(self.database_path, key, read_only=True) as store:
            return store.connection.execute(sql, params or []).fetchall()

    def count(self, table: str) -> int:
        return self.query(f"SELECT count(*) FROM metadata.{table}")[0][0]

    def snapshot(self, tables: list[str] | None = None) -> dict[str, list[tuple]]:
        """Every row of every metadata table, sorted: equal snapshots mean identical tables."""
        key = self.sieve.control_plane.org_data_key(self.org)
        with open_store(self.database_path, key, read_only=True) as store:
            names = tables or store.tables()
            return {name: sorted(store.connection.execute(
                f'SELECT * FROM metadata."{name}"').fetchall(), key=repr) for name in names}


def new_installation() -> Sieve:
    """Keys and control plane in the SIEVE_HOME of the environment (see the sieve_home fixture)."""
    sieve = open_sieve()
    create_key_file(sieve.settings.key_file)
    create_audit_key_file(sieve.settings.audit_key_file)
    return sieve
