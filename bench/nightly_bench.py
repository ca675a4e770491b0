"""What a nightly sync costs each source when nothing changed (issue 17: "a no-change nightly
sync makes only the requests the API cannot answer more cheaply; report the number per source").

Each remote source of the registry is connected to the emulators' tiny organization on its own,
synced once (the first sync), then synced again with nothing changed. The figures are the
emulator's own request log: requests sent, of which answered 304 Not Modified (free against
GitHub's and GitLab's limits), per sync.

    python -m bench.nightly_bench        # prints the JSON
    python -m bench.nightly_bench --scale demo azuredevops   # one source, the demo slice
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulators.server import EmulatorServer
from pipelines.cli.demo import demo_connections
from resources.security.vault import Secret
from resources.sources import SOURCES
from resources.sync.engine import sync_organization_source
from resources.sync.local_emulator import LOCAL_EMULATOR_SETTING

ROOT = Path(__file__).resolve().parents[1]
SIEVE = str(Path(sys.executable).with_name("sieve"))


def source_nightly_cost(emulator: EmulatorServer, source: str) -> dict:
    from resources.runtime import open_sieve

    with tempfile.TemporaryDirectory(prefix=f"sieve-bench-nightly-{source}-") as home:
        env = {**os.environ, "SIEVE_HOME": home, "DAGSTER_HOME": f"{home}/dagster"}
        for setup in (["init"], ["org", "add", "bench"]):
            subprocess.run([SIEVE, *setup], env=env, cwd=ROOT, check=True, capture_output=True)
        sieve = open_sieve(env)
        try:
            org = sieve.control_plane.organization("bench")
            settings, credentials = demo_connections(emulator)[source]
            settings = {k: v for k, v in settings.items() if k != LOCAL_EMULATOR_SETTING}
            sieve.control_plane.add_connection(
                org, source, {"base_url": emulator.base_url(source), **settings},
                {name: Secret(value) for name, value in credentials.items()})
            return {"first_sync": _timed_requests(emulator, source, sieve, org.id),
                    "no_change_sync": _timed_requests(emulator, source, sieve, org.id)}
        finally:
            sieve.close()


def _timed_requests(emulator: EmulatorServer, source: str, sieve, org_id: str) -> dict:
    emulator.clear_requests()
    started = time.monotonic()
    sync_organization_source(sieve, org_id, source)
    return {"requests": emulator.count_requests(source),
            "not_modified_304": emulator.count_requests(source, status=304),
            "seconds": round(time.monotonic() - started, 1)}


def bench_nightly(scale: str = "tiny", sources: list[str] | None = None) -> dict:
    emulator = EmulatorServer(scale).start()
    try:
        costs = {source: source_nightly_cost(emulator, source)
                 for source, spec in SOURCES.items()
                 if spec.remote and (not sources or source in sources)}
    finally:
        emulator.stop()
    return {"org": f"emulators' {scale} organization, one source connected at a time",
            "sources": costs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("tiny", "demo"), default="tiny")
    parser.add_argument("sources", nargs="*", help="only these sources (default: every one)")
    arguments = parser.parse_args()
    print(json.dumps(bench_nightly(arguments.scale, arguments.sources), indent=2))
