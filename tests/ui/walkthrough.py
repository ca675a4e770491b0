"""What a data engineer sees in the Dagster UI, checked through its GraphQL API and captured in
headless Chromium. Shared by the UI smoke test and `python -m tests.ui.capture_screenshots`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tests.ui.browser import HeadlessChromium
from tests.ui.dagster_dev import DagsterDev

REQUIRED_GROUPS = ("raw", "metadata", "identities", "staging", "intermediate", "marts",
                   "exports")
REQUIRED_AUTOMATION = ("nightly_sync_schedule", "organization_partitions_sensor",
                       "deletion_request_sensor", "account_termination_sensor",
                       "removed_connection_sensor", "out_of_date_sensor")
LOCATION = "__repository__@pipelines.definitions"
# Layout transitions (the lineage graph zooms to fit) finish within this after the text shows.
SETTLE_SECONDS = 2

ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName description kinds
  owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } } } }"""

# Without explicit statuses the API leaves skipped ticks out of a freshly started server.
TICKS = ("ticks(limit: 1, statuses: [SKIPPED, SUCCESS, FAILURE]) { status skipReason "
         "error { message causes { message } } }")
AUTOMATION_QUERY = f"""{{ repositoriesOrError {{ ... on RepositoryConnection {{ nodes {{
  schedules {{ name description scheduleState {{ {TICKS} }} }}
  sensors {{ name description sensorState {{ {TICKS} }} }} }} }} }} }}"""

LATEST_RUN_QUERY = """query Latest($job: String!) { runsOrError(filter: {pipelineName: $job},
  limit: 1) { ... on Runs { results { runId status } } } }"""


def asset_nodes(dev: DagsterDev) -> list[dict]:
    return dev.graphql(ASSETS_QUERY)["assetNodes"]


def missing_groups(nodes: list[dict]) -> list[str]:
    present = {node["groupName"] for node in nodes}
    return [group for group in REQUIRED_GROUPS if group not in present]


def assets_lacking(nodes: list[dict]) -> dict[str, list[str]]:
    """Asset key → which of description, owners, kinds it lacks."""
    lacking = {}
    for node in nodes:
        gaps = [field for field in ("description", "owners", "kinds") if not node[field]]
        if gaps:
            lacking["/".join(node["assetKey"]["path"])] = gaps
    return lacking


@dataclass(frozen=True)
class Automation:
    name: str
    kind: str  # schedule | sensor
    description: str | None
    last_tick: str | None  # SUCCESS | SKIPPED | FAILURE | … ; None before the first tick
    detail: str | None  # the skip reason, or the error's root cause


def root_cause(error: dict | None) -> str | None:
    """The innermost error's message: the wrapper errors only say where it happened."""
    if not error:
        return None
    return ((error.get("causes") or [error])[-1]["message"]).strip()


def automations(dev: DagsterDev) -> dict[str, Automation]:
    found = {}
    for repository in dev.graphql(AUTOMATION_QUERY)["repositoriesOrError"]["nodes"]:
        for kind, items, state in (("schedule", repository["schedules"], "scheduleState"),
                                   ("sensor", repository["sensors"], "sensorState")):
            for item in items:
                ticks = item[state]["ticks"]
                tick = ticks[0] if ticks else {}
                detail = tick.get("skipReason") or root_cause(tick.get("error"))
                found[item["name"]] = Automation(item["name"], kind, item["description"],
                                                 tick.get("status"), detail)
    return found


def wait_for_sensor_ticks(dev: DagsterDev, timeout: float = 120) -> dict[str, Automation]:
    """Once every sensor has ticked (the daemon evaluates them right after it starts; the
    schedule ticks on the hour only), or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = automations(dev)
        if all(a.last_tick for a in found.values() if a.kind == "sensor"):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(2)


def latest_run_id(dev: DagsterDev, job: str) -> str | None:
    runs = dev.graphql(LATEST_RUN_QUERY, {"job": job})["runsOrError"]["results"]
    return runs[0]["runId"] if runs else None


@dataclass(frozen=True)
class Page:
    file: str
    path: str
    shows: tuple[str, ...]  # texts present once the page has rendered


def pages(run_id: str | None) -> list[Page]:
    listed = [
        Page("asset-lineage.png", "/asset-groups", REQUIRED_GROUPS),
        Page("asset-group-raw.png", f"/locations/{LOCATION}/asset-groups/raw/lineage",
             ("raw_github",)),
        Page("asset-group-marts.png", f"/locations/{LOCATION}/asset-groups/marts/lineage",
             ("marts", "Asset checks")),
        Page("asset-raw-github.png", "/assets/raw_github", ("raw_github", "Description")),
        Page("asset-dora-weekly.png", "/assets/marts/dora_weekly",
             ("dora_weekly", "Freshness policy")),
        Page("automation.png", "/automation", REQUIRED_AUTOMATION),
    ]
    if run_id:
        listed.append(Page("run.png", f"/runs/{run_id}", ("sync_organization",)))
    return listed


def open_ui(browser: HeadlessChromium, url: str) -> None:
    """Load the UI once and dismiss the first-visit community prompt (a browser-side flag)."""
    browser.open(url)
    browser.evaluate("localStorage.setItem('communityNux', JSON.stringify('1'))")


def capture(browser: HeadlessChromium, url: str, page: Page, out_dir: Path) -> Path:
    browser.open(url + page.path)
    browser.wait_for_text(*page.shows)
    time.sleep(SETTLE_SECONDS)
    return browser.screenshot(out_dir / page.file)
