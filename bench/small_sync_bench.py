"""The wait for a small sync, timed as a person runs it: ``sieve sync`` in a fresh process, end
to end (start-up, the Dagster run, every source, the dbt build, forecasts, checks, exports).

- the demo organization after ``sieve demo``, when nothing changed: the first sync after the
  demo (its emulator stopped with the demo and starts on demand) and the one after it;
- the first sync of an organization with one GitHub repository of 50 pull requests (the
  emulators' ``small`` scale), three times, alternated with the same sync whose dbt process is
  not started ahead (``SIEVE_DBT_AHEAD=0``);
- the no-change sync of the demo org on Dagster's stock SQLite storage and on the instance's
  kept-open storage (pipelines/instance_storage.py), alternated in one run.

Each figure comes with the steps' own times from the sync's progress lines, so the remainder
(process start, loading definitions, Dagster's run and step overhead) shows too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ingestion_bench import Emulator, add_emulator_connection
from pipelines.instance import embedded_instance_yaml

ROOT = Path(__file__).resolve().parents[1]
SIEVE = str(Path(sys.executable).with_name("sieve"))
STEP_DONE = re.compile(r"^\s*(\S+): done \(([0-9.]+)s\)", re.MULTILINE)


def timed_sync(slug: str, env: dict[str, str]) -> dict:
    started = time.perf_counter()
    done = subprocess.run([SIEVE, "sync", slug], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"sieve sync {slug} failed:\n{done.stderr[-4000:]}")
    steps = {step: float(s) for step, s in STEP_DONE.findall(done.stderr)}
    rebuilt = "rebuilt=False" not in done.stdout
    return {"seconds": round(seconds, 1), "steps": len(steps),
            "dbt_seconds": steps.get("sieve_dbt_models"),
            "source_sync_seconds": round(sum(v for k, v in steps.items()
                                             if k.endswith("_sync")), 1),
            "steps_seconds": round(sum(steps.values()), 1),
            "outside_steps_seconds": round(seconds - sum(steps.values()), 1),
            "marts_rebuilt": rebuilt}


def bench_demo_no_change() -> dict:
    with tempfile.TemporaryDirectory(prefix="sieve-bench-demo-") as home:
        env = {**os.environ, "SIEVE_HOME": home, "DAGSTER_HOME": f"{home}/dagster"}
        started = time.perf_counter()
        subprocess.run([SIEVE, "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
        demo_seconds = round(time.perf_counter() - started, 1)
        after_demo = timed_sync("demo", env)  # the emulator starts on demand
        next_sync = timed_sync("demo", env)
        storages = compare_instance_storages(Path(home) / "dagster", env)
    return {"demo_seconds": demo_seconds, "first_sync_after_demo": after_demo,
            "next_sync": next_sync, "instance_storage_side_by_side": storages}


def stock_instance_yaml(dagster_home: Path) -> str:
    """The embedded instance with Dagster's own SQLite storage instead of the kept-open one, in
    an operator's file (no `sieve init` header), so `sieve` leaves it as it is."""
    embedded = embedded_instance_yaml(dagster_home).split("\n", 1)[1]
    start, end = embedded.index("run_storage:"), embedded.index("local_artifact_storage:")
    return (embedded[:start] + f"storage:\n  sqlite:\n    base_dir: {dagster_home / 'storage'}\n"
            + embedded[end:])


def compare_instance_storages(dagster_home: Path, env: dict[str, str], rounds: int = 2) -> dict:
    """No-change syncs of the demo org, alternating Dagster's stock storage and Sieve's."""
    instance_file = dagster_home / "dagster.yaml"
    runs: dict[str, list[float]] = {"dagster_stock_sqlite": [], "kept_open_sqlite": []}
    try:
        for _ in range(rounds):
            instance_file.write_text(stock_instance_yaml(dagster_home))
            runs["dagster_stock_sqlite"].append(timed_sync("demo", env)["seconds"])
            instance_file.write_text(embedded_instance_yaml(dagster_home))
            runs["kept_open_sqlite"].append(timed_sync("demo", env)["seconds"])
    finally:
        instance_file.write_text(embedded_instance_yaml(dagster_home))
    return {name: {"seconds": seconds, "fastest": min(seconds)}
            for name, seconds in runs.items()}


def bench_first_sync_small_repo(rounds: int = 3) -> dict:
    """First syncs of a fresh organization with one 50-PR repository, ``rounds`` times as
    ``sieve sync`` runs (dbt started ahead, resources/marts/warm_dbt.py) alternated with
    ``SIEVE_DBT_AHEAD=0``; the headline is the median of the first."""
    emulator = Emulator("small")
    runs: dict[str, list[dict]] = {"dbt_started_ahead": [], "dbt_not_started_ahead": []}
    try:
        for _ in range(rounds):
            for variant, extra in (("dbt_started_ahead", {}),
                                   ("dbt_not_started_ahead", {"SIEVE_DBT_AHEAD": "0"})):
                with tempfile.TemporaryDirectory(prefix="sieve-bench-small-") as home:
                    env = {**os.environ, "SIEVE_HOME": home, "DAGSTER_HOME": f"{home}/dagster",
                           **extra}
                    for setup in (["init"], ["org", "add", "small"]):
                        subprocess.run([SIEVE, *setup], env=env, cwd=ROOT, check=True,
                                       capture_output=True)
                    _connect_github(env, emulator.info)
                    runs[variant].append({**timed_sync("small", env),
                                          "pull_requests": _stored_pull_requests(env)})
    finally:
        emulator.close()
    headline = sorted(runs["dbt_started_ahead"], key=lambda run: run["seconds"])[rounds // 2]
    return {**headline, "median_of": rounds,
            "side_by_side": {variant: [(run["seconds"], run["dbt_seconds"]) for run in done]
                             for variant, done in runs.items()}}


def _connect_github(env: dict[str, str], info: dict) -> None:
    from resources.runtime import open_sieve

    sieve = open_sieve(env)
    try:
        org = sieve.control_plane.organization("small")
        add_emulator_connection(sieve.control_plane, org, info, "github", 1)
    finally:
        sieve.close()


def _stored_pull_requests(env: dict[str, str]) -> int:
    from resources.runtime import open_sieve
    from resources.storage.metadata_store import open_store, org_database_path

    sieve = open_sieve(env)
    try:
        org = sieve.control_plane.organization("small")
        with open_store(org_database_path(sieve.settings.orgs_dir, org.id),
                        sieve.control_plane.org_data_key(org), read_only=True) as store:
            return store.row_count("github_pull_requests")
    finally:
        sieve.close()


def bench_small_sync() -> dict:
    return {"demo_no_change": bench_demo_no_change(),
            "first_sync_50_prs": bench_first_sync_small_repo()}


if __name__ == "__main__":
    import json

    print(json.dumps(bench_small_sync(), indent=2))
