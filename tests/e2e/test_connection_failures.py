"""A failing connection during `sieve sync` (issue #20, items 2, 8 and 10): it fails alone — the
organization's other connections are synced and its metrics rebuilt — the Dagster run shows the
people-facing cause as the failed step's message, not a traceback under a wall of steps "not
executed", and the command ends by listing each failed connection with its cause and fix, then
exits non-zero."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import DagsterEventType

from pipelines.cli import main
from pipelines.cli.demo import prepare_demo_org
from pipelines.runs import open_instance
from resources.security.vault import Secret
from tests.harness import new_installation

pytestmark = pytest.mark.slow

FAILURE_PREFIX = "dagster._core.definitions.events.Failure: "


def run_record(sieve, run_id: str) -> dict[str, object]:
    with open_instance(sieve.settings) as instance:
        records = instance.all_logs(run_id)
        pickled = Path(instance.storage_directory()) / run_id
    return {"pickled": pickled.exists(),"failed": {r.step_key: r.dagster_event for r in records if r.dagster_event
                       and r.dagster_event.event_type == DagsterEventType.STEP_FAILURE},
            "succeeded": {r.step_key for r in records if r.dagster_event
                          and r.dagster_event.event_type == DagsterEventType.STEP_SUCCESS},
            "messages": [r.message for r in records]}


def test_failed_connections_fail_alone_and_are_told_first_and_last(sieve_home, emulator):
    sieve = new_installation()
    org = prepare_demo_org(sieve, emulator)
    refused = sieve.control_plane.add_connection(
        org, "github", {"base_url": emulator.base_url("github"), "owner": emulator.org.login},
        {"token": Secret("not-the-token")})
    [gitlab] = [c for c in sieve.control_plane.connections(org) if c.source == "gitlab"]
    # The group vanished upstream: every listing of it answers 404.
    emulator.faults.not_found(r"^/groups/", times=None, api="gitlab")

    result = CliRunner().invoke(main, ["sync", "demo"], catch_exceptions=False)

    assert result.exit_code == 1, result.output
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", result.stderr).group(1)
    # The summary first (the marts were rebuilt), then the failed connections, on their own.
    assert re.search(r"^  marts/dora_weekly: ", result.stdout, re.M), result.output
    block = result.stderr[result.stderr.index("\n2 connections failed:\n"):].splitlines()[2:]
    assert len(block) == 2
    refused_line = next(line for line in block if refused.id in line)
    assert refused_line.startswith(f"  github {refused.id}: The token for connection "
                                   f"'{refused.id}' of organization 'demo' was rejected")
    assert "(401" in refused_line and "sieve connect demo github" in refused_line
    gitlab_line = next(line for line in block if gitlab.id in line)
    assert gitlab_line.startswith(f"  gitlab {gitlab.id}: ") and "404" in gitlab_line
    assert "not-the-token" not in result.output
    # A failed step is timed from its own start (a quick check may truly take "0.0s").
    assert re.search(r"^  github_sync: failed \((\d+\.\d)s\)$", result.stderr, re.M)
    assert not re.search(r"(retrying|failed) \(0\.0s\)", result.output)

    events = run_record(sieve, run_id)
    assert set(events["failed"]) == {"github_sync", "gitlab_sync"}
    github = events["failed"]["github_sync"].event_specific_data
    headline = github.user_failure_data.description.splitlines()[0]
    assert headline == refused_line.removeprefix(f"  github {refused.id}: ")
    # The UI's first line of the failed step: the cause, with no chained traceback above it.
    assert github.error.message.startswith(FAILURE_PREFIX + headline)
    assert github.error.cause is None and github.error.context is None
    # The other GitHub connection, the other sources and the marts went on.
    assert {"jira_sync", "slack_sync", "identities"} <= events["succeeded"]
    assert any(step.startswith("sieve_dbt") for step in events["succeeded"])
    assert not [m for m in events["messages"] if "Not executing" in m]
    # Run through the job's own executor, its outputs still stay in memory (rule 1).
    assert not events["pickled"]
    sieve.close()
