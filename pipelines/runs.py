"""Running jobs in the local Dagster instance from the CLI (visible in the UI like any run)."""

from __future__ import annotations

import os
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TextIO

from dagster import DagsterEventType, DagsterInstance
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run

from assets.ingestion import (
    FAILED_CONNECTION_LABEL,
    FAILURE_SOURCE_LABEL,
    SKIPPED_CONNECTION_LABEL,
)
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
class FailedConnection:
    source: str
    connection_id: str
    # People-facing: what failed, why, and what to do.
    message: str


@dataclass(frozen=True)
class SkippedConnection:
    source: str
    connection_id: str
    # People-facing: why it was not tried, and where the command to fix it is.
    message: str


@dataclass(frozen=True)
class JobOutcome:
    run_id: str
    success: bool
    # asset key → materialization metadata (counts only)
    materializations: dict[str, dict]
    # "step: message" for each failed step, except a source step failed only by some of its
    # connections: those are in failed_connections.
    failures: list[str]
    failed_connections: list[FailedConnection] = field(default_factory=list)
    # Connections the source steps did not try: each needs a person to connect it again.
    skipped_connections: list[SkippedConnection] = field(default_factory=list)


def run_org_job(settings: SieveSettings, org: Organization, job_name: str,
                tags: dict[str, str] | None = None, progress: TextIO | None = None) -> JobOutcome:
    """Run ``job_name`` for ``org`` in this process; ``progress`` (e.g. stderr) gets a live
    status line per step.

    The run goes through the job's own executor, as a run launched from the UI or a schedule
    does (``execute_in_process`` would swap in a default one): the sync job's executor starts
    the marts once a source step has materialized, even when that step then fails for one
    connection (pipelines/jobs.py)."""
    # The resource reads SIEVE_HOME through EnvVar; a CLI relying on the default names it.
    os.environ.setdefault("SIEVE_HOME", str(settings.home))
    job = ReconstructableRepository.for_module(
        "pipelines.definitions", "defs").get_reconstructable_job(job_name)
    job_def = job.get_definition()
    run_id = str(uuid.uuid4())
    with open_instance(settings) as instance:
        ensure_partition(instance, org)
        report_dead_runs(instance, progress)
        partition = job_def.get_tags_for_partition_key(org.id, selected_asset_keys=None)
        run = instance.create_run_for_job(
            job_def, run_id=run_id, run_config=QUIET_LOGS,
            tags={**job_def.run_tags, **partition, "sieve/trigger": "cli",
                  RUN_HOST_TAG: this_host(), **(tags or {})})
        following = RunProgress(instance, run_id, progress) if progress else nullcontext()
        try:
            with following:
                result = execute_run(job, run, instance, raise_on_error=False)
        finally:
            # An interrupted run (Ctrl-C) would otherwise keep its pool slots, and the next
            # sync would wait for them forever.
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        return job_outcome(result.run_id, result.success, result.all_events)


def job_outcome(run_id: str, success: bool, events) -> JobOutcome:
    materializations = {}
    last_error: dict[str, str] = {}
    failed_steps = []
    failed_connections = []
    for event in events:
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
                connections = connection_failures(event)
                failed_connections.extend(connections)
                if not connections:
                    failed_steps.append(event.step_key)
    failures = [f"{step}: {last_error.get(step, 'failed')}" for step in failed_steps]
    return JobOutcome(run_id, success, materializations, failures, failed_connections,
                      skipped_connections(materializations))


def skipped_connections(materializations: dict[str, dict]) -> list[SkippedConnection]:
    """The connections each ``raw_<source>`` materialization says were skipped
    (assets/ingestion.py puts one metadata entry per skipped connection)."""
    return [SkippedConnection(asset_key.removeprefix("raw_"),
                              key.removeprefix(SKIPPED_CONNECTION_LABEL), reason)
            for asset_key, metadata in sorted(materializations.items())
            if asset_key.startswith("raw_")
            for key, reason in metadata.items() if key.startswith(SKIPPED_CONNECTION_LABEL)]


def connection_failures(event) -> list[FailedConnection]:
    """The connections a source step's failure names (assets/ingestion.py puts one metadata
    entry per failed connection); none for any other failure."""
    user_failure = getattr(event.event_specific_data, "user_failure_data", None)
    metadata = user_failure.metadata if user_failure is not None else {}
    source = metadata.get(FAILURE_SOURCE_LABEL)
    if source is None:
        return []
    return [FailedConnection(source.value, key.removeprefix(FAILED_CONNECTION_LABEL), value.value)
            for key, value in metadata.items() if key.startswith(FAILED_CONNECTION_LABEL)]


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
