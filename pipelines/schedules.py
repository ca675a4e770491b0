"""The nightly sync: one ``sync_organization`` run per active organization.

A true nightly cron in UTC, so the UI shows when it runs ("At 02:00 AM UTC"), not "Every
hour". Its hour is a definition, read from ``SIEVE_NIGHTLY_HOUR_UTC`` (default 2) when the code
location loads — ``defs()``, never at import: restart ``sieve ui`` after changing it. Run keys
are ``nightly-<org id>-<date>``: a re-evaluated tick never launches a second run for the same
organization on the same day. A run whose organization has connections waiting to be connected
again (``needs_reauth``) carries their ids in the ``sieve/needs_reauth`` tag: the UI's run list
shows that they will be skipped, and why is in the run's sync step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from dagster import (
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from pipelines.jobs import sync_organization_job
from resources.errors import SieveError
from resources.partitions import organization_partitions
from resources.security.access_review import record_monthly_review
from resources.sieve_resource import SieveResource
from resources.storage.control_plane.credentials import credential_health

NIGHTLY_HOUR_ENV = "SIEVE_NIGHTLY_HOUR_UTC"
NEEDS_REAUTH_TAG = "sieve/needs_reauth"
DEFAULT_NIGHTLY_HOUR = 2


class ScheduleConfigError(SieveError):
    pass


def nightly_hour(environ: Mapping[str, str]) -> int:
    """The UTC hour of the nightly sync, from ``SIEVE_NIGHTLY_HOUR_UTC`` (0–23)."""
    raw = environ.get(NIGHTLY_HOUR_ENV, "").strip()
    if not raw:
        return DEFAULT_NIGHTLY_HOUR
    if not raw.isdigit() or not 0 <= int(raw) <= 23:
        raise ScheduleConfigError(f"{NIGHTLY_HOUR_ENV}={raw!r} is not an hour: set it to a "
                                  "whole number from 0 to 23 (UTC), or unset it for 02:00 UTC.")
    return int(raw)


def nightly_run_key(org_id: str, tick: datetime) -> str:
    return f"nightly-{org_id}-{tick:%Y-%m-%d}"


def nightly_schedule(hour: int = DEFAULT_NIGHTLY_HOUR) -> ScheduleDefinition:
    """The nightly sync at ``hour``:00 UTC every day."""

    @schedule(
        name="nightly_sync_schedule",
        job=sync_organization_job,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Every night at {hour:02d}:00 UTC ({NIGHTLY_HOUR_ENV}), one "
                    "sync_organization run per active organization partition.",
    )
    def nightly_sync_schedule(context: ScheduleEvaluationContext, sieve: SieveResource):
        return nightly_run_requests(context, sieve)

    return nightly_sync_schedule


def nightly_run_requests(context: ScheduleEvaluationContext, sieve: SieveResource):
    tick = context.scheduled_execution_time
    with sieve.open() as opened:
        organizations = opened.control_plane.organizations(status="active")
        active = [org.id for org in organizations]
        waiting = {org.id: connections_needing_reauth(opened.control_plane, org)
                   for org in organizations}
        # The statement promises routine access audits: one review summary a month.
        if record_monthly_review(opened.access, tick, actor="sieve:nightly_sync_schedule"):
            context.log.info("recorded this month's access review summary in the audit log")
    if not active:
        return SkipReason("no active organization to sync: add one with `sieve org add`")
    partitions = set(context.instance.get_dynamic_partitions(organization_partitions.name))
    ready = [org_id for org_id in active if org_id in partitions]
    if not ready:
        return SkipReason(f"{len(active)} active organization(s), none has its partition yet: "
                          "organization_partitions_sensor adds them within a minute")
    if len(ready) < len(active):
        context.log.warning(f"{len(active) - len(ready)} active organization(s) wait for their "
                            "partition (organization_partitions_sensor) and sync tomorrow")
    for org_id in ready:
        if waiting[org_id]:
            context.log.warning(f"organization {org_id}: {', '.join(waiting[org_id])} need(s) "
                                "connecting again and will be skipped; the rest syncs")
    return [RunRequest(run_key=nightly_run_key(org_id, tick), partition_key=org_id,
                       tags={"sieve/trigger": "nightly",
                             **({NEEDS_REAUTH_TAG: ",".join(waiting[org_id])}
                                if waiting[org_id] else {})})
            for org_id in ready]


def connections_needing_reauth(control_plane, org) -> list[str]:
    """The ids (opaque, safe in tags) of the organization's connections that a person must
    connect again before they can sync."""
    return [connection.id for connection in control_plane.connections(org)
            if credential_health(control_plane, connection.id).needs_reauth]


def defs() -> Definitions:
    return Definitions(schedules=[nightly_schedule(nightly_hour(os.environ))])
