"""GitHub's API budget, REST against GraphQL, on the same repositories of the emulators'
``large`` organization in one run: requests and GraphQL points per pull request, bytes per pull
request, peak RSS, the nightly no-change sync, and the backfill of a 100,000-pull-request
organization projected at 5,000 requests and 5,000 points an hour.

    python bench/graphql_bench.py [REPOSITORIES] [--write]
    python bench/graphql_bench.py 100 --graphql-only --write   # 100,000 PRs, GraphQL alone

Each figure is labelled with what the run really held (repositories, pull requests). The
side-by-side run (results in github-graphql-vs-rest.json) holds a few repositories, since REST
needs 3.5 requests a pull request; the GraphQL-only run holds as many as asked, its results in
github-graphql-<N>-prs.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ingestion_bench import ROOT, Emulator, _python_env

RESULTS = ROOT / "bench" / "results" / "github-graphql-vs-rest.json"
HOURLY_BUDGET = 5000
PROJECTED_PULL_REQUESTS = 100_000

# One sync of config["source"] in a child process (its own peak RSS), for both GraphQL benches.
SYNC_CHILD = """
import json, sys, time
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
    add_emulator_connection(sieve.control_plane, org, config, config["source"],
                            config.get("github_repos", 0))
org = sieve.control_plane.organization("bench")
started = time.perf_counter()
[summary] = sync_organization_source(sieve, org.id, config["source"])
print(json.dumps({"seconds": time.perf_counter() - started, "rows": summary.rows_upserted,
                  "http": summary.http, "peak_rss_mb": peak_rss_mb()}))
"""


def sync(home: Path, config: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", SYNC_CHILD, json.dumps(config)], cwd=ROOT,
                          env=_python_env(home), capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(f"sync child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_api(emulator: Emulator, api: str, repositories: int) -> dict:
    """A first sync and a no-change sync of the first ``repositories`` through ``api``."""
    settings, credentials = emulator.info["connections"]["github"]
    config = {**emulator.info, "source": "github", "github_repos": repositories,
              "connections": {**emulator.info["connections"],
                              "github": [{**settings, "api": api}, credentials]}}
    with tempfile.TemporaryDirectory(prefix="sieve-bench-") as home:
        emulator.command("clear")
        first = sync(Path(home), config)
        log = emulator.command("log")
        emulator.command("clear")
        nightly = sync(Path(home), config)
        nightly_log = emulator.command("log")
    pulls = first["rows"].get("github_pull_requests", 0)
    counted = sum(1 for entry in log if entry[1] != 304)
    points = first["http"].get("points", 0)
    per_pull_requests = (counted - _other_requests(log)) / max(1, pulls)
    return {
        "api": api, "repositories": repositories, "pull_requests": pulls,
        "seconds": round(first["seconds"], 1),
        "requests": counted, "points": points,
        "requests_per_pull_request": round(counted / max(1, pulls), 4),
        "pull_request_requests_per_pull_request": round(per_pull_requests, 4),
        "points_per_pull_request": round(points / max(1, pulls), 4),
        "bytes_per_pull_request": round(first["http"]["bytes_received"] / max(1, pulls)),
        # Both budgets refill hourly and are spent side by side: the larger one decides.
        "projected_hours_for_100k_pull_requests": _projected_hours(counted / max(1, pulls),
                                                                   points / max(1, pulls)),
        "projected_hours_pull_requests_alone": _projected_hours(per_pull_requests,
                                                                points / max(1, pulls)),
        "peak_rss_mb": round(first["peak_rss_mb"], 1),
        "nightly_requests_counted": sum(1 for entry in nightly_log if entry[1] != 304),
        "nightly_requests_free_304": sum(1 for entry in nightly_log if entry[1] == 304),
        "nightly_points": nightly["http"].get("points", 0),
        "by_endpoint": breakdown(log),
    }


def breakdown(log: list) -> dict:
    """Requests that count against a limit, free 304s and body bytes per endpoint (a GraphQL
    query by its operation name), most bytes first."""
    rows: dict[str, dict] = {}
    for endpoint, status, _conditional, _path, _query, operation, body_bytes in log:
        name = f"{endpoint} {operation}".strip()
        row = rows.setdefault(name, {"requests": 0, "free_304": 0, "bytes": 0})
        row["free_304" if status == 304 else "requests"] += 1
        row["bytes"] += body_bytes
    return dict(sorted(rows.items(), key=lambda item: (-item[1]["bytes"], item[0])))


def _projected_hours(requests_per_pull_request: float, points_per_pull_request: float) -> float:
    return round(PROJECTED_PULL_REQUESTS * max(requests_per_pull_request, points_per_pull_request)
                 / HOURLY_BUDGET, 2)


def _other_requests(log: list) -> int:
    """Requests for what is not a pull request (issues, commits, deployments, releases, runs,
    users, repositories), left out of the per-pull-request figure; a GraphQL query is for pull
    requests when its operation is (``PullRequestPage``, ``PullRequest_commits``...)."""
    return sum(1 for endpoint, status, _conditional, _path, _query, operation, _bytes in log
               if status != 304 and "/pulls" not in endpoint
               and not operation.startswith("PullRequest"))


def main(argv: list[str]) -> None:
    repositories = int(next((a for a in argv if a.isdigit()), "5"))
    apis = ("graphql",) if "--graphql-only" in argv else ("rest", "graphql")
    emulator = Emulator()
    try:
        runs = [run_api(emulator, api, repositories) for api in apis]
    finally:
        emulator.close()
    result = {"command": "python bench/graphql_bench.py " + " ".join(argv),
              "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
              "org": f"emulated large org, first {repositories} repositories, "
                     f"{runs[0]['pull_requests']} pull requests", "runs": runs}
    print(json.dumps(result, indent=2))
    if "--write" in argv:
        path = (RESULTS.with_name(f"github-graphql-{runs[0]['pull_requests']}-prs.json")
                if apis == ("graphql",) else RESULTS)
        path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
