"""Ingestion benchmark on the emulators' ``large`` organization.

Three processes, so each number is its own: the emulators (a child serving on loopback), the
sync (a child running the product's sync engine, whose peak RSS is the figure), and this parent.

For a subset of N repositories of the large org (GitHub only — the busiest connector):
- records/s through the whole path (HTTP, projection, scrubbing, encrypted upserts);
- requests per stored record, and the requests the pagination minimally needs for the listings
  walked (pages = ceil(items / per_page) per listing, one request per detail) — from the
  emulator's request log;
- peak RSS of the sync process (must not grow with N);
- a second, no-change sync: requests, 304s and seconds (the nightly cost).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resources.security.vault import Secret

ROOT = Path(__file__).resolve().parents[1]

EMULATOR_CHILD = """
import json, signal, sys, threading
from emulators.server import EmulatorServer
server = EmulatorServer(scale=sys.argv[1], seed=7).start()
# A budget that lets the benchmark measure Sieve, not an hour-long rate-limit wait.
for api in ("github", "github_graphql", "gitlab", "jira", "slack"):
    server.rate_limits.configure(api, 10_000_000, 3600)
from pipelines.cli.demo import demo_connections, demo_settings
# Every API as the demo connects them, and the GitHub repositories (benchmarks take the first N).
print(json.dumps({"repos": [r.name for r in server.org.repos],
                  "connections": {source: [{"base_url": server.base_url(source), **settings},
                                           credentials]
                                  for source, (settings, credentials)
                                  in demo_connections(server).items()},
                  "org_settings": demo_settings(server)}), flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
for line in sys.stdin:
    command = line.strip()
    if command == "log":
        records = [(r.endpoint, r.status, r.conditional, r.path, sorted(r.query.items()),
                    r.operation, r.body_bytes) for r in server.requests]
        print(json.dumps(records), flush=True)
    elif command == "clear":
        server.clear_requests()
        print("[]", flush=True)
    elif command == "quit":
        break
server.stop()
"""

SYNC_CHILD = """
import json, os, sys, time
from resources.security.audit import create_audit_key_file
from resources.security.keys import create_key_file
from resources.runtime import open_sieve
from resources.sync.engine import sync_organization_source
from bench.ingestion_bench import add_emulator_connection, peak_rss_mb
config = json.loads(sys.argv[1])
sieve = open_sieve()
if not sieve.settings.key_file.exists():
    create_key_file(sieve.settings.key_file)
    create_audit_key_file(sieve.settings.audit_key_file)
    org = sieve.control_plane.add_organization("bench")
    add_emulator_connection(sieve.control_plane, org, config, "github", config["github_repos"])
org = sieve.control_plane.organization("bench")
started = time.perf_counter()
[summary] = sync_organization_source(sieve, org.id, "github")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "records_fetched": summary.records_fetched,
                  "rows_upserted": sum(summary.rows_upserted.values()),
                  "http": summary.http,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def peak_rss_mb() -> float:
    """This process's own peak RSS. Linux carries ``ru_maxrss`` over from the parent across
    fork and exec, so a child of a large parent (``make bench`` after the extraction benchmark)
    would report the parent's peak; the high-water mark of its own memory map does not."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_emulator_connection(control_plane, org, info: dict, source: str, github_repos: int):
    """Connect ``org`` to one API of the benchmark emulator (GitHub: its first N repos)."""
    settings, credentials = info["connections"][source]
    if source == "github":
        settings = {**settings, "repos": info["repos"][:github_repos]}
    return control_plane.add_connection(org, source, settings,
                                        {k: Secret(v) for k, v in credentials.items()})


def _python_env(home: Path) -> dict[str, str]:
    return {**os.environ, "SIEVE_HOME": str(home), "PYTHONPATH": str(ROOT)}


class Emulator:
    def __init__(self, scale: str = "large") -> None:
        self.process = subprocess.Popen([sys.executable, "-c", EMULATOR_CHILD, scale], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env=_python_env(Path(tempfile.gettempdir())))
        self.info = json.loads(self.process.stdout.readline())

    def command(self, name: str):
        self.process.stdin.write(name + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        self.process.wait(timeout=30)


def minimum_requests(log: list) -> int:
    """Requests the walked listings need at the least: one per distinct resource or listing
    (ignoring the page parameters), i.e. what a client that never retried, never re-fetched
    and always used the largest page would send. Extra pages of long listings are counted by
    their page parameter, so a listing of 250 items at per_page=100 needs 3."""
    walks: dict[tuple, set] = {}
    for endpoint, status, _conditional, path, query, *_ in log:
        if status != 200 and status != 304:
            continue
        params = tuple((k, v) for k, v in query if k not in ("page", "per_page", "cursor"))
        page = dict(query).get("page", "1")
        walks.setdefault((endpoint, path, params), set()).add(page)
    return sum(len(pages) for pages in walks.values())


def sync_once(home: Path, config: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", SYNC_CHILD, json.dumps(config)], cwd=ROOT,
                          env=_python_env(home), capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(f"sync child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_sync(repo_counts: list[int]) -> list[dict]:
    emulator = Emulator()
    results = []
    try:
        for count in repo_counts:
            with tempfile.TemporaryDirectory(prefix="sieve-bench-") as home:
                config = {**emulator.info, "github_repos": count}
                emulator.command("clear")
                first = sync_once(Path(home), config)
                log = emulator.command("log")
                requests = len(log)
                emulator.command("clear")
                nightly = sync_once(Path(home), config)
                nightly_log = emulator.command("log")
                results.append({
                    "repositories": count,
                    "records_fetched": first["records_fetched"],
                    "rows_stored": first["rows_upserted"],
                    "records_per_second": round(first["records_fetched"] / first["seconds"], 1),
                    "seconds": round(first["seconds"], 1),
                    "requests": requests,
                    "requests_per_stored_record": round(requests / max(1, first["rows_upserted"]), 3),
                    "minimum_requests": minimum_requests(log),
                    "requests_over_minimum": round(requests / max(1, minimum_requests(log)), 3),
                    "peak_rss_mb": round(first["peak_rss_mb"], 1),
                    "nightly_requests": len(nightly_log),
                    "nightly_not_modified": sum(1 for r in nightly_log if r[1] == 304),
                    "nightly_seconds": round(nightly["seconds"], 2),
                    "nightly_rows_changed": nightly["rows_upserted"],
                })
                print(json.dumps(results[-1]), flush=True)
    finally:
        emulator.close()
    return results


# The scaling run (up to 100k pull requests) takes ~15 minutes, so `make bench` does not repeat
# it; `python bench/ingestion_bench.py --write 1 8 40 80` refreshes this file, and
# bench/__main__.py reports it beside its own runs.
SCALING_RESULTS = ROOT / "bench" / "results" / "sync-100k-prs.json"


def write_scaling_results(sizes: list[int], results: list[dict]) -> None:
    SCALING_RESULTS.write_text(json.dumps({
        "command": "python bench/ingestion_bench.py --write " + " ".join(map(str, sizes)),
        "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    write = "--write" in sys.argv[1:]
    sizes = [int(a) for a in sys.argv[1:] if a != "--write"] or [2, 8]
    runs = bench_sync(sizes)
    if write:
        write_scaling_results(sizes, runs)
