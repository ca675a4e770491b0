"""The delivery forecasts as a Dagster asset: ``marts.delivery_forecasts``, rebuilt from the
org's ``int_issues`` and Jira fix versions after the dbt models (the method is `resources.marts.forecasts`)."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    TableColumn,
    TableSchema,
    asset,
)

from assets.ingestion import OWNERS
from resources.marts.build_state import make_unless_marts_unchanged
from resources.marts.forecast_mart import FORECASTS_TABLE, build_org_forecasts
from resources.marts.runner import FORECASTS, org_dbt_directory
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource

DELIVERY_FORECASTS = AssetKey(["marts", "delivery_forecasts"])


@asset(
    key=DELIVERY_FORECASTS,
    group_name="marts",
    partitions_def=organization_partitions,
    deps=[AssetKey(["intermediate", "int_issues"]),
          AssetKey(["staging", "stg_jira__fix_versions"])],
    owners=OWNERS,
    kinds={"python", "duckdb"},
    # It writes the org's database, which takes one writer at a time, like the dbt models.
    pool="org_database",
    metadata={"dagster/column_schema": TableSchema(columns=[
        TableColumn(name, type_) for name, type_ in FORECASTS_TABLE.columns])},
    description="Monte Carlo completion forecasts (P50/P85/P95 dates, chance of meeting the "
                "due date, remaining scope and its growth) of every open Jira epic and "
                "unreleased fix version, and the backtest of closed ones from their midpoint. See docs/metrics.md, "
                "\"delivery_forecasts\".",
)
def delivery_forecasts(context: AssetExecutionContext, sieve: SieveResource) -> MaterializeResult:
    with sieve.open() as opened:
        run_dir = org_dbt_directory(opened.settings.orgs_dir, context.partition_key)
        metadata = make_unless_marts_unchanged(
            run_dir, FORECASTS, context.run_id,
            lambda: forecast_metadata(build_org_forecasts(opened, context.partition_key)))
    return MaterializeResult(metadata=metadata)


def forecast_metadata(summary) -> dict:
    within = summary.backtest_within_p85
    return {"open_epics": summary.open_epics, "open_fix_versions": summary.open_versions,
            "forecasts": summary.forecasts,
            "backtested_epics_and_versions": summary.backtested,
            "backtest_within_p85": (round(within, 3) if within is not None
                                    else "nothing closed or released yet")}


def defs() -> Definitions:
    return Definitions(assets=[delivery_forecasts])
