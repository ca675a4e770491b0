"""The dbt project as a whole on a built organization: dbt unit tests, the Dagster assets and
their checks, and what dbt leaves on disk (no key, no data values)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance, Definitions
from dagster._core.storage.defs_state.base import _current_storage

from assets import dbt as dbt_assets
from resources.marts import runner as marts_runner
from resources.marts.runner import build_org_marts, mart_pii_columns
from resources.marts.warm_dbt import POINTER_FILE, wait_until_listening, warm_dbt
from resources.sieve_resource import SieveResource
from resources.storage.metadata_store import open_store
from tests.dbt.dbt_org import golden_dbt_org

# dbt's marts, and delivery_forecasts, which the full build writes after dbt.
MARTS = ["channel_activity_weekly", "delivery_forecasts", "deployments", "dora_monthly",
         "dora_weekly", "insights", "issue_flow_weekly", "issue_investment_weekly",
         "knowledge_concentration", "pr_flow_weekly", "pull_requests", "review_load",
         "sprint_outcomes"]

DBT_MODELS = Path(marts_runner.DBT_PROJECT_DIR) / "models"


@pytest.fixture
def org(built_golden_org):
    return built_golden_org


def test_models_build_inside_the_organizations_encrypted_file(org):
    tables = dict(org.query("select table_schema, count(*) from information_schema.tables "
                            "where table_catalog = 'org' group by all"))
    # Every model of the project, and the forecasts table the runner writes beside the marts.
    models = {layer: len(list((DBT_MODELS / layer).rglob("*.sql")))
              for layer in ("staging", "intermediate", "marts")}
    models["marts"] += 1
    assert {schema: tables[schema] for schema in ("staging", "intermediate", "marts")} == models
    assert tables["metadata"] > 0
    assert sorted(r[0] for r in org.query(
        "select table_name from information_schema.tables where table_schema = 'marts'")) == MARTS


def test_dbt_unit_tests_pass(org):
    """In a dbt process started ahead (resources/marts/warm_dbt.py), as `sieve sync` runs its
    builds: it took this one, since it ended with its exit code before it was told no build
    would come."""
    run_dir = marts_runner.org_dbt_directory(org.sieve.settings.orgs_dir, org.org_id)
    with warm_dbt(run_dir, marts_runner.DBT_PROJECT_DIR) as waiting:
        # Listening before the build starts: on a loaded machine a build started sooner finds
        # no socket yet and, as designed, runs by itself, leaving this one waiting.
        socket_path = Path((run_dir / POINTER_FILE).read_text())
        assert wait_until_listening(socket_path, waiting, seconds=60), "never listened"
        result = build_org_marts(org.sieve, org.org_id,
                                 args=("test", "--select", "test_type:unit"))
        assert waiting.wait(timeout=60) == 0
    statuses = result.statuses()
    assert len(statuses) == 9
    assert set(statuses.values()) == {"pass"}


def test_no_mart_has_identity_or_free_text_columns(org):
    with open_store(org.database_path, org.key(), read_only=True) as store:
        assert {mart: mart_pii_columns(store.connection, mart) for mart in MARTS} == {
            mart: [] for mart in MARTS}


def test_pii_column_names_are_recognised():
    names = ["author_email", "login", "display_name", "title", "text", "person_id", "team",
             "channel_name", "sprint_name", "service_name", "repository"]
    assert [n for n in names if marts_runner.PII_COLUMN.search(n)] == [
        "author_email", "login", "display_name", "title", "text"]


def test_dbt_leaves_no_key_and_no_data_values_on_disk(org):
    run_dir = org.database_path.parent / "dbt"
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "dbt.log" for p in files) and any(
        p.name == "run_results.json" for p in files)
    key = org.key().reveal()
    # Values that exist only in the organization's data, never in the project's code.
    canaries = [key, "Add payment retries", "alice@acme.test", "dependabot[bot]", "Sprint 1",
                "PAY-10", "U_ALICE"]
    for path in files:
        content = path.read_bytes()
        for canary in canaries:
            assert canary.encode() not in content, f"{canary!r} in {path}"
    repo_dbt = Path(marts_runner.DBT_PROJECT_DIR)
    assert not (repo_dbt / "logs").exists()


def test_builds_reuse_the_project_parse(org):
    """`sieve-dbt` hands dbt a parse kept per organization instead of parsing on every build
    (resources/marts/dbt_command.py); the golden organization's build parsed nothing."""
    log = (org.database_path.parent / "dbt" / "logs" / "dbt.log").read_text()
    assert "Nothing changed, skipping partial parsing" in log
    assert "Starting full parse" not in log


def test_the_build_logs_its_nodes_not_its_statements(org):
    """The parse logs at debug, the build at info (resources/marts/dbt_command.py): a line per
    node and result, not every SQL statement, connection and commit."""
    log = (org.database_path.parent / "dbt" / "logs" / "dbt.log").read_text()
    build = log[log.rindex("Running with dbt="):]
    assert "Nothing changed, skipping partial parsing" in log[:len(log) - len(build)]
    assert "Concurrency: 2 threads" in build and "[info ]" in build
    assert "[debug]" not in build


def test_the_project_parses_the_same_whatever_the_vars(tmp_path):
    """Builds reuse a parse made without vars (resources/marts/dbt_command.py), so no var may
    change what parsing finds: a node's dependencies or config. Parse with every var set away
    from its default and compare with the parse `make venv` prepared."""
    project = Path(marts_runner.DBT_PROJECT_DIR)
    defaults = yaml.safe_load((project / "dbt_project.yml").read_text())["vars"]
    changed = {"as_of": "2026-01-02 03:04:05", **{name: _changed(value)
                                                   for name, value in defaults.items()}}
    subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--vars",
                    json.dumps(changed), "--target-path", str(tmp_path / "target")],
                   cwd=project, check=True, capture_output=True,
                   env={**os.environ, "DBT_PROFILES_DIR": str(project),
                        "DBT_LOG_PATH": str(tmp_path / "logs"),
                        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})

    def parsed(path: Path) -> dict:
        manifest = json.loads(path.read_text())
        return {node_id: (node.get("depends_on"), node.get("config"), node.get("refs"),
                          node.get("sources"))
                for kind in ("nodes", "unit_tests", "sources")
                for node_id, node in manifest[kind].items()}

    with_vars = parsed(tmp_path / "target" / "manifest.json")
    without = parsed(project / "target" / "manifest.json")
    assert with_vars.keys() == without.keys()
    assert [node for node in without if with_vars[node] != without[node]] == []


def _changed(value):
    """A value of the same shape as ``value`` and different from it."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, list):
        return [*value, value[0] if value else "x"]
    if isinstance(value, dict):
        return {**value, "sieve_test": 1}
    return f"{value}-changed"


def test_dagster_materializes_the_models_and_runs_the_mart_checks(dbt_installation):
    # Its own organization: the Dagster run builds as of now, the golden one as of AS_OF.
    org = golden_dbt_org(dbt_installation, "dagster")
    # Definitions are resolved inside the instance's context, where Dagster looks up its
    # definitions-state storage.
    with DagsterInstance.ephemeral() as instance:
        defs = Definitions.merge(dbt_assets.defs(), Definitions(resources={
            "sieve": SieveResource(sieve_home=str(dbt_installation.settings.home))}))
        # Seen once under pytest-xdist: the definitions-state storage in Dagster's context
        # variable pointed at an instance already gone. No state is needed here.
        _current_storage.set(None)
        job = defs.resolve_implicit_global_asset_job_def()
        instance.add_dynamic_partitions("organizations", [org.org_id])
        result = job.execute_in_process(instance=instance, partition_key=org.org_id)
        assert result.success
        events = result.get_asset_materialization_events()
        materialized = {event.asset_key for event in events}
        # The forecasts are an asset of their own, not a dbt model.
        assert {key for key in materialized if key.path[0] == "marts"} == {
            AssetKey(["marts", mart]) for mart in MARTS if mart != "delivery_forecasts"}
        insights = next(e.materialization.metadata for e in events
                        if e.asset_key == AssetKey(["marts", "insights"]))
        assert {key.path[0] for key in materialized} == {"staging", "intermediate", "marts"}
        checks = {(e.asset_key.path[-1], e.check_name): e.passed
                  for e in result.get_asset_check_evaluations()}
    assert {check for (_, check) in checks} >= {"has_rows", "no_pii_columns",
                                                "built_after_last_sync"}
    # dbt's data tests are asset checks too.
    assert checks[("pull_requests", "unique_pull_requests_pull_request_key")]
    # Built as of now, the golden data (March 2026) is outside the 90-day knowledge window:
    # that mart is empty and its row-count check warns. PR 8, open since 5 March, has been idle
    # far beyond twice stale_pr_days (3): a severe signal is open, and that check warns.
    # Every other check passes.
    # The insights materialization counts the open signals, read after dbt finished.
    assert insights["open.pr_idle/severe"].value >= 1
    assert insights["open_signals"].value == sum(
        entry.value for label, entry in insights.items() if label.startswith("open."))
    failed = {key for key, passed in checks.items() if not passed}
    assert failed == {("knowledge_concentration", "has_rows"),
                      ("insights", "no_severe_signal_open")}
