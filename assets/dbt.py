"""The metric tables as Dagster assets: dbt models per organization partition, and checks.

The plain runner (paths, vars, the org key's handoff, ``build_org_marts``) is
`resources.marts.runner`; this module only declares the assets, the translator that groups
models by layer, and the marts' asset checks.
"""

import fcntl
import functools
import json
import os
import subprocess
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetSpec,
    Config,
    Definitions,
    FreshnessPolicy,
    Output,
    PreviewWarning,
    multi_asset_check,
)
from dagster_dbt import (
    DagsterDbtProjectPreparer,
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from assets.ingestion import OWNERS
from resources.marts.build_state import (
    MARTS,
    forget_build,
    record_marts_build,
    unchanged_marts,
)
from resources.marts.dbt_command import dbt_environment
from resources.marts.insights import open_signal_counts, severe_open_count
from resources.marts.org_key import serve_org_key
from resources.marts.runner import (
    DBT_PROJECT_DIR,
    PRODUCTION_BUILD_ARGS,
    DbtBuildError,
    dbt_executable,
    dbt_run_inputs,
    mart_pii_columns,
    mart_row_count,
    prepare_dbt_run,
)
from resources.partitions import organization_partitions
from resources.runtime import Sieve
from resources.sieve_resource import SieveResource
from resources.storage.metadata_store import open_store, org_database_path

# --- Dagster ------------------------------------------------------------------------------

LAYERS = ("staging", "intermediate", "marts")
INSIGHTS_KEY = AssetKey(["marts", "insights"])
MART_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=48),
                                             warn_window=timedelta(hours=26))


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


DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class SieveDbtProjectPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparation of the project under ``dagster dev`` (``sieve ui``): a parse
    into its target, one process at a time, skipped by a process that waited while another
    made it. Through ``sieve-dbt`` (resources/marts/dbt_command.py): dagster-dbt's own runs
    ``dbt --version`` first (a process importing all of dbt, ~2 s of CPU) and opens a dbt
    adapter in the code server's process, neither of which a parse needs.

    dbt writes its manifest in place, so the parse goes to a staging target beside it (which
    keeps dbt's partial parse for the next one) and the manifest is then moved over the old one
    in one rename: another process loading the definitions meanwhile (a `sieve sync`, a test)
    reads the old manifest or the new, never half of one."""

    def prepare(self, project: DbtProject) -> None:
        target = project.project_dir / project.target_path
        staging = target / "preparing"
        staging.mkdir(parents=True, exist_ok=True)
        made_before = _modified(project.manifest_path)
        with open(target / "prepare.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _modified(project.manifest_path) > made_before:
                return  # another process parsed it while this one waited
            completed = subprocess.run(
                [dbt_executable(), "parse", "--quiet"], cwd=project.project_dir,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                env={**dbt_environment(project.project_dir, staging),
                     "DBT_PROFILES_DIR": str(project.profiles_dir), "DBT_USE_COLORS": "false"})
            if completed.returncode == 0:
                os.replace(staging / "manifest.json", project.manifest_path)
        if completed.returncode != 0:
            raise DbtBuildError(f"dbt could not parse the project in {project.project_dir}: "
                                f"{completed.stdout.strip()[-2000:] or 'no output'}")


def _modified(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


_PREPARED: set[Path] = set()  # the project directories this process has prepared


def prepared_manifest(project: DbtProject) -> Path:
    """The manifest the dbt assets load from: parsed by ``dagster dev`` itself (once per
    process, `SieveDbtProjectPreparer`), and by ``make`` (``dagster-dbt project
    prepare-and-package``) everywhere else."""
    if project.project_dir not in _PREPARED:
        SieveDbtProjectPreparer().prepare_if_dev(project)
        _PREPARED.add(project.project_dir)
    if not project.manifest_path.exists():
        raise DbtBuildError(
            f"dbt's manifest is missing ({project.manifest_path}): run `make venv`, or "
            "`dagster-dbt project prepare-and-package --file assets/dbt.py`, then try again.")
    return project.manifest_path


class MartsBuildConfig(Config):
    """``as_of``: the UTC instant the metrics are computed as of, ``YYYY-MM-DD HH:MM:SS``;
    empty means when the run starts. Every model output records the instant it used."""

    as_of: str = ""

    def instant(self) -> datetime | None:
        if not self.as_of:
            return None
        try:
            return datetime.fromisoformat(self.as_of)
        except ValueError:
            raise DbtBuildError(f"as_of {self.as_of!r} in the run config is not a timestamp: "
                                "use YYYY-MM-DD HH:MM:SS (UTC), or leave it empty for now."
                                ) from None


def build_dbt_assets(project: DbtProject):
    @dbt_assets(
        manifest=prepared_manifest(project),
        project=project,
        partitions_def=organization_partitions,
        dagster_dbt_translator=SieveDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)),
        # One writer per organization database: the org's syncs and this build take turns.
        pool="org_database",
    )
    def sieve_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource,
                         sieve: SieveResource, config: MartsBuildConfig):
        whole_project = set(context.selected_asset_keys) == set(context.assets_def.keys)
        with sieve.open() as opened:
            run = prepare_dbt_run(opened, context.partition_key, as_of=config.instant())
            inputs = dbt_run_inputs(opened, run, explicit_as_of=bool(config.as_of))
            org = opened.control_plane.organization(run.org_id)
            key = opened.control_plane.org_data_key(org)
        unchanged = unchanged_marts(run.run_dir, inputs, context.run_id) if whole_project else None
        read_counts = functools.partial(_open_signal_counts, sieve, context.partition_key)
        if unchanged is not None:
            context.log.info(f"marts unchanged since {unchanged['built_at']}: no source table, "
                             "setting or model changed and the as-of day is the same; not "
                             "rebuilt")
            yield from with_insight_counts(unchanged_outputs(context, unchanged), context,
                                           read_counts)
            return
        forget_build(run.run_dir, MARTS)
        as_of = {"as_of": run.vars["as_of"]}
        with serve_org_key(key) as handoff:
            invocation = dbt.cli([*PRODUCTION_BUILD_ARGS, "--vars",
                                  json.dumps(run.cli_vars(handoff))],
                                 context=context, target_path=run.target_path)
            events = (event.with_metadata({**event.metadata, **as_of})
                      if isinstance(event, Output) else event for event in invocation.stream())
            yield from with_insight_counts(events, context, read_counts)
        if whole_project:
            record_marts_build(run.run_dir, inputs, run.vars["as_of"], context.run_id)

    return sieve_dbt_models


def unchanged_outputs(context: AssetExecutionContext, build: dict) -> Iterator[Output]:
    """When the marts were verified, not built: one output per selected mart (and per model an
    asset outside dbt reads, like the forecasts' inputs), saying since when it is unchanged and
    as of what it was computed; no dbt test ran.

    The other staging and intermediate models are not materialized again: nothing outside this
    step reads them, and their last materialization (the build that made them) stays the
    truth. Each event a run records costs a write to the instance, and these were most of a
    no-change sync's events."""
    metadata = {"rebuilt": False, "marts_unchanged_since": build["built_at"],
                "as_of": build["as_of"]}
    graph = context.job_def.asset_layer.asset_graph
    dbt_models = set(context.assets_def.keys)
    read_elsewhere = {key for key in context.selected_asset_keys
                      if model_layer_of(key) == "marts"
                      or any(child not in dbt_models for child in graph.get(key).child_keys)}
    # A multi-asset yields its assets in dependency order.
    in_order = [key for key in graph.toposorted_asset_keys if key in read_elsewhere]
    for key in in_order:
        yield Output(None, output_name=context.assets_def.get_output_name_for_asset_key(key),
                     metadata=metadata)
    # dbt's tests of those models are blocking checks: each needs a result, or the steps after
    # them wait for it for ever (the sync job starts a step once its inputs exist). None was
    # rerun; the data each one tested is unchanged since the build that recorded it, which only
    # a build whose tests all passed (or only warned) does.
    for check in sorted(context.selected_asset_check_keys, key=str):
        if check.asset_key in read_elsewhere:
            yield AssetCheckResult(asset_key=check.asset_key, check_name=check.name,
                                   passed=True, metadata={"rerun": False,
                                                          "inputs_unchanged_since":
                                                          build["built_at"]})


def model_layer_of(key: AssetKey) -> str:
    return key.path[0] if len(key.path) > 1 else "dbt"


def with_insight_counts(events: Iterable, context: AssetExecutionContext,
                        read_counts: Callable[[], dict[str, int]]) -> Iterator:
    """dbt's events, with the insights materialization (and its tests' results) held back
    until dbt has finished and then given the open signals' counts by kind and severity.

    The org's database takes one writer or readers: it can be read only once dbt's process
    has let go of it, after the last event.
    """
    held = []
    for event in events:
        if _asset_key_of(event, context) == INSIGHTS_KEY:
            held.append(event)
        else:
            yield event
    counts = read_counts() if held else {}
    for event in held:
        if isinstance(event, Output):
            event = event.with_metadata({**event.metadata, "open_signals": sum(counts.values()),
                                         **{f"open.{label}": n for label, n in counts.items()}})
        yield event


def _asset_key_of(event, context: AssetExecutionContext) -> AssetKey | None:
    if isinstance(event, Output):
        return context.asset_key_for_output(event.output_name)
    return getattr(event, "asset_key", None)


def _open_signal_counts(sieve: SieveResource, org_id: str) -> dict[str, int]:
    with sieve.open() as opened, _read_marts(opened, org_id) as store:
        return open_signal_counts(store.connection)


# --- asset checks on the marts ------------------------------------------------------------

def _read_marts(sieve: Sieve, org_id: str):
    org = sieve.control_plane.organization(org_id)
    return open_store(org_database_path(sieve.settings.orgs_dir, org.id),
                      sieve.control_plane.org_data_key(org), read_only=True)


def mart_check_specs(mart: str) -> list[AssetCheckSpec]:
    """Row count, no-PII-columns and freshness checks of one mart, per organization."""
    mart_key = AssetKey(["marts", mart])
    descriptions = {
        "has_rows": f"marts.{mart} has rows (warns when empty: a source may not be connected "
                    "yet).",
        "no_pii_columns": f"marts.{mart} has no column for emails, logins, names or free text: "
                          "people appear as person_id and team only.",
        "built_after_last_sync": f"marts.{mart} was rebuilt, or verified unchanged, after the "
                                 "organization's connections last synced, so it reflects the "
                                 "newest metadata.",
    }
    return [AssetCheckSpec(name, asset=mart_key, description=description,
                           partitions_def=organization_partitions)
            for name, description in descriptions.items()]


INSIGHTS_CHECK = "no_severe_signal_open"


def insights_check_spec() -> AssetCheckSpec:
    return AssetCheckSpec(INSIGHTS_CHECK, asset=INSIGHTS_KEY,
                          partitions_def=organization_partitions,
                          description="No severe signal is open in marts.insights (see "
                                      "docs/metrics.md, \"insights\", for the kinds).")


def build_mart_checks(marts: Sequence[str]):
    """Every mart's checks in one step: each is a small read of the org's database, and one
    step per check cost more in Dagster's step overhead than the reads themselves. Partitioned
    asset checks are a Dagster preview feature; the checks need the partition (one
    organization's database), so the preview is used deliberately."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        specs = [spec for mart in marts for spec in mart_check_specs(mart)]
        specs.append(insights_check_spec())

    @multi_asset_check(specs=specs, name="mart_checks", can_subset=True)
    def mart_checks(context: AssetCheckExecutionContext,
                    sieve: SieveResource) -> Iterator[AssetCheckResult]:
        selected = sorted(context.selected_asset_check_keys,
                          key=lambda key: (key.asset_key.to_user_string(), key.name))
        with sieve.open() as opened:
            last_sync = _last_sync(opened, context.partition_key)
            with _read_marts(opened, context.partition_key) as store:
                for check in selected:
                    yield _evaluate(context, store.connection, check, last_sync)

    return mart_checks


def _last_sync(sieve: Sieve, org_id: str) -> datetime | None:
    org = sieve.control_plane.organization(org_id)
    synced = [c.last_synced_at for c in sieve.control_plane.connections(org)
              if c.last_synced_at is not None]
    return max(synced) if synced else None


def _evaluate(context: AssetCheckExecutionContext, connection, check: AssetCheckKey,
              last_sync: datetime | None) -> AssetCheckResult:
    mart = check.asset_key.path[-1]
    where = {"asset_key": check.asset_key, "check_name": check.name}
    if check.name == "has_rows":
        count = mart_row_count(connection, mart)
        return AssetCheckResult(**where, passed=count > 0, severity=AssetCheckSeverity.WARN,
                                metadata={"row_count": count})
    if check.name == "no_pii_columns":
        offending = mart_pii_columns(connection, mart)
        return AssetCheckResult(**where, passed=not offending,
                                metadata={"offending_columns": ", ".join(offending) or "none"})
    if check.name == INSIGHTS_CHECK:
        counts = open_signal_counts(connection)
        return AssetCheckResult(**where, passed=severe_open_count(counts) == 0,
                                severity=AssetCheckSeverity.WARN,
                                metadata={"open_signals": sum(counts.values()), **counts})
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=check.asset_key, asset_partitions=[context.partition_key]),
        limit=1).records
    built_at = datetime.fromtimestamp(records[0].timestamp, UTC) if records else None
    passed = built_at is not None and (last_sync is None or built_at >= last_sync)
    return AssetCheckResult(**where, passed=passed, severity=AssetCheckSeverity.WARN, metadata={
        "built_at": built_at.isoformat() if built_at else "never",
        "last_sync_at": last_sync.isoformat() if last_sync else "never"})


def mart_names(manifest_path: Path) -> list[str]:
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return sorted(node["name"] for node in nodes
                  if node["resource_type"] == "model" and model_layer(node) == "marts")


class SieveDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without its in-process handle on the warehouse.

    Before every dbt command, dagster-dbt imports dbt into the run's process, loads the
    project's macros and opens an adapter (1.6 s on an idle 2-core machine), for one use:
    ``fetch_row_counts()`` and ``fetch_column_metadata()`` on the invocation. Sieve calls
    neither, and could not: the organization's database is encrypted and opened only inside
    dbt's own process, with the key handed over for that run (resources/marts/org_key.py). The
    invocation runs without an adapter, as dagster-dbt's does whenever making one fails."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def defs() -> Definitions:
    project = DBT_PROJECT
    models = build_dbt_assets(project)
    checks = build_mart_checks(mart_names(project.manifest_path))
    dbt = SieveDbtCliResource(project_dir=project, dbt_executable=dbt_executable())
    return Definitions(assets=[models], asset_checks=[checks], resources={"dbt": dbt})
