"""The code location loads, and the embedded instance is configured as the rules require."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, Definitions, mem_io_manager

from pipelines.instance import write_embedded_instance

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_are_loadable():
    from pipelines.definitions import defs

    Definitions.validate_loadable(defs)


def test_dagster_cli_validates_the_workspace(sieve_home):
    write_embedded_instance(sieve_home / "dagster")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate",
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_embedded_instance_has_no_compute_logs_and_no_telemetry(sieve_home):
    dagster_home = sieve_home / "dagster"
    config = yaml.safe_load(write_embedded_instance(dagster_home).read_text())
    assert config["telemetry"] == {"enabled": False}
    assert config["compute_logs"]["class"] == "NoOpComputeLogManager"
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
        assert str(instance.storage_directory()).startswith(str(dagster_home))


def test_operator_instance_file_is_never_overwritten(sieve_home):
    dagster_home = sieve_home / "dagster"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_embedded_instance(dagster_home)
    assert (dagster_home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_loading_the_definitions_raises_no_beta_warning():
    # Every `sieve demo`, `sync` and `retention run` loads them: a warning there is noise.
    code = ("import warnings; from dagster import BetaWarning; "
            "warnings.simplefilter('error', BetaWarning); "
            "from pipelines.definitions import defs; defs.resolve_job_def('sync_organization')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_every_mart_shows_its_columns_and_their_types_in_the_ui():
    # The UI's Columns panel reads the spec's column schema, which dagster-dbt fills from the
    # marts' ymls (each column declares its data_type for the enforced contract).
    from pipelines.definitions import defs

    marts = [spec for spec in defs.resolve_all_asset_specs() if spec.group_name == "marts"]
    assert len(marts) >= 11
    for spec in marts:
        assert "dagster/column_schema" in spec.metadata, spec.key
        schema = spec.metadata["dagster/column_schema"]  # a TableSchema
        assert schema.columns, spec.key
        untyped = [column.name for column in schema.columns if column.type in ("", "?")]
        assert untyped == [], (spec.key, untyped)


def test_materializations_from_the_ui_run_like_the_sync_job():
    # "Materialize all" uses the implicit asset job: one process (the org's DuckDB file takes one
    # writer), marts started once a source step has materialized, outputs kept in memory.
    from pipelines.definitions import defs
    from pipelines.jobs import sync_executor

    implicit = defs.resolve_implicit_global_asset_job_def()
    assert implicit.executor_def is sync_executor
    assert implicit.resource_defs["io_manager"] is mem_io_manager


RECORDING_DBT = """#!/bin/sh
echo "$*" >> "{calls}"
exec "{sieve_dbt}" "$@"
"""


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A copy of the dbt project with no manifest, prepared as under `dagster dev`, whose
    ``sieve-dbt`` records the commands it is given."""
    from dagster_dbt import DbtProject

    import assets.dbt as dbt_assets
    from resources.marts.runner import DBT_PROJECT_DIR, dbt_executable

    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    calls, wrapper = tmp_path / "calls", tmp_path / "sieve-dbt"
    wrapper.write_text(RECORDING_DBT.format(calls=calls, sieve_dbt=dbt_executable()))
    wrapper.chmod(0o755)
    monkeypatch.setattr(dbt_assets, "dbt_executable", lambda: str(wrapper))
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    monkeypatch.setattr(dbt_assets, "_PREPARED", set())
    return DbtProject(project_dir=copy, profiles_dir=copy), calls


def test_dagster_dev_parses_the_project_once_per_process_through_sieve_dbt(project_copy):
    """Under `dagster dev` (`sieve ui`) the definitions prepare the project themselves: one
    `parse` per process, by `sieve-dbt` (no `dbt --version`, no adapter in the process), its
    log in the target, not in the project."""
    from assets.dbt import prepared_manifest

    project, calls = project_copy
    assert prepared_manifest(project) == project.manifest_path
    assert prepared_manifest(project).exists()  # both the dbt and the export assets ask
    assert calls.read_text().splitlines() == ["parse --quiet"]
    assert not (project.project_dir / "logs").exists()
    # Parsed beside the target and moved over its manifest in one rename: never half-written.
    staging = project.manifest_path.parent / "preparing"
    assert (staging / "partial_parse.msgpack").exists()
    assert not (staging / "manifest.json").exists()


def test_a_project_that_does_not_parse_is_named_with_dbts_reason(project_copy):
    from assets.dbt import prepared_manifest
    from resources.marts.runner import DbtBuildError

    project, _ = project_copy
    (project.project_dir / "models" / "marts" / "broken.sql").write_text(
        "select * from {{ ref('no_such_model') }}\n")
    with pytest.raises(DbtBuildError, match=r"(?s)could not parse the project in .*"
                                            r"depends on a node named 'no_such_model'"):
        prepared_manifest(project)
