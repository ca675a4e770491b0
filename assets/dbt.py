"""The metric tables: dbt models built into each organization's encrypted DuckDB.

dbt runs as its own process against one organization at a time. The profile
(`dbt_project/profiles.yml`) holds no secret and no path: this module gives the dbt process,
through its environment only, the org's database file, its data key from the vault, and a local
directory holding the httpfs extension (DuckDB needs it to write encrypted files; it is never
downloaded). dbt's target/ and logs/ go under SIEVE_HOME, per organization.

`build_org_marts(sieve, org_id)` is the plain function (CLI, tests, benchmarks); the Dagster
assets below call the same pieces through dagster-dbt.
"""


import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetSpec,
    Definitions,
    FreshnessPolicy,
    PreviewWarning,
    asset_check,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from assets.ingestion import OWNERS
from resources.errors import SieveError
from resources.metadata_store import (
    DATABASE_ALIAS,
    httpfs_extension_path,
    open_store,
    org_database_path,
)
from resources.org_config import OrgConfig, load_org_config
from resources.partitions import organization_partitions
from resources.runtime import Sieve
from resources.sieve_resource import SieveResource
from resources.sync import ensure_metadata_tables
from resources.vault import Secret

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# Only the environment of the dbt process ever holds these.
DATABASE_ENV = "SIEVE_ORG_DATABASE"
KEY_ENV = "SIEVE_ORG_DATA_KEY"
EXTENSIONS_ENV = "SIEVE_DUCKDB_EXTENSIONS"
TEMP_ENV = "SIEVE_DUCKDB_TEMP"
# Unit tests exercise metric logic on fixture rows; production runs skip them.
PRODUCTION_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")


class DbtBuildError(SieveError):
    pass


def dbt_vars(config: OrgConfig, as_of: datetime | None = None) -> dict[str, Any]:
    """The dbt vars of one organization's run, from its settings (see docs/metrics.md)."""
    return {
        "production_environments": list(config.production_environments),
        "production_tag_patterns": list(config.production_tag_patterns),
        "production_workflow_names": list(config.production_workflow_names),
        "incident_issue_types": list(config.incident_issue_types),
        "incident_labels": list(config.incident_labels),
        "hotfix_labels": list(config.hotfix_labels),
        "revert_title_pattern": config.revert_title_pattern,
        "incident_attribution_hours": config.incident_attribution_hours,
        "first_deployment_lookback_days": config.first_deployment_lookback_days,
        "bot_patterns": list(config.bot_patterns),
        "services": [{"name": s.name, "repository": s.repository, "paths": list(s.paths)}
                     for s in config.services],
        "stale_pr_days": config.stale_pr_days,
        "release_branch_patterns": list(config.release_branch_patterns),
        "waiting_statuses": list(config.waiting_statuses),
        "knowledge_window_days": config.knowledge_window_days,
        "as_of": as_of.strftime("%Y-%m-%d %H:%M:%S") if as_of else "",
    }


def extension_directory(sieve_home: Path) -> Path:
    """A DuckDB extension directory holding the pip-shipped httpfs, laid out as DuckDB looks
    for it (`<dir>/v<version>/<platform>/httpfs.duckdb_extension`)."""
    platform = duckdb.execute("PRAGMA platform").fetchone()[0]
    directory = Path(sieve_home) / "duckdb-extensions"
    target = directory / f"v{duckdb.__version__}" / platform / "httpfs.duckdb_extension"
    source = httpfs_extension_path()
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return directory


@dataclass(frozen=True)
class DbtRun:
    """Where one organization's dbt run reads and writes. No secret in here."""

    org_id: str
    database_path: Path
    extensions_dir: Path
    run_dir: Path
    vars: dict[str, Any]

    @property
    def target_path(self) -> Path:
        return self.run_dir / "target"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "logs"

    def environment(self, key: Secret, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The dbt process's environment: the org's file, key and extension directory."""
        env = dict(os.environ if base is None else base)
        env.update({
            DATABASE_ENV: str(self.database_path),
            KEY_ENV: key.reveal(),
            EXTENSIONS_ENV: str(self.extensions_dir),
            TEMP_ENV: str(self.database_path.parent / "duckdb-tmp"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_TARGET_PATH": str(self.target_path),
            "DBT_LOG_PATH": str(self.log_path),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        })
        return env


def prepare_dbt_run(sieve: Sieve, org_id: str, *, as_of: datetime | None = None) -> DbtRun:
    """Everything a dbt run of one organization needs, with every metadata table present
    (empty where a source is not connected) so staging models can read all of them."""
    org = sieve.control_plane.organization(org_id)
    ensure_metadata_tables(sieve, org.id)
    config = load_org_config(sieve.settings.home, org.slug)
    database_path = org_database_path(sieve.settings.orgs_dir, org.id)
    return DbtRun(
        org_id=org.id,
        database_path=database_path,
        extensions_dir=extension_directory(sieve.settings.home),
        run_dir=database_path.parent / "dbt",
        vars=dbt_vars(config, as_of),
    )


@dataclass(frozen=True)
class DbtBuildResult:
    org_id: str
    returncode: int
    run_results_path: Path

    def statuses(self) -> dict[str, str]:
        """Node unique id → status ("success", "pass", "error", "fail", "skipped"...)."""
        results = json.loads(self.run_results_path.read_text())["results"]
        return {result["unique_id"]: result["status"] for result in results}


def dbt_executable() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def build_org_marts(sieve: Sieve, org_id: str, *, as_of: datetime | None = None,
                    args: Sequence[str] = PRODUCTION_BUILD_ARGS) -> DbtBuildResult:
    """Build one organization's staging, intermediate and mart models (and run their data
    tests) with `dbt <args>`; raises DbtBuildError naming the failed nodes.

    No Sieve connection may hold the org's database meanwhile: dbt writes it from its own
    process and DuckDB allows one writer.
    """
    run = prepare_dbt_run(sieve, org_id, as_of=as_of)
    org = sieve.control_plane.organization(run.org_id)
    key = sieve.control_plane.org_data_key(org)
    command = [dbt_executable(), *args, "--vars", json.dumps(run.vars)]
    (run.target_path / "run_results.json").unlink(missing_ok=True)
    completed = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=run.environment(key),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               check=False)
    result = DbtBuildResult(run.org_id, completed.returncode,
                            run.target_path / "run_results.json")
    if completed.returncode != 0:
        raise DbtBuildError(_failure_message(result, completed.stdout))
    return result


def _failure_message(result: DbtBuildResult, output: str) -> str:
    where = f"organization {result.org_id}"
    if "could not set lock" in output.lower():
        return (f"The database of {where} is busy: a sync or deletion is writing it. Run the "
                "build again when it finishes.")
    if not result.run_results_path.exists():
        # dbt stopped before running anything (profile, parse or connection error); its own
        # message is about the project, not about data rows.
        tail = "\n".join(output.strip().splitlines()[-15:])
        return f"dbt could not start for {where}:\n{tail}"
    failed = sorted(node for node, status in result.statuses().items()
                    if status in ("error", "fail", "runtime error"))
    return (f"dbt build failed for {where}: {len(failed)} node(s) failed: "
            f"{', '.join(failed)}. dbt's log is in {result.run_results_path.parent.parent}/logs.")


# --- Dagster ------------------------------------------------------------------------------

LAYERS = ("staging", "intermediate", "marts")
MART_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=48),
                                             warn_window=timedelta(hours=26))
# Column names that would carry a person's identity or free text: never in a mart. Marts
# carry person_id and team.
PII_COLUMN = re.compile(r"(email|login|username|display_name|real_name|author_name|"
                        r"committer_name|^name$|title|summary|text|body|message$)")


def model_layer(dbt_resource_props: Mapping[str, Any]) -> str:
    """staging, intermediate or marts: the model's folder under models/."""
    fqn = dbt_resource_props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else "dbt"


class SieveDbtTranslator(DagsterDbtTranslator):
    """Models keyed and grouped by layer (staging/…, intermediate/…, marts/…); sources map to
    the assets that write them (their `meta.dagster.asset_key`)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey([model_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return model_layer(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return OWNERS

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str,
                       project: DbtProject | None) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name == "marts":
            spec = spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec


def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_manifest_path(project: DbtProject) -> Path:
    """The manifest Dagster loads the dbt assets from, parsed from the project's code (no
    database, no data) when missing or older than any project file."""
    manifest = project.manifest_path
    sources = [path for path in DBT_PROJECT_DIR.rglob("*")
               if path.suffix in (".sql", ".yml") and "target" not in path.parts]
    newest = max(path.stat().st_mtime for path in sources)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_TARGET_PATH": str(manifest.parent), "DBT_LOG_PATH": str(manifest.parent),
           "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    for name in (DATABASE_ENV, KEY_ENV):
        env.pop(name, None)
    completed = subprocess.run([dbt_executable(), "parse"], cwd=DBT_PROJECT_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               check=False)
    if completed.returncode != 0:
        tail = "\n".join(completed.stdout.strip().splitlines()[-15:])
        raise DbtBuildError(f"dbt could not parse {DBT_PROJECT_DIR}:\n{tail}")
    return manifest


@contextmanager
def dbt_process_environment(run: DbtRun, key: Secret) -> Iterator[None]:
    """This process's environment holds the dbt run's settings (the key among them) only while
    dagster-dbt starts the dbt process, which copies os.environ; removed right after."""
    names = (DATABASE_ENV, KEY_ENV, EXTENSIONS_ENV, TEMP_ENV)
    values = run.environment(key, base={})
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: values[name] for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_dbt_assets(project: DbtProject):
    @dbt_assets(
        manifest=dbt_manifest_path(project),
        project=project,
        partitions_def=organization_partitions,
        dagster_dbt_translator=SieveDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)),
        # One writer per organization database: the org's syncs and this build take turns.
        pool="org_database",
    )
    def sieve_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource,
                         sieve: SieveResource):
        with sieve.open() as opened:
            run = prepare_dbt_run(opened, context.partition_key)
            org = opened.control_plane.organization(run.org_id)
            key = opened.control_plane.org_data_key(org)
        with dbt_process_environment(run, key):
            invocation = dbt.cli([*PRODUCTION_BUILD_ARGS, "--vars", json.dumps(run.vars)],
                                 context=context, target_path=run.target_path)
        yield from invocation.stream()

    return sieve_dbt_models


# --- asset checks on the marts ------------------------------------------------------------

def mart_row_count(connection: duckdb.DuckDBPyConnection, mart: str) -> int:
    return connection.execute(f'select count(*) from marts."{mart}"').fetchone()[0]


def mart_pii_columns(connection: duckdb.DuckDBPyConnection, mart: str) -> list[str]:
    """Columns of a mart whose names say they hold identities or free text."""
    columns = [row[0] for row in connection.execute(
        "select column_name from information_schema.columns where table_catalog = ? "
        "and table_schema = 'marts' and table_name = ?", [DATABASE_ALIAS, mart]).fetchall()]
    if not columns:
        raise DbtBuildError(f"mart {mart} does not exist: build the organization's marts first")
    return [column for column in columns if PII_COLUMN.search(column)]


def _read_marts(sieve: Sieve, org_id: str):
    org = sieve.control_plane.organization(org_id)
    return open_store(org_database_path(sieve.settings.orgs_dir, org.id),
                      sieve.control_plane.org_data_key(org), read_only=True)


def mart_checks(mart: str) -> list:
    """Row count, no-PII-columns and freshness checks of one mart, per organization."""
    mart_key = AssetKey(["marts", mart])
    # Partitioned asset checks are a Dagster preview feature; the checks need the partition
    # (one organization's database), so the preview is used deliberately.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return _mart_checks(mart, mart_key)


def _mart_checks(mart: str, mart_key: AssetKey) -> list:

    @asset_check(asset=mart_key, name="has_rows", partitions_def=organization_partitions,
                 description=f"marts.{mart} has rows (warns when empty: a source may not be "
                             "connected yet).")
    def has_rows(context: AssetCheckExecutionContext, sieve: SieveResource) -> AssetCheckResult:
        with sieve.open() as opened, _read_marts(opened, context.partition_key) as store:
            count = mart_row_count(store.connection, mart)
        return AssetCheckResult(passed=count > 0, severity=AssetCheckSeverity.WARN,
                                metadata={"row_count": count})

    @asset_check(asset=mart_key, name="no_pii_columns", partitions_def=organization_partitions,
                 description=f"marts.{mart} has no column for emails, logins, names or free "
                             "text: people appear as person_id and team only.")
    def no_pii_columns(context: AssetCheckExecutionContext,
                       sieve: SieveResource) -> AssetCheckResult:
        with sieve.open() as opened, _read_marts(opened, context.partition_key) as store:
            offending = mart_pii_columns(store.connection, mart)
        return AssetCheckResult(passed=not offending,
                                metadata={"offending_columns": ", ".join(offending) or "none"})

    @asset_check(asset=mart_key, name="built_after_last_sync",
                 partitions_def=organization_partitions,
                 description=f"marts.{mart} was rebuilt after the organization's connections "
                             "last synced, so it reflects the newest metadata.")
    def built_after_last_sync(context: AssetCheckExecutionContext,
                              sieve: SieveResource) -> AssetCheckResult:
        records = context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=mart_key, asset_partitions=[context.partition_key]),
            limit=1).records
        built_at = (datetime.fromtimestamp(records[0].timestamp, UTC) if records else None)
        with sieve.open() as opened:
            org = opened.control_plane.organization(context.partition_key)
            synced = [c.last_synced_at for c in opened.control_plane.connections(org)
                      if c.last_synced_at is not None]
        last_sync = max(synced) if synced else None
        passed = built_at is not None and (last_sync is None or built_at >= last_sync)
        return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.WARN, metadata={
            "built_at": built_at.isoformat() if built_at else "never",
            "last_sync_at": last_sync.isoformat() if last_sync else "never"})

    return [has_rows, no_pii_columns, built_after_last_sync]


def mart_names(manifest_path: Path) -> list[str]:
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return sorted(node["name"] for node in nodes
                  if node["resource_type"] == "model" and model_layer(node) == "marts")


def defs() -> Definitions:
    project = dbt_project()
    models = build_dbt_assets(project)
    checks = [check for mart in mart_names(project.manifest_path) for check in mart_checks(mart)]
    dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
    return Definitions(assets=[models], asset_checks=checks, resources={"dbt": dbt})
