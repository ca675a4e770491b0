"""A sync that changed nothing verifies the marts instead of rebuilding them; a changed source
table, or a new as-of day, rebuilds them, and the rebuilt marts are correct."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, mem_io_manager

from assets import dbt as dbt_assets
from assets import exports as export_assets
from assets import forecasts as forecast_assets
from pipelines.jobs import sync_executor
from resources.marts.runner import DbtBuildError, build_org_marts
from resources.sieve_resource import SieveResource
from resources.storage.metadata_store import open_store
from tests.dbt import golden_org
from tests.dbt.dbt_org import golden_dbt_org

PULL_REQUESTS = AssetKey(["marts", "pull_requests"])
DAY = "2026-03-13 09:00:00"
NEXT_DAY = "2026-03-14 09:00:00"


def _run(job, instance, org_id, as_of):
    result = job.execute_in_process(
        instance=instance, partition_key=org_id,
        run_config={"ops": {"sieve_dbt_models": {"config": {"as_of": as_of}}}})
    assert result.success
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        metadata[materialization.asset_key] = {k: v.value for k, v in
                                               materialization.metadata.items()}
    return metadata, {(check.asset_key, check.check_name)
                      for check in result.get_asset_check_evaluations()}


def _open_pr(number):
    return golden_org._pr(5000 + number, golden_org.API, number, golden_org.BOB, "Late change",
                          golden_org.t(12, 9))


def _staging_view_made_a_table(org, model: str) -> None:
    with open_store(org.database_path, org.key()) as store:
        store.connection.execute(f"create table staging.{model}_rows as "
                                 f"select * from staging.{model}")
        store.connection.execute(f"drop view staging.{model}")
        store.connection.execute(f"alter table staging.{model}_rows rename to {model}")


def test_unchanged_inputs_skip_the_build_and_changed_ones_rebuild(dbt_installation):
    org = golden_dbt_org(dbt_installation, "unchanged")
    with DagsterInstance.ephemeral() as instance:
        defs = Definitions.merge(
            dbt_assets.defs(), forecast_assets.defs(), export_assets.defs(),
            # The sync job's executor: it starts a step once its inputs exist, so a dbt test
            # without a result would keep the steps after the marts waiting for ever.
            Definitions(resources={"sieve": SieveResource(
                sieve_home=str(dbt_installation.settings.home)), "io_manager": mem_io_manager},
                executor=sync_executor))
        job = defs.resolve_implicit_global_asset_job_def()
        instance.add_dynamic_partitions("organizations", [org.org_id])
        count = "select count(*) from org.marts.pull_requests"

        built, built_checks = _run(job, instance, org.org_id, DAY)
        assert "rebuilt" not in built[PULL_REQUESTS] and built_checks
        prs = org.query(count)[0][0]
        assert prs == len(golden_org.PULL_REQUESTS)

        # Nothing changed, same day: verified, not built; no dbt test reran; every product says
        # since when it is unchanged.
        skipped, skipped_checks = _run(job, instance, org.org_id, DAY)
        assert skipped[PULL_REQUESTS]["rebuilt"] is False
        assert skipped[PULL_REQUESTS]["as_of"] == DAY
        assert skipped[PULL_REQUESTS]["marts_unchanged_since"]
        for product in ("mart_exports", "report", "delivery_forecasts"):
            key = AssetKey(["marts", product]) if product == "delivery_forecasts" else \
                AssetKey(product)
            assert skipped[key]["rebuilt"] is False, product
        assert "open_signals" in skipped[AssetKey(["marts", "insights"])]
        # Only the marts, and the models an asset outside dbt reads (the forecasts' inputs), are
        # materialized again; the other staging and intermediate models keep the
        # materialization of their build. Each of those still has a result for every check
        # (none rerun for dbt's tests, said in its metadata).
        upstream = {key for key in skipped if key.path[0] in ("staging", "intermediate")}
        assert upstream == {AssetKey(["intermediate", "int_issues"]),
                            AssetKey(["staging", "stg_jira__fix_versions"])}
        assert AssetKey(["staging", "stg_github__pull_requests"]) in built
        assert skipped_checks == {(key, name) for key, name in built_checks if key in skipped}
        assert any(key == PULL_REQUESTS for key, _ in skipped_checks)

        # One source table changed: rebuilt, and the new pull request is in the mart. A staging
        # model left as a table (by an earlier version that made it one) is a view again.
        org.write({"github_pull_requests": [_open_pr(77)]}, connection_id="conn_gh")
        _staging_view_made_a_table(org, "stg_github__pull_requests")
        rebuilt, _ = _run(job, instance, org.org_id, DAY)
        assert "rebuilt" not in rebuilt[PULL_REQUESTS]
        assert "rebuilt" not in rebuilt[AssetKey("mart_exports")]
        assert org.query(count)[0][0] == prs + 1
        assert org.query("select table_type from information_schema.tables where table_name = "
                         "'stg_github__pull_requests'") == [("VIEW",)]

        # A new as-of day, nothing else changed: rebuilt as of that day.
        next_day, _ = _run(job, instance, org.org_id, NEXT_DAY)
        assert "rebuilt" not in next_day[PULL_REQUESTS]
        assert next_day[PULL_REQUESTS]["as_of"] == NEXT_DAY
        assert org.query("select max(last_seen_at) from org.marts.insights")[0][0].isoformat(
            " ") == NEXT_DAY

    # A model whose new table cannot be made keeps its last one whole (dbt_project/macros/
    # materializations.sql: created beside it, swapped in one transaction).
    with open_store(org.database_path, org.key()) as store:
        store.connection.execute("create or replace table intermediate.int_pull_requests as "
                                 "select 1 as nothing")
    with pytest.raises(DbtBuildError, match="model.sieve.pull_requests"):
        build_org_marts(org.sieve, org.org_id, args=("run", "--select", "pull_requests"))
    assert org.query(count)[0][0] == prs + 1
