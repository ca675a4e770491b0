"""The ``exports`` group: what analysts take away from each sync — the marts as encrypted
Parquet, and the HTML report. Both read the org's database after the marts are rebuilt."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    asset,
)

from assets import dbt
from assets.forecasts import DELIVERY_FORECASTS
from assets.ingestion import OWNERS
from resources.analyst.exports import current_export, export_marts
from resources.analyst.report import report_path, write_report
from resources.marts.build_state import make_unless_marts_unchanged
from resources.marts.runner import org_dbt_directory
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource


def mart_asset_keys() -> list[AssetKey]:
    """The mart models' asset keys, as the dbt assets define them (from the dbt manifest), and
    the forecasts table built beside them."""
    manifest = dbt.prepared_manifest(dbt.DBT_PROJECT)
    return [AssetKey(["marts", name]) for name in dbt.mart_names(manifest)] + [DELIVERY_FORECASTS]


def build_export_assets(mart_keys: list[AssetKey]) -> list:
    # Both read the org's database, which takes one writer or readers at a time: the pool
    # keeps them off a sync or deletion of the same org running in another run.
    shared = {"partitions_def": organization_partitions, "deps": mart_keys,
              "group_name": "exports", "owners": OWNERS, "pool": "org_database"}

    @asset(
        **shared,
        kinds={"parquet"},
        description="Every mart of the organization as Parquet encrypted with its export key "
                    "(derived from its data key), published atomically under "
                    "SIEVE_HOME/orgs/<org_id>/exports/current/. Marts only: no metadata table. "
                    "Read them with the key from `sieve export-key` (docs/analysts.md).",
    )
    def mart_exports(context: AssetExecutionContext, sieve: SieveResource) -> MaterializeResult:
        with sieve.open() as opened:
            org = opened.control_plane.organization(context.partition_key)

            def export() -> dict:
                result = export_marts(opened, org)
                return {"marts_exported": len(result.row_counts), "rows_exported": result.rows,
                        **{f"rows.{mart}": rows for mart, rows in result.row_counts.items()}}

            metadata = make_unless_marts_unchanged(
                org_dbt_directory(opened.settings.orgs_dir, org.id), "mart_exports",
                context.run_id, export,
                output_exists=current_export(opened.settings.orgs_dir, org.id).exists())
        return MaterializeResult(metadata=metadata)

    @asset(
        **shared,
        kinds={"html"},
        description="The organization's self-contained HTML dashboard (DORA metrics with "
                    "performance bands, PR cycle time, throughput and WIP, issue flow, sprints, "
                    "review load), rebuilt from the marts whenever they are rebuilt, at "
                    "SIEVE_HOME/orgs/<org_id>/report.html. Aggregates only: nobody is named.",
    )
    def report(context: AssetExecutionContext, sieve: SieveResource) -> MaterializeResult:
        with sieve.open() as opened:
            org = opened.control_plane.organization(context.partition_key)
            path = report_path(opened.settings.orgs_dir, org.id)

            def write() -> dict:
                summary = write_report(opened, org, path)
                return {"weeks": summary.weeks, "charts": summary.charts, "bytes": summary.bytes}

            metadata = make_unless_marts_unchanged(
                org_dbt_directory(opened.settings.orgs_dir, org.id), "report", context.run_id,
                write, output_exists=path.exists())
        return MaterializeResult(metadata=metadata)

    return [mart_exports, report]


def defs() -> Definitions:
    return Definitions(assets=build_export_assets(mart_asset_keys()))
