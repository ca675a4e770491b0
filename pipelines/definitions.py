"""The one Dagster entry point: merges each folder's definitions. Nothing else lives here."""

from dagster import Definitions

from assets import dbt, exports, identities, ingestion
from pipelines import jobs, schedules
from pipelines import retention as retention_jobs
from resources import sieve_resource
from sensors import partition_sync

defs = Definitions.merge(
    sieve_resource.defs(),
    ingestion.defs(),
    identities.defs(),
    dbt.defs(),
    exports.defs(),
    jobs.defs(),
    schedules.defs(),
    partition_sync.defs(),
    retention_jobs.defs(),
)
