"""Runs whose process is gone are failed with a reason and give their pool slots back — by the
CLI before it launches a run, and by the daemon's run monitoring through the run launcher."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.launcher import WorkerStatus
from dagster._core.test_utils import create_run_for_test

from pipelines.dead_runs import (
    RUN_HOST_TAG,
    SieveRunLauncher,
    fail_dead_runs,
    process_is_gone,
    this_host,
)
from pipelines.instance import write_embedded_instance


@pytest.fixture
def instance(sieve_home):
    dagster_home = sieve_home / "dagster"
    write_embedded_instance(dagster_home)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.event_log_storage.set_concurrency_slots("github_api", 4)
        yield instance


def exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def started_run(instance, pid: int, *, host: str | None = None, step: str = "github_sync"):
    """A STARTED run whose RUN_START came from ``pid``, holding a github_api slot in ``step``."""
    run = create_run_for_test(instance, job_name="sync_organization",
                              tags={RUN_HOST_TAG: host or this_host(),
                                    "dagster/partition": "org_1"})
    instance.report_dagster_event(
        DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name, pid=pid),
        run.run_id)
    instance.event_log_storage.claim_concurrency_slot("github_api", run.run_id, step)
    return instance.get_run_by_id(run.run_id)


def slot_holders(instance) -> set[str]:
    return instance.event_log_storage.get_concurrency_info("github_api").active_run_ids


def test_the_cli_fails_dead_runs_and_frees_their_slots(instance):
    dead = started_run(instance, exited_pid())
    alive = started_run(instance, os.getpid())
    elsewhere = started_run(instance, exited_pid(), host="another-machine")
    assert dead.status == DagsterRunStatus.STARTED

    [failed] = fail_dead_runs(instance)

    assert failed.run_id == dead.run_id and failed.freed_slots == ("github_api",)
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    [failure] = instance.get_records_for_run(dead.run_id,
                                             of_type=DagsterEventType.RUN_FAILURE).records
    assert "is gone — killed or crashed" in failure.event_log_entry.dagster_event.message
    assert slot_holders(instance) == {alive.run_id, elsewhere.run_id}
    assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
    assert fail_dead_runs(instance) == []


def test_a_pid_reused_by_a_process_started_after_the_run_counts_as_gone():
    later = subprocess.Popen(["sleep", "30"])
    try:
        assert process_is_gone(later.pid, run_started_at=time.time() - 60)
        assert not process_is_gone(later.pid, run_started_at=time.time() + 1)
    finally:
        later.kill()
        later.wait()
    assert process_is_gone(later.pid, run_started_at=time.time())


def test_the_daemon_launcher_reports_a_dead_worker_to_run_monitoring(instance):
    assert instance.run_monitoring_enabled
    launcher = instance.run_launcher
    assert isinstance(launcher, SieveRunLauncher) and launcher.supports_check_run_worker_health
    dead = started_run(instance, exited_pid())
    alive = started_run(instance, os.getpid())
    health = launcher.check_run_worker_health(dead)
    assert health.status == WorkerStatus.FAILED and "is gone" in health.msg
    assert launcher.check_run_worker_health(alive).status == WorkerStatus.RUNNING
