"""The insight notifications as a Dagster asset: after the insights mart is built, its new and
resolved signals go to the organization's webhook, if it has one (`sieve notify`). The plain
code is `resources.notifications`."""

from dagster import AssetExecutionContext, Definitions, MaterializeResult, asset

from assets.dbt import INSIGHTS_KEY
from assets.ingestion import OWNERS
from resources.errors import SieveError
from resources.notifications.delivery import deliver_insight_notifications
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource


@asset(
    partitions_def=organization_partitions,
    deps=[INSIGHTS_KEY],
    group_name="exports",
    owners=OWNERS,
    kinds={"python"},
    # It reads the org's database, which takes one writer or readers at a time.
    pool="org_database",
    description="New and resolved signals of marts.insights, each told once to the "
                "organization's webhook (Slack or generic JSON) — off unless `sieve notify` "
                "turned it on. Never names a person. A receiver that fails does not fail the "
                "sync: what it missed is sent at the next one. See docs/operations.md, "
                "\"Notifications\".",
)
def insight_notifications(context: AssetExecutionContext,
                          sieve: SieveResource) -> MaterializeResult:
    with sieve.open() as opened:
        org = opened.control_plane.organization(context.partition_key)
        try:
            outcome = deliver_insight_notifications(opened, org)
        except SieveError as problem:
            # A notification is never worth a failed sync; the next one tries again.
            context.log.warning(f"Notifications of organization {org.slug} not sent: {problem}")
            return MaterializeResult(metadata={"notifications": "not sent",
                                               "reason": str(problem)})
    if outcome.failure:
        context.log.warning(f"Notifications of organization {org.slug}: {outcome.failure}")
    return MaterializeResult(metadata=outcome.as_metadata())


def defs() -> Definitions:
    return Definitions(assets=[insight_notifications])
