"""Retention benchmark: forgetting one person and deleting an organization, on the synthetic
organization of the dbt benchmark (``bench/dbt_bench.py``: N pull requests with their commits,
reviews, deployments, Jira issues and Slack messages, written straight into the metadata).

Targets: forgetting a person in the large (100,000-PR) organization ≤ 10 s, deleting an
organization ≤ 1 s. The forget time covers the whole certified deletion — resolving the
person, deleting their rows, tombstones, rewriting the encrypted file, SQL and byte-scan
verification; the optional dbt rebuild of the marts (timed by the dbt benchmark) is reported
apart.

    python bench/retention_bench.py 100000       # prints one JSON line per size
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance

from bench.dbt_bench import fresh_installation, synthetic_org
from pipelines.instance import write_embedded_instance
from resources.retention.execute import execute_request
from resources.retention.requests import record_request
from resources.security.vault import Secret
from resources.storage.metadata_store import org_database_path

SUBJECT_LOGIN = "user5"  # one of the synthetic organization's people (p5)


def _installation(home: Path):
    sieve = fresh_installation(home)
    write_embedded_instance(sieve.settings.dagster_home)
    return sieve


def bench_forget_person(n_prs: int, sieve_home: Path | None = None) -> dict:
    """Seconds to forget one person (certified) in an N-PR organization."""
    home = Path(sieve_home or tempfile.mkdtemp(prefix="sieve-retention-bench-"))
    sieve = _installation(home)
    try:
        org = synthetic_org(sieve, "bench", n_prs)
        size = org_database_path(sieve.settings.orgs_dir, org.id).stat().st_size
        request = record_request(sieve.control_plane, org, "person", subject_kind="login",
                                 subject=Secret(SUBJECT_LOGIN))
        started = time.perf_counter()
        certificate = execute_request(sieve, request.id)
        seconds = time.perf_counter() - started
    finally:
        sieve.close()
    return {"benchmark": "retention_forget_person", "prs": n_prs, "database_bytes": size,
            "rows_touched": sum(certificate["rows"].values()),
            "verified": certificate["verified"], "seconds": round(seconds, 2),
            "target_seconds": 10}


def bench_delete_organization(n_prs: int, sieve_home: Path | None = None) -> dict:
    """Seconds to delete a whole N-PR organization (shred, crypto-shred, Dagster purge,
    verification) — with a second organization beside it that must survive."""
    home = Path(sieve_home or tempfile.mkdtemp(prefix="sieve-retention-bench-"))
    sieve = _installation(home)
    try:
        org = synthetic_org(sieve, "bench", n_prs)
        synthetic_org(sieve, "neighbour", 1_000)
        request = record_request(sieve.control_plane, org, "organization",
                                 subject_kind="organization", subject_ref=org.id)
        with DagsterInstance.from_config(str(sieve.settings.dagster_home)) as instance:
            instance.add_dynamic_partitions("organizations", [org.id])
            started = time.perf_counter()
            certificate = execute_request(sieve, request.id, instance=instance)
            seconds = time.perf_counter() - started
    finally:
        sieve.close()
    return {"benchmark": "retention_delete_organization", "prs": n_prs,
            "bytes_shredded": certificate["details"]["bytes_shredded"],
            "verified": certificate["verified"], "seconds": round(seconds, 2),
            "target_seconds": 1}


def main(argv: list[str]) -> None:
    for size in [int(arg) for arg in argv] or [100_000]:
        print(json.dumps(bench_forget_person(size)), flush=True)
        print(json.dumps(bench_delete_organization(size)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
