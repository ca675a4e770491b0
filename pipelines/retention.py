"""The deletion jobs, and running the retention sensors once without a Dagster daemon.

Each job is one step — ``execute_deletion`` — carrying out one request (typed config: the
request id) through ``resources.retention.execute``; after deleting from the metadata it
rebuilds the org's metric tables with dbt, then rewrites the database file. Deletion runs are
not partitioned and carry no org id: only the request id.
"""

from dataclasses import dataclass

from dagster import (
    DagsterInstance,
    Definitions,
    OpExecutionContext,
    RetryRequested,
    build_sensor_context,
    in_process_executor,
    job,
    op,
)

from resources.marts.runner import build_org_marts
from resources.retention.execute import execute_request
from resources.retention.requests import get_request
from resources.retention.runs import DELETION_OP, JOB_FOR_SCOPE, REQUEST_TAG, DeletionRequestConfig
from resources.runtime import Sieve
from resources.sieve_resource import SieveResource
from resources.storage.metadata_store import StoreBusyError
from sensors.retention import RETENTION_SENSORS

BUSY_RETRIES = 3
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@op(name=DELETION_OP,
    description="Delete, rewrite the stores physically, verify, and certify in the audit log.")
def execute_deletion(context: OpExecutionContext, config: DeletionRequestConfig,
                     sieve: SieveResource) -> None:
    with sieve.open() as opened:
        try:
            certificate = execute_request(opened, config.request_id, instance=context.instance,
                                          rebuild_marts=build_org_marts)
        except StoreBusyError as error:
            # A sync held the org's database for the whole wait: try again later, same run.
            raise RetryRequested(max_retries=BUSY_RETRIES, seconds_to_wait=60) from error
    context.log.info(f"deletion request {config.request_id}: verified={certificate['verified']}"
                     f", noop={certificate['noop']}, rows={sum(certificate['rows'].values())}")


def _deletion_job(name: str, description: str):
    @job(name=name, description=description, executor_def=in_process_executor,
         tags={"sieve/kind": "deletion"})
    def deletion_job():
        execute_deletion()

    return deletion_job


DELETION_JOBS = [
    _deletion_job(JOB_FOR_SCOPE["person"], "Forget one person: delete (or de-link) every row "
                  "about them, rebuild the marts, rewrite the database, verify, certify."),
    _deletion_job(JOB_FOR_SCOPE["connection"], "Delete every row that came through a removed "
                  "connection, and its cursors; rewrite the database, verify, certify."),
    _deletion_job(JOB_FOR_SCOPE["organization"], "Delete an organization: shred its files, "
                  "destroy its data key, remove its Dagster partition and runs, verify."),
    _deletion_job(JOB_FOR_SCOPE["out_of_date"], "Delete an organization's data older than its "
                  "retention window (on Sundays also what its sources deleted); rewrite the "
                  "database, verify, certify."),
]


@dataclass(frozen=True)
class RetentionRun:
    sensor: str
    job: str
    request_id: str
    success: bool
    skipped: str | None = None


def run_retention_once(sieve: Sieve, instance: DagsterInstance,
                       org_id: str | None = None) -> list[RetentionRun]:
    """Evaluate every retention sensor once and execute what it launches, in this process
    (for operators without a daemon, tests and the demo). ``org_id`` limits it to one org."""
    from pipelines.definitions import defs

    outcomes = []
    for retention_sensor in RETENTION_SENSORS:
        context = build_sensor_context(instance=instance, resources={"sieve": SieveResource()})
        result = retention_sensor(context)
        run_requests = getattr(result, "run_requests", None) or []
        if not run_requests:
            outcomes.append(RetentionRun(retention_sensor.name, "", "", True,
                                         skipped=getattr(result, "skip_message", None)))
            continue
        for run_request in run_requests:
            request_id = run_request.tags[REQUEST_TAG]
            if org_id is not None and get_request(sieve.control_plane, request_id).org_id != org_id:
                continue
            deletion_job = defs.resolve_job_def(run_request.job_name)
            result = deletion_job.execute_in_process(
                run_config={**run_request.run_config, **QUIET_LOGS}, instance=instance,
                tags=run_request.tags, raise_on_error=False)
            outcomes.append(RetentionRun(retention_sensor.name, run_request.job_name,
                                         request_id, result.success))
    return outcomes


def defs() -> Definitions:
    """The deletion jobs, and the retention sensors targeting them (a sensor that returns run
    requests must name the jobs it may launch, or the daemon rejects its ticks)."""
    return Definitions(jobs=DELETION_JOBS,
                       sensors=[sensor.with_updated_jobs(DELETION_JOBS)
                                for sensor in RETENTION_SENSORS])
