"""The ``identities`` asset: one pseudonymous person per human across every source."""


from dagster import AssetExecutionContext, AssetKey, Definitions, MaterializeResult, asset

from assets.ingestion import OWNERS
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource
from resources.sources import SOURCES
from resources.sync.engine import rebuild_identities


@asset(
    partitions_def=organization_partitions,
    deps=[AssetKey(f"{source}_metadata") for source in SOURCES],
    group_name="identities",
    kinds={"duckdb"},
    owners=OWNERS,
    description="Accounts from every source linked into pseudonymous people (person_id), with "
                "bots flagged and teams from the organization's settings. Tables "
                "`metadata.identity_accounts` and `metadata.people`.",
)
def identities(context: AssetExecutionContext, sieve: SieveResource) -> MaterializeResult:
    with sieve.open() as opened:
        counts = rebuild_identities(opened, context.partition_key)
    return MaterializeResult(metadata=counts)


def defs() -> Definitions:
    return Definitions(assets=[identities])
