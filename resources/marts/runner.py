"""Builds the metric tables: dbt run against one organization's encrypted DuckDB.

dbt runs as its own process against one organization at a time. The profile
(`dbt_project/profiles.yml`) holds no secret and no path: each run's ``--vars`` say where the
org's file, the httpfs extension (DuckDB needs it to write encrypted files; it ships in a pip
package and is never downloaded) and the spill directory are, and the org's data key reaches
dbt through a socket served for that run only (`resources.marts.org_key`). dbt's target/ and
logs/ go under SIEVE_HOME, per organization.

`build_org_marts(sieve, org_id)` is the plain function the CLI, retention and benchmarks call;
the Dagster assets in `assets/dbt.py` run the same pieces through dagster-dbt. After a full
build it also rebuilds `marts.delivery_forecasts` (`resources.marts.forecast_mart`), which is
computed in Python, not by dbt.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from resources.errors import SieveError
from resources.marts.build_state import (
    MARTS,
    forget_build,
    marts_inputs,
    record_made_from_marts,
    record_marts_build,
)
from resources.marts.dbt_command import DBT_PROJECT_DIR, dbt_environment
from resources.marts.forecast_mart import build_org_forecasts
from resources.marts.org_key import serve_org_key
from resources.runtime import Sieve
from resources.storage.metadata_store import (
    DATABASE_ALIAS,
    httpfs_extension_path,
    open_store,
    org_database_path,
)
from resources.storage.org_config import OrgConfig, load_org_config
from resources.sync.engine import ensure_metadata_tables

# Unit tests exercise metric logic on fixture rows; production runs skip them.
PRODUCTION_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")
FORECASTS = "delivery_forecasts"


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
        "incident_source": config.incident_source,
        "incident_services": [{"service": name, "scopes": list(scopes)}
                              for name, scopes in config.incident_services.items()],
        "first_deployment_lookback_days": config.first_deployment_lookback_days,
        "bot_patterns": list(config.bot_patterns),
        "services": [{"name": s.name, "repository": s.repository, "paths": list(s.paths)}
                     for s in config.services],
        "stale_pr_days": config.stale_pr_days,
        "release_branch_patterns": list(config.release_branch_patterns),
        "waiting_statuses": list(config.waiting_statuses),
        "knowledge_window_days": config.knowledge_window_days,
        "reporting_time_zone": config.reporting_time_zone,
        "working_hours": list(config.working_hours),
        "first_review_working_hours": config.first_review_working_hours,
        "holidays": list(config.holidays),
        "large_pr_lines": config.large_pr_lines,
        "wip_limit_per_person": config.wip_limit_per_person,
        "wip_limits_per_team": [{"team": team, "limit": limit}
                                for team, limit in config.wip_limits_per_team.items()],
        "review_window_days": config.review_window_days,
        "review_concentration_percent": config.review_concentration_percent,
        "review_concentration_min_reviews": config.review_concentration_min_reviews,
        "bus_factor_min_commits": config.bus_factor_min_commits,
        "sprint_history_sprints": config.sprint_history_sprints,
        "trailing_band_weeks": config.trailing_band_weeks,
        "trailing_band_mads": config.trailing_band_mads,
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

    def cli_vars(self, key_handoff: Path | None = None) -> dict[str, Any]:
        """The ``--vars`` of this run: the metric settings, and where the profile finds the
        org's file, the extensions, the spill directory and the key's socket (paths only)."""
        return {**self.vars,
                "sieve_database": str(self.database_path),
                "sieve_extensions": str(self.extensions_dir),
                "sieve_temp": str(self.database_path.parent / "duckdb-tmp"),
                "sieve_key_handoff": str(key_handoff or "")}

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The dbt process's environment: dbt's own paths. It holds no secret."""
        return dbt_environment(DBT_PROJECT_DIR, self.target_path, self.log_path, base)


def build_as_of(as_of: datetime | None = None) -> datetime:
    """The instant a build's metrics are computed as of: the one given, or now (UTC, whole
    seconds). Always explicit in the build's vars, so no model reads the wall clock and two
    builds of the same data as of the same instant are identical."""
    if as_of is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo else as_of


def org_dbt_directory(orgs_dir: Path, org_id: str) -> Path:
    """Where one organization's dbt target/, logs/ and build records live."""
    return org_database_path(orgs_dir, org_id).parent / "dbt"


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
        run_dir=org_dbt_directory(sieve.settings.orgs_dir, org.id),
        vars=dbt_vars(config, build_as_of(as_of)),
    )


def dbt_run_inputs(sieve: Sieve, run: DbtRun, *, explicit_as_of: bool) -> str:
    """The fingerprint of what a build of ``run`` would compute the marts from
    (`resources.marts.build_state`)."""
    org = sieve.control_plane.organization(run.org_id)
    with open_store(run.database_path, sieve.control_plane.org_data_key(org),
                    read_only=True) as store:
        return marts_inputs(store.connection, run.vars, explicit_as_of)


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
    """dbt's command line as Sieve runs it: parsing the project once, not on every build
    (`resources.marts.dbt_command`)."""
    return str(Path(sys.executable).with_name("sieve-dbt"))


def build_org_marts(sieve: Sieve, org_id: str, *, as_of: datetime | None = None,
                    args: Sequence[str] = PRODUCTION_BUILD_ARGS) -> DbtBuildResult:
    """Build one organization's staging, intermediate and mart models (and run their data
    tests) with `dbt <args>`; raises DbtBuildError naming the failed nodes. A full build
    (the default args) then rebuilds the delivery forecasts and records what it built from
    (`resources.marts.build_state`), so a later sync with the same inputs can skip the build;
    a partial one (a dbt selection) leaves the forecasts as they were and no record.

    No Sieve connection may hold the org's database meanwhile: dbt writes it from its own
    process and DuckDB allows one writer.
    """
    run = prepare_dbt_run(sieve, org_id, as_of=as_of)
    full_build = tuple(args) == PRODUCTION_BUILD_ARGS
    inputs = dbt_run_inputs(sieve, run, explicit_as_of=as_of is not None) if full_build else None
    org = sieve.control_plane.organization(run.org_id)
    key = sieve.control_plane.org_data_key(org)
    forget_build(run.run_dir, MARTS)
    (run.target_path / "run_results.json").unlink(missing_ok=True)
    with serve_org_key(key) as handoff:
        command = [dbt_executable(), *args, "--vars", json.dumps(run.cli_vars(handoff))]
        completed = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=run.environment(),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   check=False)
    result = DbtBuildResult(run.org_id, completed.returncode,
                            run.target_path / "run_results.json")
    if completed.returncode != 0:
        raise DbtBuildError(_failure_message(result, completed.stdout))
    if full_build:
        record_marts_build(run.run_dir, inputs, run.vars["as_of"])
        build_org_forecasts(sieve, run.org_id, as_of=as_of)
        record_made_from_marts(run.run_dir, FORECASTS)
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


# --- reading the built marts --------------------------------------------------------------

# Column names that would carry a person's identity or free text: never in a mart. Marts
# carry person_id and team.
PII_COLUMN = re.compile(r"(email|login|username|display_name|real_name|author_name|"
                        r"committer_name|^name$|title|summary|text|body|message$)")


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
