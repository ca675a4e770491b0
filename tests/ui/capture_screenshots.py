"""The UI check: a real demo run, `dagster dev` on it, the GraphQL checks of the UI smoke test,
and screenshots of the asset graph, an asset, the automations and the run page.

    .venv/bin/python -m tests.ui.capture_screenshots            # → docs/screenshots/
    .venv/bin/python -m tests.ui.capture_screenshots --sieve-home .sieve --out /tmp/shots

Without --sieve-home it syncs the tiny demo organization into a temporary SIEVE_HOME first
(about two minutes). Exits 1 when a check fails; the screenshots are taken either way.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.ui.browser import CHROMIUM, HeadlessChromium
from tests.ui.dagster_dev import ROOT, DagsterDev
from tests.ui.walkthrough import (
    asset_nodes,
    assets_lacking,
    capture,
    latest_run_id,
    missing_groups,
    open_ui,
    pages,
    wait_for_sensor_ticks,
)


def sync_demo(sieve_home: Path) -> bool:
    """`sieve demo --scale tiny` into ``sieve_home``; its progress and errors go to stderr."""
    env = {**os.environ, "SIEVE_HOME": str(sieve_home), "DAGSTER_HOME": str(sieve_home / "dagster")}
    sieve = Path(sys.executable).with_name("sieve")
    done = subprocess.run([str(sieve), "demo", "--scale", "tiny"], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, check=False)
    return done.returncode == 0


def check(dev: DagsterDev) -> list[str]:
    problems = []
    nodes = asset_nodes(dev)
    problems += [f"no asset in group {group}" for group in missing_groups(nodes)]
    problems += [f"asset {key} has no {', '.join(gaps)}"
                 for key, gaps in sorted(assets_lacking(nodes).items())]
    print(f"{len(nodes)} assets in groups {sorted({n['groupName'] for n in nodes})}")
    for automation in sorted(wait_for_sensor_ticks(dev).values(), key=lambda a: a.name):
        print(f"  {automation.kind} {automation.name}: {automation.last_tick or 'no tick yet'}"
              f" — {automation.detail or ''}")
        if not automation.description:
            problems.append(f"{automation.kind} {automation.name} has no description")
        if automation.last_tick == "FAILURE":
            problems.append(f"{automation.kind} {automation.name} failed its last tick: "
                            f"{automation.detail}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sieve-home", type=Path, help="an already synced SIEVE_HOME")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sieve-ui-", ignore_cleanup_errors=True) as scratch:
        sieve_home = args.sieve_home or Path(scratch) / "sieve-home"
        if args.sieve_home is None:
            print(f"syncing the tiny demo organization into {sieve_home}…")
            if not sync_demo(sieve_home):
                print("the demo sync failed (see above): no screenshots taken", file=sys.stderr)
                return 1
        with DagsterDev(sieve_home, sieve_home / "dagster") as dev:
            print(f"dagster dev is up on {dev.url}")
            problems = check(dev)
            with HeadlessChromium() as browser:
                open_ui(browser, dev.url)
                for page in pages(latest_run_id(dev, "sync_organization")):
                    print(f"  screenshot {capture(browser, dev.url, page, args.out)}")
                problems += [f"browser console: {error}" for error in browser.console_errors]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
