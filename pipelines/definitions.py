"""The one Dagster entry point: merges each folder's definitions. Nothing else lives here."""

from dagster import Definitions

from assets import identities, ingestion
from pipelines import jobs
from resources import sieve_resource
from sensors import partition_sync

defs = Definitions.merge(
    sieve_resource.defs(),
    ingestion.defs(),
    identities.defs(),
    jobs.defs(),
    partition_sync.defs(),
)
