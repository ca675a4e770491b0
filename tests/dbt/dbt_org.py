"""Organizations for the dbt tests, filled with hand-built rows straight into their encrypted
metadata tables."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from resources.runtime import Sieve, open_sieve
from resources.security.audit import create_audit_key_file
from resources.security.keys import create_key_file
from resources.sources import entity
from resources.storage.metadata_store import open_store, org_database_path
from resources.sync.engine import ensure_metadata_tables, table_spec
from resources.sync.identities import IDENTITY_ACCOUNTS, PEOPLE
from tests.conftest import SIEVE_ENV_VARS
from tests.dbt import golden_azuredevops as azuredevops
from tests.dbt import golden_bitbucket as bitbucket
from tests.dbt import golden_histories as histories
from tests.dbt import golden_incidents as incidents
from tests.dbt import golden_org as golden
from tests.harness import read_store


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
        return read_store(self.database_path, self.key(),
                          lambda session: session.execute(sql, params or []).fetchall())

    def rows(self, sql: str) -> list[dict]:
        def as_dicts(session) -> list[dict]:
            cursor = session.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

        return read_store(self.database_path, self.key(), as_dicts)


def mart_digests(org) -> dict[str, str]:
    """Each mart's rows, sorted, as one digest: equal digests mean equal bytes per mart."""
    marts = [row[0] for row in org.query(
        "select table_name from information_schema.tables where table_schema = 'marts'")]
    return {mart: org.query(f"select md5(string_agg(row_text, '|' order by row_text)) from "
                            f"(select cast(t as varchar) as row_text from marts.{mart} as t)")[0][0]
            for mart in marts}


def new_dbt_installation(home: Path) -> Sieve:
    """An installation in `home` that leaves os.environ alone, so it can outlive one test."""
    environ = {name: value for name, value in os.environ.items() if name not in SIEVE_ENV_VARS}
    environ.update(SIEVE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    sieve = open_sieve(environ)
    create_key_file(sieve.settings.key_file)
    create_audit_key_file(sieve.settings.audit_key_file)
    return sieve


def _new_dbt_org(sieve: Sieve, slug: str, config_yaml: str) -> DbtOrg:
    org = sieve.control_plane.add_organization(slug)
    path = sieve.settings.home / "config" / f"{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_yaml)
    return DbtOrg(sieve, org.id)


def golden_dbt_org(sieve: Sieve, slug: str) -> DbtOrg:
    """The golden organization's rows in a new org of `sieve` (marts not built yet)."""
    dbt_org = _new_dbt_org(sieve, slug, golden.CONFIG_YAML)
    dbt_org.write(golden.GITHUB, connection_id="conn_gh")
    dbt_org.write(golden.JIRA, connection_id="conn_jira")
    dbt_org.write(golden.SLACK, connection_id="conn_slack")
    dbt_org.write(golden.IDENTITIES)
    return dbt_org


def histories_dbt_org(sieve: Sieve, slug: str) -> DbtOrg:
    """The golden histories organization's rows in a new org of `sieve` (marts not built yet)."""
    dbt_org = _new_dbt_org(sieve, slug, histories.CONFIG_YAML)
    dbt_org.write(histories.GITHUB, connection_id="conn_gh")
    dbt_org.write(histories.GITLAB, connection_id="conn_gl")
    dbt_org.write(histories.JIRA, connection_id="conn_jira")
    dbt_org.write(histories.IDENTITIES)
    return dbt_org


def incidents_dbt_org(sieve: Sieve, slug: str, extra_config: str = "") -> DbtOrg:
    """The golden incidents organization's rows in a new org of `sieve` (marts not built yet),
    its settings followed by `extra_config`."""
    dbt_org = _new_dbt_org(sieve, slug, incidents.CONFIG_YAML + extra_config)
    dbt_org.write(incidents.GITHUB, connection_id="conn_gh")
    dbt_org.write(incidents.PAGERDUTY, connection_id="conn_pd")
    dbt_org.write(incidents.OPSGENIE, connection_id="conn_og")
    dbt_org.write(incidents.JIRA, connection_id="conn_jira")
    return dbt_org


def bitbucket_dbt_org(sieve: Sieve, slug: str) -> DbtOrg:
    """The golden Bitbucket organization's rows in a new org of `sieve` (marts not built yet)."""
    dbt_org = _new_dbt_org(sieve, slug, bitbucket.CONFIG_YAML)
    dbt_org.write(bitbucket.BITBUCKET, connection_id="conn_bb")
    dbt_org.write(bitbucket.IDENTITIES)
    return dbt_org


def azuredevops_dbt_org(sieve: Sieve, slug: str) -> DbtOrg:
    """The golden Azure DevOps organization's rows in a new org of `sieve` (marts not built
    yet)."""
    dbt_org = _new_dbt_org(sieve, slug, azuredevops.CONFIG_YAML)
    dbt_org.write(azuredevops.AZUREDEVOPS, connection_id="conn_ado")
    dbt_org.write(azuredevops.IDENTITIES)
    return dbt_org
