"""Running jobs in the local Dagster instance from the CLI (visible in the UI like any run)."""

from __future__ import annotations

import os
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TextIO

from dagster import DagsterEventType, DagsterInstance

from pipelines.dead_runs import RUN_HOST_TAG, fail_dead_runs, this_host
from pipelines.instance import apply_pool_limits, write_embedded_instance
from pipelines.progress import RunProgress
from resources.partitions import organization_partitions
from resources.settings import SieveSettings
from resources.storage.control_plane import Organization

# Failures are summarised by the caller with their people-facing message; the full event log
# (with stack traces) stays in the instance for the UI.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def open_instance(settings: SieveSettings) -> DagsterInstance:
    write_embedded_instance(settings.dagster_home)
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    apply_pool_limits(instance)
    return instance


def ensure_partition(instance: DagsterInstance, org: Organization) -> None:
    if not instance.has_dynamic_partition(organization_partitions.name, org.id):
        instance.add_dynamic_partitions(organization_partitions.name, [org.id])


@dataclass(frozen=True)
class JobOutcome:
    run_id: str
    success: bool
    # asset key → materialization metadata (counts only)
    materializations: dict[str, dict]
    failures: list[str]


def run_org_job(settings: SieveSettings, org: Organization, job_name: str,
                tags: dict[str, str] | None = None, progress: TextIO | None = None) -> JobOutcome:
    """Run ``job_name`` for ``org`` in this process; ``progress`` (e.g. stderr) gets a live
    status line per step."""
    from pipelines.definitions import defs

    # The resource reads SIEVE_HOME through EnvVar; a CLI relying on the default names it.
    os.environ.setdefault("SIEVE_HOME", str(settings.home))
    job = defs.resolve_job_def(job_name)
    run_id = str(uuid.uuid4())
    with open_instance(settings) as instance:
        ensure_partition(instance, org)
        report_dead_runs(instance, progress)
        following = RunProgress(instance, run_id, progress) if progress else nullcontext()
        try:
            with following:
                result = job.execute_in_process(
                    instance=instance, partition_key=org.id, raise_on_error=False,
                    run_id=run_id, run_config=QUIET_LOGS,
                    tags={"sieve/trigger": "cli", RUN_HOST_TAG: this_host(), **(tags or {})})
        finally:
            # An interrupted run (Ctrl-C) would otherwise keep its pool slots, and the next
            # sync would wait for them forever.
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        materializations = {}
        last_error: dict[str, str] = {}
        failed_steps = []
        for event in result.all_events:
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                materializations[materialization.asset_key.to_user_string()] = {
                    key: value.value for key, value in materialization.metadata.items()}
            elif event.event_type in (DagsterEventType.STEP_FAILURE,
                                      DagsterEventType.STEP_UP_FOR_RETRY):
                message = step_error_message(event)
                # "Exceeded max_retries" hides the cause: keep the error that triggered it.
                if message and not message.startswith("Exceeded max_retries"):
                    last_error[event.step_key] = message
                if event.event_type == DagsterEventType.STEP_FAILURE:
                    failed_steps.append(event.step_key)
        failures = [f"{step}: {last_error.get(step, 'failed')}" for step in failed_steps]
        return JobOutcome(result.run_id, result.success, materializations, failures)


def report_dead_runs(instance: DagsterInstance, stream: TextIO | None) -> None:
    """Fail the runs of this machine whose process is gone before launching one: they hold
    pool slots shared by every organization, and a new run would wait for them for ever."""
    for dead in fail_dead_runs(instance):
        slots = ", ".join(dead.freed_slots) or "none"
        if stream is not None:
            stream.write(f"  failed run {dead.run_id} ({dead.job_name} of {dead.organization}): "
                         f"its process {dead.pid} is gone; freed its pool slots: {slots}\n")


def step_error_message(event) -> str | None:
    data = event.event_specific_data
    error = getattr(data, "error", None)
    user_failure = getattr(data, "user_failure_data", None)
    if user_failure is not None and user_failure.description:
        return user_failure.description.strip()
    while error is not None:
        if error.cause is None:
            return error.message.strip()
        error = error.cause
    return None
