"""A synced organization for retention tests, built once per session and copied per test.

Syncing the emulator's tiny organization takes seconds (GitHub most); each test gets its own
copy of the whole SIEVE_HOME (control plane, keys, encrypted DuckDB), so tests stay isolated.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines.instance import write_embedded_instance
from resources.runtime import open_sieve
from resources.sync.engine import rebuild_identities
from tests.harness import SieveOrg, new_installation

SOURCES = {"github": lambda emulator: {"owner": emulator.org.login, "repos": []},
           "jira": lambda emulator: {"projects": []},
           "slack": lambda emulator: {},
           "pagerduty": lambda emulator: {},
           "opsgenie": lambda emulator: {},
           "bitbucket": lambda emulator: {"workspace": emulator.org.bitbucket.workspace},
           "azuredevops": lambda emulator: {"projects": [emulator.org.azuredevops.project_name]}}


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory, _shared_tiny_emulator) -> Path:
    """A SIEVE_HOME with org 'acme' synced from GitHub, Jira and Slack, identities linked
    (metric tables are built by the tests that need them)."""
    home = tmp_path_factory.mktemp("retention-template") / "sieve-home"
    emulator = _shared_tiny_emulator
    emulator.reset()
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("SIEVE_")]:
            patch.delenv(name)
        patch.setenv("SIEVE_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        sieve = new_installation()
        sieve.control_plane.add_organization("acme")
        org = SieveOrg(sieve, "acme")
        for source, settings in SOURCES.items():
            org.connect_emulator(emulator, source, **settings(emulator))
            org.sync(source)
        rebuild_identities(sieve, org.org.id)
        sieve.close()
    return home


@pytest.fixture
def synced_org(synced_template, sieve_home) -> SieveOrg:
    """A private copy of the synced installation, in this test's SIEVE_HOME."""
    sieve_home.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(synced_template, sieve_home)
    write_embedded_instance(sieve_home / "dagster")
    sieve = open_sieve()
    yield SieveOrg(sieve, "acme")
    sieve.close()
