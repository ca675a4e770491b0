"""Where the delivery forecasts sit in the asset graph: after the dbt model they read, in the
org database's pool, in the sync job, and before the exports that publish them."""

from __future__ import annotations

from dagster import AssetKey

from assets.forecasts import DELIVERY_FORECASTS


def test_forecasts_follow_int_issues_hold_the_org_database_and_feed_the_exports():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert graph.get(DELIVERY_FORECASTS).parent_keys == {
        AssetKey(["intermediate", "int_issues"]), AssetKey(["staging", "stg_jira__fix_versions"])}
    assert defs.resolve_assets_def(DELIVERY_FORECASTS).op.pool == "org_database"
    for export in ("mart_exports", "report"):
        assert DELIVERY_FORECASTS in graph.get(AssetKey([export])).parent_keys
    sync = defs.resolve_job_def("sync_organization")
    assert DELIVERY_FORECASTS in sync.asset_layer.selected_asset_keys
