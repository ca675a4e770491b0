"""`sieve-dbt` and the dbt resource cost a build nothing they do not need: no network call for
the version, no adapter in the run's process."""

from __future__ import annotations

import inspect
import re
import socket
from importlib.metadata import version

import pytest
from dagster_dbt import DbtCliResource

from assets.dbt import SieveDbtCliResource
from resources.marts.dbt_command import main
from resources.marts.runner import DBT_PROJECT_DIR, dbt_executable


def test_the_version_is_read_locally_without_the_network(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture):
    """dbt's own ``--version`` asks PyPI for the latest release; dagster-dbt runs it before
    every build."""
    def no_network(*args, **kwargs):
        raise AssertionError("sieve-dbt --version opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert main(["--version"]) == 0
    printed = capsys.readouterr().out
    # dagster-dbt reads the first version number of the output (DbtCliResource._cli_version).
    assert re.search(r"(\d+\.\d+\.\d+)", printed).group(1) == version("dbt-core")
    assert f"duckdb: {version('dbt-duckdb')}" in printed


def test_the_dbt_resource_opens_no_adapter_of_its_own():
    """The override must still replace the step dagster-dbt runs before every command; if
    dagster-dbt renames it, this fails instead of the 1.6 s coming back unnoticed."""
    assert "_initialize_dbt_core_adapter" in inspect.getsource(DbtCliResource.cli)
    assert SieveDbtCliResource._initialize_dbt_core_adapter is not \
        DbtCliResource._initialize_dbt_core_adapter
    resource = SieveDbtCliResource(project_dir=str(DBT_PROJECT_DIR),
                                   dbt_executable=dbt_executable())
    assert resource._initialize_dbt_core_adapter(["build"]) is None
