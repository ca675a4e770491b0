"""GitLab's request budget, REST against GraphQL, on the emulators' ``large`` organization in
one run: requests per merge request (all of them, and those of the merge-request stream
alone), approval times present, peak RSS, and the nightly no-change sync.

    python -m bench.gitlab_bench [SCALE] [--write]      (SCALE: demo by default, or large)

Each run is labelled with what it really held (projects, merge requests, approvals).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.graphql_bench import SYNC_CHILD
from bench.ingestion_bench import EMULATOR_CHILD, ROOT, Emulator, _python_env

RESULTS = ROOT / "bench" / "results" / "gitlab-graphql-vs-rest.json"
# The merge-request stream: its listing or GraphQL pages and the per-MR REST calls.
MERGE_REQUEST_ENDPOINTS = ("/merge_requests", "/api/graphql")


APPROVALS_CHILD = """
import json
from resources.runtime import open_sieve
from resources.storage.metadata_store import open_store, org_database_path
sieve = open_sieve()
org = sieve.control_plane.organization("bench")
key = sieve.control_plane.org_data_key(org)
with open_store(org_database_path(sieve.settings.orgs_dir, org.id), key, read_only=True) as store:
    print(json.dumps(store.connection.execute(
        "SELECT count(*), count(approved_at) FROM metadata.gitlab_mr_approvals").fetchone()))
"""


def child(home: Path, code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=_python_env(home),
                          capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(f"bench child failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def run_api(emulator: Emulator, api: str) -> dict:
    """A first sync and a no-change sync of the GitLab group through ``api``."""
    settings, credentials = emulator.info["connections"]["gitlab"]
    config = {**emulator.info, "source": "gitlab", "connections": {
        **emulator.info["connections"], "gitlab": [{**settings, "api": api}, credentials]}}
    with tempfile.TemporaryDirectory(prefix="sieve-bench-") as home:
        emulator.command("clear")
        first = json.loads(child(Path(home), SYNC_CHILD, json.dumps(config)))
        log = emulator.command("log")
        emulator.command("clear")
        nightly = json.loads(child(Path(home), SYNC_CHILD, json.dumps(config)))
        nightly_log = emulator.command("log")
        approvals = json.loads(child(Path(home), APPROVALS_CHILD))
    merge_requests = first["rows"].get("gitlab_merge_requests", 0)
    stream = sum(1 for endpoint, *_ in log
                 if any(part in endpoint for part in MERGE_REQUEST_ENDPOINTS))
    return {
        "api": api, "merge_requests": merge_requests,
        "approvals_and_timed_approvals": approvals, "rows": first["rows"],
        "seconds": round(first["seconds"], 1), "requests": len(log),
        "requests_per_merge_request": round(len(log) / max(1, merge_requests), 3),
        "merge_request_stream_requests": stream,
        "merge_request_stream_requests_per_merge_request": round(stream / max(1, merge_requests),
                                                                 3),
        "graphql_requests": sum(1 for endpoint, *_ in log if "graphql" in endpoint),
        "users_requests": sum(1 for endpoint, *_ in log if endpoint == "GET /users/{id}"),
        "pipeline_rest_requests": sum(1 for endpoint, *_ in log if "/pipelines" in endpoint),
        "bytes_per_merge_request": round(first["http"]["bytes_received"] / max(1, merge_requests)),
        "peak_rss_mb": round(first["peak_rss_mb"], 1),
        "nightly_requests": len(nightly_log),
        "nightly_requests_304": sum(1 for entry in nightly_log if entry[1] == 304),
        "nightly_rows_upserted": sum(nightly["rows"].values()),
    }


class ScaledEmulator(Emulator):
    """The benchmark emulator at another scale than ``large`` (the demo's, by default)."""

    def __init__(self, scale: str) -> None:
        code = EMULATOR_CHILD.replace('scale="large"', f'scale="{scale}"')
        self.process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env=_python_env(Path(tempfile.gettempdir())))
        self.info = json.loads(self.process.stdout.readline())


def main(argv: list[str]) -> None:
    scale = next((a for a in argv if not a.startswith("--")), "demo")
    emulator = ScaledEmulator(scale)
    try:
        runs = [run_api(emulator, api) for api in ("rest", "graphql")]
    finally:
        emulator.close()
    result = {"command": "python -m bench.gitlab_bench " + " ".join(argv),
              "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
              "org": f"emulated {scale} org, its GitLab group: {runs[0]['rows']['gitlab_projects']}"
                     f" projects, {runs[0]['merge_requests']} merge requests", "runs": runs}
    print(json.dumps(result, indent=2))
    if "--write" in argv:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
