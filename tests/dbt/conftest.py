"""Fixtures for the dbt tests: one real installation (control plane, vault, encrypted org
databases) for the session, and the golden organization built once in it — dbt runs take
seconds, so tests share built organizations and only read them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resources.marts.runner import build_org_marts
from resources.runtime import Sieve
from tests.dbt import golden_histories, golden_org
from tests.dbt.dbt_org import DbtOrg, golden_dbt_org, histories_dbt_org, new_dbt_installation


@pytest.fixture(scope="session")
def dbt_installation(tmp_path_factory) -> Iterator[Sieve]:
    """One installation for every dbt test: dbt builds take seconds, so organizations are
    built once and shared."""
    sieve = new_dbt_installation(tmp_path_factory.mktemp("dbt") / "sieve-home")
    yield sieve
    sieve.close()


@pytest.fixture(scope="session")
def built_golden_org(dbt_installation) -> DbtOrg:
    """The golden organization with its marts built as of golden_org.AS_OF. Read-only for tests."""
    org = golden_dbt_org(dbt_installation, "golden")
    build_org_marts(org.sieve, org.org_id, as_of=golden_org.AS_OF)
    return org


@pytest.fixture(scope="session")
def built_histories_org(dbt_installation) -> DbtOrg:
    """The golden histories organization with its marts built as of golden_histories.AS_OF.
    Read-only for tests."""
    org = histories_dbt_org(dbt_installation, "histories")
    build_org_marts(org.sieve, org.org_id, as_of=golden_histories.AS_OF)
    return org
