"""Four `sieve sync` processes killed with `kill -9` in the middle of their GitHub step hold all
four slots of the `github_api` pool, which every organization shares. A fifth `sieve sync` must
not wait for them for ever: it fails the dead runs, says so, frees their slots and completes
(issue 21 item 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.instance import POOL_LIMITS, apply_pool_limits, write_embedded_instance

pytestmark = pytest.mark.slow

KILLED = POOL_LIMITS["github_api"]
# Every GitHub answer takes this long while the syncs to be killed run: under the client's
# 30 s read timeout, so they stay in their GitHub step without failing it.
SLOW_ANSWER_SECONDS = 20


@pytest.fixture
def sieve_home(sieve_home, monkeypatch):
    """A short SIEVE_HOME: dbt's key socket lives under it, and a socket path must fit
    AF_UNIX's 108 bytes (pytest's per-test directories do not)."""
    home = Path(tempfile.mkdtemp(prefix="sieve-"))
    monkeypatch.setenv("SIEVE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def sieve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines", *args]


def github_slot_holders(instance: DagsterInstance) -> set[str]:
    return instance.event_log_storage.get_concurrency_info("github_api").active_run_ids


def wait_for(condition, seconds: float, what: str,
             processes: list[tuple[subprocess.Popen, Path]]) -> None:
    """Wait for ``condition``; fail at once, with its output, when a process ends first."""
    deadline = time.monotonic() + seconds
    while not condition():
        for process, log in processes:
            assert process.poll() is None, (
                f"a sync ended (exit {process.returncode}) before {what}:\n"
                f"{log.read_text()[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_sync_after_four_killed_syncs_frees_their_slots_and_completes(
        sieve_org, sieve_home, emulator_factory):
    emulator = emulator_factory()
    orgs = [sieve_org(f"org-{number}") for number in range(KILLED + 1)]
    for org in orgs:
        org.connect_emulator(emulator, "github", owner="sieve-demo", repos=["web-app"])
    dagster_home = sieve_home / "dagster"
    write_embedded_instance(dagster_home)  # once, before four processes race to create it
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        apply_pool_limits(instance)
        emulator.faults.slow("", seconds=SLOW_ANSWER_SECONDS, times=None, api="github")
        doomed: list[tuple[subprocess.Popen, Path]] = []
        try:
            # One at a time: each is in its GitHub step, holding a slot, before the next starts,
            # so the test does not depend on how fast a loaded machine starts four at once.
            for number, org in enumerate(orgs[:KILLED], start=1):
                log = sieve_home / f"doomed-{number}.log"
                # Killed before they build: no dbt process started ahead for them (each would
                # import dbt and parse on the machine's other core for nothing).
                with log.open("w") as output:
                    process = subprocess.Popen(sieve_command("sync", org.slug),
                                               env={**os.environ, "SIEVE_DBT_AHEAD": "0"},
                                               stdout=output, stderr=subprocess.STDOUT)
                doomed.append((process, log))
                wait_for(lambda held=number: len(github_slot_holders(instance)) == held, 300,
                         f"sync {number} of {KILLED} to hold a github_api slot", doomed)
        finally:
            for process, _ in doomed:
                process.kill()  # SIGKILL: no handler, no cleanup, as `kill -9`
                process.wait()
        dead_runs = github_slot_holders(instance)
        emulator.reset()  # the fifth sync gets prompt answers

        fifth = subprocess.run(sieve_command("sync", orgs[-1].slug), env=dict(os.environ),
                               capture_output=True, text=True, timeout=600)

        assert fifth.returncode == 0, fifth.stderr[-3000:]
        assert "sync of org-4 finished" in fifth.stdout
        for run_id in dead_runs:
            assert (f"failed run {run_id} (sync_organization of " in fifth.stderr
                    and "is gone; freed its pool slots: github_api" in fifth.stderr)
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
        assert github_slot_holders(instance) == set()
        assert orgs[-1].count("github_pull_requests") > 0
