"""Runs whose process is gone: found, failed with a reason, and their pool slots freed.

A run killed with ``kill -9`` (or by the OOM killer, or a crashed machine) never reports its
end: it stays STARTED for ever, keeps the concurrency-pool slots of the step it was in (pools
are shared by every organization) and keeps its organization's queued runs waiting. A run's
process is the one that logged its RUN_START event (the CLI for `sieve sync`, the run worker
for a run the daemon launched); runs are tagged with the host they run on, so a check only
judges runs of its own machine.

Two places use it: the CLI before it launches a run (``fail_dead_runs``), and the daemon's run
monitoring through ``SieveRunLauncher`` (``check_run_worker_health``), configured in the
instance (pipelines/instance.py).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.launcher.base import LaunchRunContext
from dagster._core.storage.dagster_run import DagsterRun

RUN_HOST_TAG = "sieve/host"
# A process that started this much after its run's RUN_START is another one that reuses the
# pid (clock ticks round to 1/100 s; the slack absorbs that).
PID_REUSE_SLACK_SECONDS = 1.0


def this_host() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    job_name: str
    organization: str | None
    pid: int
    freed_slots: tuple[str, ...]  # the pool of each slot it held


def run_process(instance: DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid that started ``run_id`` and when (epoch seconds); None before it started."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START,
                                           limit=1).records
    if not records or records[0].event_log_entry.dagster_event is None:
        return None
    entry = records[0].event_log_entry
    return entry.dagster_event.pid, entry.timestamp


def process_is_gone(pid: int, run_started_at: float) -> bool:
    """True when no process ``pid`` runs, or the one that does started after the run did."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    started_at = process_start_time(pid)
    return started_at is not None and started_at > run_started_at + PID_REUSE_SLACK_SECONDS


def process_start_time(pid: int) -> float | None:
    """Epoch seconds at which ``pid`` started, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, IndexError, StopIteration):
        return None
    if fields[0] == "Z":
        return float("inf")  # exited; only its parent has not collected it yet
    return int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def is_dead(instance: DagsterInstance, run: DagsterRun, host: str) -> int | None:
    """The pid of ``run`` when it ran on ``host`` and its process is gone, else None."""
    if run.tags.get(RUN_HOST_TAG) != host:
        return None
    started = run_process(instance, run.run_id)
    if started is None:
        return None
    pid, started_at = started
    return pid if process_is_gone(pid, started_at) else None


def dead_run_reason(pid: int, host: str) -> str:
    return (f"The run's process (pid {pid} on {host}) is gone — killed or crashed — without "
            "reporting its end. Sieve marked the run failed and freed its concurrency-pool "
            "slots; data already stored is kept and the next sync resumes from it.")


def fail_dead_runs(instance: DagsterInstance, host: str | None = None) -> list[DeadRun]:
    """Fail every STARTED run of ``host`` (default: this one) whose process is gone, and free
    the pool slots it held."""
    host = host or this_host()
    dead = []
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED],
                                            tags={RUN_HOST_TAG: host})):
        pid = is_dead(instance, run, host)
        if pid is None:
            continue
        instance.report_run_failed(run, dead_run_reason(pid, host))
        held = pool_slots_held(instance, run.run_id)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        dead.append(DeadRun(run.run_id, run.job_name, run.tags.get("dagster/partition"), pid,
                            tuple(held)))
    return dead


def pool_slots_held(instance: DagsterInstance, run_id: str) -> list[str]:
    """The pool of each concurrency slot ``run_id`` holds (a pool once per slot)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    return [pool for pool in sorted(storage.get_concurrency_keys())
            for slot in storage.get_concurrency_info(pool).claimed_slots if slot.run_id == run_id]


class SieveRunLauncher(DefaultRunLauncher):
    """Dagster's local run launcher, with the worker health check run monitoring needs: the
    daemon then fails a run whose worker died (the stock launcher cannot tell)."""

    def launch_run(self, context: LaunchRunContext) -> None:
        self._instance.add_run_tags(context.dagster_run.run_id, {RUN_HOST_TAG: this_host()})
        super().launch_run(context)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        host = this_host()
        pid = is_dead(self._instance, run, host)
        if pid is None:
            # Alive, not started yet, or on another machine: nothing this daemon can judge.
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, dead_run_reason(pid, host))
