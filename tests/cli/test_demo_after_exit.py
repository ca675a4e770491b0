"""After `sieve demo` exits its emulator stops; the demo org must still sync (issue #20,
item 1): its connections record the organization their emulator served, and a sync that finds
nothing listening starts that emulator again, serving the same organization."""

from __future__ import annotations

import pytest

from emulators.server import EmulatorServer
from pipelines.cli.demo import prepare_demo_org
from resources.sync import engine
from resources.sync.local_emulator import LOCAL_EMULATOR_SETTING, ensure_local_emulator
from tests.harness import SieveOrg, new_installation

EMULATED = ("github", "gitlab", "jira", "slack")


@pytest.fixture
def started_emulators(monkeypatch):
    """The emulator processes the sync engine starts, stopped after the test."""
    started = []

    def recording(settings):
        process = ensure_local_emulator(settings)
        if process is not None:
            started.append(process)
        return process

    monkeypatch.setattr(engine, "ensure_local_emulator", recording)
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_the_demo_org_syncs_after_its_emulator_stopped(sieve_home, started_emulators):
    sieve = new_installation()
    demo = SieveOrg(sieve, "demo")
    with EmulatorServer(scale="tiny", seed=7) as emulator:
        prepare_demo_org(sieve, emulator)
        demo.sync("slack")
    served_by_the_demo = demo.snapshot(["slack_messages"])

    for source in EMULATED:
        [summary] = demo.sync(source)
        assert summary.failure is None, summary.failure
        assert summary.records_fetched > 0
    assert len(started_emulators) == 1  # one process serves all four sources
    # Message timestamps follow the anchor day: equal rows mean the same organization.
    assert demo.snapshot(["slack_messages"]) == served_by_the_demo
    sieve.close()


def test_only_a_recorded_loopback_emulator_is_ever_started():
    recorded = {"scale": "tiny", "seed": 7, "anchor": "2026-11-16"}
    assert ensure_local_emulator({"base_url": "http://127.0.0.1:9"}) is None
    assert ensure_local_emulator({"base_url": "https://api.github.com",
                                  LOCAL_EMULATOR_SETTING: recorded}) is None
