"""Retention sensors: each launches the deletion job for what is due, keyed by the request id
(so a request is launched once), and returns a SkipReason when nothing is.

- ``deletion_request_sensor``: people forgotten (``sieve forget``) and organizations deleted
  at once (``sieve org delete``).
- ``account_termination_sensor``: terminated organizations whose grace period has ended.
- ``removed_connection_sensor``: data of removed connections (``sieve disconnect``).
- ``out_of_date_sensor``: once a day per organization, data older than its retention window;
  on Sundays also the records its sources no longer return (deleted upstream).
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from resources.retention.requests import get_request, list_requests, record_request
from resources.retention.runs import deletion_run_request
from resources.sieve_resource import SieveResource
from resources.storage.control_plane import ControlPlaneError

RETENTION_SENSORS_INTERVAL = 60


def _now() -> datetime:
    return datetime.now(UTC)


def _due_requests(sieve: SieveResource, scopes: tuple[str, ...], *, deferred: bool):
    """Pending requests of these scopes that are due; ``deferred`` picks those with a
    not-before time (terminations), otherwise those without."""
    now = _now()
    with sieve.open() as opened:
        pending = list_requests(opened.control_plane, scopes=scopes, statuses=("pending",))
    waiting = [r for r in pending if (r.not_before is not None) == deferred]
    return [r for r in waiting if r.due(now)], [r for r in waiting if not r.due(now)]


def _launch(requests) -> SensorResult:
    return SensorResult(run_requests=[deletion_run_request(r.id, r.scope) for r in requests])


@sensor(name="deletion_request_sensor", minimum_interval_seconds=RETENTION_SENSORS_INTERVAL,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launches forget_person / purge_organization for each pending request "
                    "to forget a person or delete an organization now.")
def deletion_request_sensor(context: SensorEvaluationContext, sieve: SieveResource):
    due, _ = _due_requests(sieve, ("person", "organization"), deferred=False)
    if not due:
        return SkipReason("no pending request to forget a person or delete an organization")
    return _launch(due)


@sensor(name="account_termination_sensor", minimum_interval_seconds=RETENTION_SENSORS_INTERVAL,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launches purge_organization when a terminated account's grace period "
                    "(at most 30 days) has ended.")
def account_termination_sensor(context: SensorEvaluationContext, sieve: SieveResource):
    due, waiting = _due_requests(sieve, ("organization",), deferred=True)
    if not due:
        if waiting:
            first = min(r.not_before for r in waiting)
            return SkipReason(f"{len(waiting)} terminated organization(s) in their grace "
                              f"period; the first purge is due at {first.isoformat()}")
        return SkipReason("no terminated organization")
    return _launch(due)


@sensor(name="removed_connection_sensor", minimum_interval_seconds=RETENTION_SENSORS_INTERVAL,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launches delete_connection_data for each removed connection.")
def removed_connection_sensor(context: SensorEvaluationContext, sieve: SieveResource):
    due, _ = _due_requests(sieve, ("connection",), deferred=False)
    if not due:
        return SkipReason("no removed connection with data left to delete")
    return _launch(due)


def out_of_date_request_id(org_id: str, day: datetime) -> str:
    """One request per organization per day: deterministic, so a re-evaluation finds it."""
    return f"ood_{org_id.removeprefix('org_')}_{day:%Y%m%d}"


@sensor(name="out_of_date_sensor", minimum_interval_seconds=3600,
        default_status=DefaultSensorStatus.RUNNING,
        description="Once a day per organization, launches remove_out_of_date_data to delete "
                    "data older than the organization's retention window (and, on Sundays, "
                    "records deleted upstream).")
def out_of_date_sensor(context: SensorEvaluationContext, sieve: SieveResource):
    today = _now()
    launch = []
    with sieve.open() as opened:
        control_plane = opened.control_plane
        for org in control_plane.organizations(status="active"):
            request_id = out_of_date_request_id(org.id, today)
            try:
                request = get_request(control_plane, request_id)
            except ControlPlaneError:
                request = record_request(control_plane, org, "out_of_date",
                                         subject_kind="organization", subject_ref=org.id,
                                         request_id=request_id)
            if request.status == "pending":
                launch.append(request)
    if not launch:
        return SkipReason(f"today's retention-window check already ran for every organization "
                          f"({today:%Y-%m-%d})")
    return _launch(launch)


RETENTION_SENSORS = (deletion_request_sensor, account_termination_sensor,
                     removed_connection_sensor, out_of_date_sensor)

