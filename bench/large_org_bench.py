"""dbt benchmark on the emulators' ``large`` organization, synced through the product.

Unlike the synthetic organizations of ``dbt_bench`` (rows written straight into the metadata
tables), this measures the marts built from what the connectors really store: every GitLab
project, Jira project and public Slack channel of the large org, and the first N GitHub
repositories (all 100 take ~10 minutes to sync on a 2-core machine; N scales the benchmark).
Then, as the nightly job does: identities, and a full production `dbt build` of the marts —
timed on a first build (dbt parses the project) and a second one (partial parsing).

    python bench/large_org_bench.py 8        # prints one JSON line
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench.dbt_bench import fresh_installation
from bench.ingestion_bench import Emulator, add_emulator_connection
from resources.marts.runner import build_org_marts
from resources.storage.metadata_store import open_store, org_database_path
from resources.storage.org_config import write_org_config
from resources.sync.engine import (
    ensure_metadata_tables,
    rebuild_identities,
    sync_organization_source,
)

SOURCES = ("github", "gitlab", "jira", "slack")


def connect_large_org(sieve, info: dict, github_repos: int):
    """The org ``large`` with one connection per API of the emulator, and the synthetic org's
    teams and monorepo services as its settings."""
    org = sieve.control_plane.add_organization("large")
    write_org_config(sieve.settings.home, org.slug, info["org_settings"])
    for source in SOURCES:
        add_emulator_connection(sieve.control_plane, org, info, source, github_repos)
    return org


def _row_counts(sieve, org, schema: str) -> dict[str, int]:
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id),
                    sieve.control_plane.org_data_key(org), read_only=True) as store:
        return {table: store.row_count(table, schema) for table in store.tables(schema)}


def bench_large_org_dbt(github_repos: int) -> dict:
    emulator = Emulator()
    home = Path(tempfile.mkdtemp(prefix="sieve-large-bench-"))
    sieve = fresh_installation(home)
    try:
        org = connect_large_org(sieve, emulator.info, github_repos)
        sync_seconds = {}
        for source in SOURCES:
            started = time.monotonic()
            sync_organization_source(sieve, org.id, source)
            sync_seconds[source] = round(time.monotonic() - started, 1)
        ensure_metadata_tables(sieve, org.id)
        started = time.monotonic()
        identities = rebuild_identities(sieve, org.id)
        identities_seconds = time.monotonic() - started
        started = time.monotonic()
        build_org_marts(sieve, org.id)
        built = time.monotonic()
        build_org_marts(sieve, org.id)
        rebuilt = time.monotonic()
        metadata_rows = _row_counts(sieve, org, "metadata")
        marts = _row_counts(sieve, org, "marts")
    finally:
        sieve.close()
        emulator.close()
    return {
        "benchmark": "dbt_build_large_org",
        "github_repositories": github_repos,
        "pull_requests": metadata_rows.get("github_pull_requests", 0)
        + metadata_rows.get("gitlab_merge_requests", 0),
        "jira_issues": metadata_rows.get("jira_issues", 0),
        "slack_messages": metadata_rows.get("slack_messages", 0),
        "metadata_rows": sum(metadata_rows.values()),
        "people": identities["people"],
        "sync_seconds": sync_seconds,
        "identities_seconds": round(identities_seconds, 2),
        "build_seconds": round(built - started, 2),
        "rebuild_seconds": round(rebuilt - built, 2),
        "mart_rows": marts,
    }


if __name__ == "__main__":
    print(json.dumps(bench_large_org_dbt(int(sys.argv[1]) if len(sys.argv) > 1 else 8)))
