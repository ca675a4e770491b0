"""What the delivery forecasts add to an organization's build, on an emulator organization.

Syncs the emulator org's Jira (the forecasts read nothing else) through the product, builds
the dbt models the forecasts read (`+int_issues`), then times `build_org_forecasts` — the step
the full build and the Dagster asset add after dbt — a few times and keeps the median.

    python bench/forecast_bench.py demo      # prints one JSON line
    python bench/forecast_bench.py large
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.dbt_bench import fresh_installation
from emulators.model import ORG_NOW
from emulators.server import EmulatorServer
from pipelines.cli.demo import demo_connections, demo_settings
from resources.marts.forecast_mart import build_org_forecasts
from resources.marts.runner import build_org_marts
from resources.security.vault import Secret
from resources.storage.org_config import write_org_config
from resources.sync.engine import rebuild_identities, sync_organization_source

REPEATS = 3


def bench_forecasts(scale: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix="sieve-forecast-bench-"))
    sieve = fresh_installation(home)
    with EmulatorServer(scale=scale, seed=7) as server:
        # A budget that lets the benchmark measure Sieve, not a rate-limit wait.
        server.rate_limits.configure("jira", 10_000_000, 3600)
        org = sieve.control_plane.add_organization(scale)
        write_org_config(sieve.settings.home, org.slug, demo_settings(server))
        settings, credentials = demo_connections(server)["jira"]
        sieve.control_plane.add_connection(
            org, "jira", {"base_url": server.base_url("jira"), **settings},
            {k: Secret(v) for k, v in credentials.items()})
        started = time.monotonic()
        sync_organization_source(sieve, org.id, "jira")
        sync_seconds = time.monotonic() - started
    try:
        rebuild_identities(sieve, org.id)
        build_org_marts(sieve, org.id, args=("build", "--select", "+int_issues",
                                             "--exclude-resource-type", "unit_test"))
        timings, summary = [], None
        for _ in range(REPEATS):
            started = time.monotonic()
            summary = build_org_forecasts(sieve, org.id, as_of=ORG_NOW)
            timings.append(time.monotonic() - started)
    finally:
        sieve.close()
        shutil.rmtree(home, ignore_errors=True)
    return {
        "benchmark": "delivery_forecasts", "scale": scale,
        "jira_sync_seconds": round(sync_seconds, 1),
        "open_epics": summary.open_epics, "open_fix_versions": summary.open_versions,
        "forecasts": summary.forecasts, "backtested": summary.backtested,
        "backtest_within_p85": (round(summary.backtest_within_p85, 3)
                                if summary.backtest_within_p85 is not None else None),
        "forecast_seconds_median": round(statistics.median(timings), 2),
        "forecast_seconds": [round(t, 2) for t in timings],
    }


if __name__ == "__main__":
    print(json.dumps(bench_forecasts(sys.argv[1] if len(sys.argv) > 1 else "demo")))
