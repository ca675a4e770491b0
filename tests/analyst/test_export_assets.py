"""The `mart_exports` and `report` assets: group exports, downstream of every mart, run by the
nightly sync job, and materialized for one organization partition with counts-only
metadata."""

from __future__ import annotations

from dagster import AssetKey, DagsterInstance, materialize

from assets.exports import build_export_assets, mart_asset_keys
from pipelines.definitions import defs
from resources.analyst.exports import current_export
from resources.analyst.report import report_path
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource
from tests.analyst.marts import PERSON_IDS, build_marts

EXPORT_KEYS = {AssetKey("mart_exports"), AssetKey("report")}


def test_the_export_assets_follow_every_mart_and_run_with_the_nightly_sync():
    marts = set(mart_asset_keys())
    assert AssetKey(["marts", "dora_weekly"]) in marts and len(marts) >= 10
    graph = defs.resolve_asset_graph()
    for key in EXPORT_KEYS:
        node = graph.get(key)
        assert node.group_name == "exports"
        assert set(node.parent_keys) == marts
        assert node.owners and node.description
        assert node.partitions_def == organization_partitions
    kinds = {key: set(graph.get(key).kinds) for key in EXPORT_KEYS}
    assert kinds == {AssetKey("mart_exports"): {"parquet"}, AssetKey("report"): {"html"}}
    job = defs.resolve_job_def("sync_organization")
    assert EXPORT_KEYS <= set(job.asset_layer.asset_graph.get_all_asset_keys())


def test_materializing_them_writes_the_export_and_the_report(sieve_org):
    org = sieve_org("acme")
    counts = build_marts(org)
    assets = build_export_assets(mart_asset_keys())
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(organization_partitions.name, [org.org.id])
        result = materialize(assets, instance=instance, partition_key=org.org.id,
                             resources={"sieve": SieveResource()})
    assert result.success
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        metadata[materialization.asset_key.to_user_string()] = {
            name: value.value for name, value in materialization.metadata.items()}
    assert metadata["mart_exports"]["marts_exported"] == len(counts)
    assert metadata["mart_exports"]["rows_exported"] == sum(counts.values())
    assert metadata["mart_exports"]["rows.review_load"] == counts["review_load"]
    assert metadata["report"]["charts"] == 13 and metadata["report"]["weeks"] == 12
    values = [str(v) for m in metadata.values() for v in m.values()]
    assert all(v.isdigit() for v in values), values  # counts only
    assert not [p for p in PERSON_IDS if p in " ".join(values)]
    assert (current_export(org.sieve.settings.orgs_dir, org.org.id) / "dora_weekly.parquet"
            ).exists()
    assert report_path(org.sieve.settings.orgs_dir, org.org.id).read_text().startswith(
        "<!DOCTYPE html>")
