"""The Dagster UI, for real: `dagster dev` on a fresh installation, its GraphQL API, and the
asset graph and automations in headless Chromium."""

from __future__ import annotations

import os

import pytest

from pipelines.instance import write_embedded_instance
from tests.ui.browser import CHROMIUM, HeadlessChromium
from tests.ui.dagster_dev import DagsterDev
from tests.ui.walkthrough import (
    REQUIRED_AUTOMATION,
    asset_nodes,
    assets_lacking,
    automations,
    capture,
    missing_groups,
    open_ui,
    pages,
    wait_for_sensor_ticks,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    """One `dagster dev` for the module (it takes ~20 s to load the dbt project)."""
    from tests.harness import new_installation

    sieve_home = tmp_path_factory.mktemp("ui") / "sieve-home"
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("SIEVE_")]:
            env.delenv(name)  # an isolated installation: no outside key or control plane
        env.setenv("SIEVE_HOME", str(sieve_home))
        env.setenv("DAGSTER_HOME", str(sieve_home / "dagster"))
        sieve = new_installation()
        # One organization, so that the sensors have something to evaluate.
        sieve.control_plane.add_organization("acme")
        sieve.close()
        write_embedded_instance(sieve_home / "dagster")
        with DagsterDev(sieve_home, sieve_home / "dagster") as dev:
            yield dev


def test_every_asset_group_is_listed(dagster_dev):
    assert missing_groups(asset_nodes(dagster_dev)) == []


def test_every_asset_has_a_description_owner_and_kinds(dagster_dev):
    nodes = asset_nodes(dagster_dev)
    assert nodes
    assert assets_lacking(nodes) == {}


def test_schedules_and_sensors_are_there_and_described(dagster_dev):
    found = automations(dagster_dev)
    assert set(REQUIRED_AUTOMATION) <= set(found)
    assert found["nightly_sync_schedule"].kind == "schedule"
    assert all(automation.description for automation in found.values())


def test_no_sensor_tick_fails_in_the_daemon(dagster_dev):
    found = wait_for_sensor_ticks(dagster_dev)
    sensors = [a for a in found.values() if a.kind == "sensor"]
    assert all(a.last_tick for a in sensors), "the daemon evaluated no sensor"
    failed = {a.name: a.detail for a in sensors if a.last_tick == "FAILURE"}
    assert failed == {}
    skipped = [a for a in sensors if a.last_tick == "SKIPPED"]
    assert all(a.detail for a in skipped), "a skipped tick must say why"


def chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires headless Chromium: {reason}")
    pytest.skip(reason)


@pytest.mark.browser
def test_asset_graph_and_automations_render_in_chromium(dagster_dev, tmp_path):
    chromium_or_skip()
    wanted = {"asset-lineage.png", "asset-group-raw.png", "automation.png"}
    with HeadlessChromium() as browser:
        open_ui(browser, dagster_dev.url)
        shots = [capture(browser, dagster_dev.url, page, tmp_path)
                 for page in pages(run_id=None) if page.file in wanted]
    assert sorted(shot.name for shot in shots) == sorted(wanted)
    assert all(shot.read_bytes().startswith(b"\x89PNG") for shot in shots)
