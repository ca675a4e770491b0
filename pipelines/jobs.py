"""Jobs. The organization sync runs every step in one process: raw pages are handed to
extraction in memory inside a step, and the organization's DuckDB file takes one writer at a
time, so steps must not run as parallel processes against it. Organizations run in parallel as
separate runs (one per partition)."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from pipelines.instance import RUN_RETRIES_TAG
from resources.partitions import organization_partitions

SYNC_GROUPS = ("raw", "metadata", "identities", "staging", "intermediate", "marts", "exports")
# A failed sync run is retried from its failed step (the instance enables run retries; this tag
# opts in). Every write is an idempotent upsert, so re-executing a step converges.
SYNC_RUN_RETRIES = {RUN_RETRIES_TAG: "2", "dagster/retry_strategy": "FROM_FAILURE"}
# A source step whose connection failed still materializes what the other connections synced,
# then fails with the cause. Dagster's default starts a step only when every step upstream
# succeeded, so one refused token would leave every mart "not executed"; this mode starts a step
# once the outputs it depends on exist (dagster-io/dagster#29237, `step_dependency_config`).
# A step that fails before its outputs still stops what depends on it.
sync_executor = in_process_executor.configured(
    {"step_dependency_config": {"require_upstream_step_success": False}},
    name="in_process_outputs_first")

sync_organization_job = define_asset_job(
    name="sync_organization",
    selection=AssetSelection.groups(*SYNC_GROUPS),
    partitions_def=organization_partitions,
    executor_def=sync_executor,
    tags=SYNC_RUN_RETRIES,
    description="Fetch every source of one organization, extract allow-listed metadata into its "
                "encrypted DuckDB, link identities, and rebuild its metric tables and exports.",
)


def defs() -> Definitions:
    return Definitions(jobs=[sync_organization_job])
