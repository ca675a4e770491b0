"""The one Dagster entry point: merges each folder's definitions and applies global policies."""

import warnings

from dagster import BetaWarning, Definitions, mem_io_manager

from assets import dbt, exports, forecasts, identities, ingestion, notifications
from pipelines import jobs, schedules
from pipelines import retention as retention_jobs
from resources import sieve_resource
from sensors import partition_sync

# Dagster copies every sensor when it resolves a job, passing the sensor's owners on as [] even
# when none were set; each copy then warns that the owners parameter is in beta, on every
# `sieve demo`, `sync` and `retention run`. Sieve sets no sensor owners: the warning is noise.
warnings.filterwarnings("ignore", message="Parameter `owners` of initializer `SensorDefinition",
                        category=BetaWarning)

defs = Definitions.merge(
    # Step outputs are counts or nothing, handed on within one run's process: none is pickled
    # under DAGSTER_HOME (Dagster's default IO manager writes a file per output; rule 1). The
    # UI's own materializations ("Materialize all") run like the sync job: in one process, a
    # step starting once its inputs exist (pipelines/jobs.py).
    Definitions(resources={"io_manager": mem_io_manager}, executor=jobs.sync_executor),
    sieve_resource.defs(),
    ingestion.defs(),
    identities.defs(),
    dbt.defs(),
    forecasts.defs(),
    exports.defs(),
    notifications.defs(),
    jobs.defs(),
    schedules.defs(),
    partition_sync.defs(),
    retention_jobs.defs(),
)

