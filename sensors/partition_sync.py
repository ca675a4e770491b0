"""Keeps the ``organizations`` dynamic partitions equal to the control plane's live orgs."""

from __future__ import annotations

from dagster import (
    DefaultSensorStatus,
    Definitions,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource


def partition_changes(live_org_ids: set[str], existing: set[str]) -> tuple[list[str], list[str]]:
    return sorted(live_org_ids - existing), sorted(existing - live_org_ids)


@sensor(
    name="organization_partitions_sensor",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a partition for each new organization and removes deleted ones.",
)
def organization_partitions_sensor(context: SensorEvaluationContext, sieve: SieveResource):
    with sieve.open() as opened:
        live = {o.id for o in opened.control_plane.organizations() if o.status != "deleted"}
    existing = set(context.instance.get_dynamic_partitions(organization_partitions.name))
    to_add, to_remove = partition_changes(live, existing)
    if not to_add and not to_remove:
        agreed = "partition already matches" if len(existing) == 1 else "partitions already match"
        return SkipReason(f"{len(existing)} organization {agreed} the control plane")
    requests = []
    if to_add:
        requests.append(organization_partitions.build_add_request(to_add))
    if to_remove:
        requests.append(organization_partitions.build_delete_request(to_remove))
    return SensorResult(dynamic_partitions_requests=requests)


def defs() -> Definitions:
    return Definitions(sensors=[organization_partitions_sensor])
