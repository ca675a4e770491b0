"""The inner loop's figures: CLI start-up and the fast test lane, timed on this machine.

``sieve --help`` and ``sieve query ORG "select 1"`` are timed as a person runs them (a fresh
process each time, median of several runs) against a fresh installation holding one organization
whose database holds no rows; ``make test-fast`` once.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIEVE = str(Path(sys.executable).with_name("sieve"))


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _median_seconds(command: list[str], env: dict[str, str], runs: int) -> float:
    return round(statistics.median(_timed(command, env) for _ in range(runs)), 3)


def _create_store(env: dict[str, str], slug: str) -> None:
    """The org's encrypted database with its metric tables built over no rows yet."""
    from resources.marts.runner import build_org_marts
    from resources.runtime import open_sieve

    sieve = open_sieve(env)
    try:
        build_org_marts(sieve, sieve.control_plane.organization(slug).id)
    finally:
        sieve.close()


def bench_inner_loop(runs: int = 5, fast_lane: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="sieve-bench-cli-") as home:
        env = {**os.environ, "SIEVE_HOME": home, "DAGSTER_HOME": f"{home}/dagster"}
        for setup in (["init"], ["org", "add", "bench"]):
            subprocess.run([SIEVE, *setup], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        _create_store(env, "bench")
        figures = {
            "runs": runs,
            "sieve_help_seconds": _median_seconds([SIEVE, "--help"], env, runs),
            "sieve_query_select_1_seconds": _median_seconds(
                [SIEVE, "query", "bench", "select 1"], env, runs),
        }
    if fast_lane:
        figures["make_test_fast_seconds"] = round(
            _timed(["make", "--no-print-directory", "test-fast"], dict(os.environ)), 1)
    return figures


if __name__ == "__main__":
    print(bench_inner_loop())
