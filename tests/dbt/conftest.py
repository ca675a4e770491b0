"""Fixtures for the dbt tests: a real installation per test module (dbt runs take seconds, so a
module builds its organization's marts once and its tests read them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from resources.identities import IDENTITY_ACCOUNTS, PEOPLE
from resources.metadata_store import open_store, org_database_path
from resources.runtime import Sieve
from resources.schemas import entity
from resources.sync import ensure_metadata_tables, table_spec
from tests.conftest import SIEVE_ENV_VARS
from tests.harness import new_installation


@dataclass
class DbtOrg:
    """One organization of a fresh installation, filled with hand-built rows."""

    sieve: Sieve
    org_id: str

    @property
    def database_path(self) -> Path:
        return org_database_path(self.sieve.settings.orgs_dir, self.org_id)

    def key(self):
        org = self.sieve.control_plane.organization(self.org_id)
        return self.sieve.control_plane.org_data_key(org)

    def write(self, tables: Mapping[str, Sequence[dict]], connection_id: str = "conn_test") -> None:
        """Upsert rows into metadata tables; identity tables are written as given."""
        ensure_metadata_tables(self.sieve, self.org_id)
        with open_store(self.database_path, self.key()) as store:
            for name, rows in tables.items():
                if name in ("identity_accounts", "people"):
                    spec = IDENTITY_ACCOUNTS if name == "identity_accounts" else PEOPLE
                    store.upsert(spec, list(rows))
                else:
                    store.upsert(table_spec(entity(name)),
                                 [{"connection_id": connection_id, **row} for row in rows])

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with open_store(self.database_path, self.key(), read_only=True) as store:
            return store.connection.execute(sql, params or []).fetchall()

    def rows(self, sql: str) -> list[dict]:
        with open_store(self.database_path, self.key(), read_only=True) as store:
            cursor = store.connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def dbt_org_factory(tmp_path_factory) -> Iterator[Callable[[str], DbtOrg]]:
    """``dbt_org_factory(slug, config_yaml=None)`` → a DbtOrg in a module-wide installation."""
    with pytest.MonkeyPatch.context() as patch:
        for name in SIEVE_ENV_VARS:
            patch.delenv(name, raising=False)
        home = tmp_path_factory.mktemp("dbt") / "sieve-home"
        patch.setenv("SIEVE_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        sieve = new_installation()

        def make(slug: str, config_yaml: str | None = None) -> DbtOrg:
            org = sieve.control_plane.add_organization(slug)
            if config_yaml is not None:
                path = home / "config" / f"{slug}.yaml"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(config_yaml)
            return DbtOrg(sieve, org.id)

        yield make
        sieve.close()
