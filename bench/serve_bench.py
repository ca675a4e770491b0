"""`sieve serve` under load (issue 19): 20 analysts, each on their own connection, run the kind
of queries the report and a BI dashboard send, against the marts of the large emulated org.

The org is synced through the product (the first N GitHub repositories of the emulators'
``large`` organization plus its GitLab, Jira and Slack) and its marts built, as in
``large_org_bench``. Then `sieve serve` runs as its own process (as an admin starts it) and
the clients connect with psycopg2 over loopback. Reported: latency per statement (p50, p95,
max) over every round of every client, statements per second, errors, and the server process's
peak and final resident memory (VmHWM, VmRSS from /proc).

    python -m bench.serve_bench 2 20 5     # repositories, clients, rounds; prints JSON
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg2
from argon2 import PasswordHasher

from bench.dbt_bench import fresh_installation
from bench.ingestion_bench import Emulator
from bench.large_org_bench import SOURCES, connect_large_org
from resources.marts.runner import build_org_marts
from resources.security import access as access_module
from resources.security.audit import current_os_user
from resources.sync.engine import (
    ensure_metadata_tables,
    rebuild_identities,
    sync_organization_source,
)

# What a dashboard asks on each refresh: organization trends, a team breakdown, the open
# signals and a wide read of the PR mart.
DASHBOARD_QUERIES = (
    "select period_start, deployment_count, lead_time_median_hours, change_fail_rate "
    "from dora_weekly where grouping_level = 'organization' order by period_start",
    "select period_start, deployment_frequency_band, lead_time_band from dora_monthly "
    "where grouping_level = 'organization' order by period_start desc",
    "select week_start, prs_merged, cycle_median_hours, review_median_hours "
    "from pr_flow_weekly where grouping_level = 'organization' order by week_start",
    "select week_start, coalesce(team, '(no team)') as team, sum(reviews_given) "
    "from review_load group by all order by 1, 2",
    "select kind, severity, count(*) from insights where resolved_at is null group by all",
    "select repository, count(*), median(cycle_hours) from pull_requests group by all "
    "order by 2 desc limit 20",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: int(line.split()[1]) for line in status
            if line.startswith(("VmHWM", "VmRSS"))}


def wait_until_listening(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"sieve serve exited with {server.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"sieve serve did not listen on {port} within {seconds} s")


def run_client(port: int, email: str, token: str, rounds: int,
               latencies: list[float], errors: list[str]) -> None:
    try:
        with psycopg2.connect(host="127.0.0.1", port=port, dbname="large", user=email,
                              password=token, connect_timeout=30) as conn:
            with conn.cursor() as cursor:
                for _ in range(rounds):
                    for sql in DASHBOARD_QUERIES:
                        started = time.perf_counter()
                        cursor.execute(sql)
                        cursor.fetchall()
                        latencies.append(time.perf_counter() - started)
    except psycopg2.Error as error:
        errors.append(f"{email}: {str(error).strip()[:200]}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench_serve(github_repos: int = 2, clients: int = 20, rounds: int = 5) -> dict:
    emulator = Emulator()
    home = Path(tempfile.mkdtemp(prefix="sieve-serve-bench-"))
    sieve = fresh_installation(home)
    server = None
    try:
        org = connect_large_org(sieve, emulator.info, github_repos)
        for source in SOURCES:
            sync_organization_source(sieve, org.id, source)
        ensure_metadata_tables(sieve, org.id)
        rebuild_identities(sieve, org.id)
        build_org_marts(sieve, org.id)
        # Tokens are hashed at argon2's cheapest here: 20 logins at the production cost would
        # measure argon2, not the server (the server verifies at whatever cost a hash names).
        access_module._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        admin = sieve.access.bootstrap_local_admin(current_os_user())
        people = {}
        for number in range(clients):
            person = sieve.access.add_person(f"analyst-{number}@example.com")
            sieve.access.grant(person, org, "analyst", actor=admin.actor)
            people[person.email] = sieve.access.issue_token(person, actor=admin.actor)
        port = free_port()
        environment = {**os.environ, "SIEVE_HOME": str(home),
                       "DAGSTER_HOME": str(home / "dagster")}
        environment.pop("SIEVE_TOKEN", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "pipelines", "serve", "--port", str(port),
             "--connections-per-person", "2"], env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until_listening(port, server)
        idle = memory_kib(server.pid)
        latencies: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=run_client,
                                    args=(port, email, token, rounds, latencies, errors))
                   for email, token in people.items()]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        loaded = memory_kib(server.pid)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        sieve.close()
        emulator.close()
    return {
        "benchmark": "serve_20_analysts",
        "github_repositories": github_repos,
        "clients": clients,
        "rounds_per_client": rounds,
        "statements": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "statements_per_second": round(len(latencies) / elapsed, 1) if elapsed else None,
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
            "max": round(max(latencies) * 1000, 1) if latencies else None,
        },
        "server_memory_mib": {
            "idle_rss": round(idle["VmRSS"] / 1024, 1),
            "after_rss": round(loaded["VmRSS"] / 1024, 1),
            "peak": round(loaded["VmHWM"] / 1024, 1),
        },
    }


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:4]]
    print(json.dumps(bench_serve(*arguments), indent=2))
