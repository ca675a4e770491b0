"""Which insight kinds the emulated demo organization raises, and what it forecasts.

Syncs every source of the emulator org through the product with the demo's own settings
(`sieve demo`'s teams and services), builds all marts as of the org's "now", and prints one
JSON line: open signals by kind, the kinds missing, open forecasts by subject kind, seconds.

    python bench/demo_insights.py demo
    python bench/demo_insights.py tiny
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.dbt_bench import fresh_installation
from emulators.model import ORG_NOW
from emulators.server import EmulatorServer
from pipelines.cli.demo import demo_connections, demo_settings
from resources.marts.insights import SIGNAL_KINDS
from resources.marts.runner import build_org_marts
from resources.security.vault import Secret
from resources.storage.metadata_store import open_store, org_database_path
from resources.storage.org_config import write_org_config
from resources.sync.engine import rebuild_identities, sync_organization_source

SOURCES = ("github", "gitlab", "jira", "slack")


def demo_insights(scale: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix="sieve-demo-insights-"))
    sieve = fresh_installation(home)
    started = time.monotonic()
    try:
        with EmulatorServer(scale=scale, seed=7) as server:
            for source in SOURCES:  # measure Sieve, not a rate-limit wait
                server.rate_limits.configure(source, 10_000_000, 3600)
            org = sieve.control_plane.add_organization(scale)
            write_org_config(sieve.settings.home, org.slug, demo_settings(server))
            connections = demo_connections(server)
            for source in SOURCES:
                settings, credentials = connections[source]
                sieve.control_plane.add_connection(
                    org, source, {"base_url": server.base_url(source), **settings},
                    {k: Secret(v) for k, v in credentials.items()})
                sync_organization_source(sieve, org.id, source)
        rebuild_identities(sieve, org.id)
        build_org_marts(sieve, org.id, as_of=ORG_NOW)
        key = sieve.control_plane.org_data_key(sieve.control_plane.organization(org.id))
        with open_store(org_database_path(sieve.settings.orgs_dir, org.id), key,
                        read_only=True) as store:
            kinds = dict(store.connection.execute(
                "select kind, count(*) from marts.insights where is_open group by all "
                "order by 1").fetchall())
            forecasts = dict(store.connection.execute(
                "select subject_kind, count(*) from marts.delivery_forecasts "
                "where forecast_kind = 'open' group by all order by 1").fetchall())
    finally:
        sieve.close()
        shutil.rmtree(home, ignore_errors=True)
    return {"scale": scale, "open_signals_by_kind": kinds,
            "kinds_missing": sorted(set(SIGNAL_KINDS) - set(kinds)),
            "open_forecasts": forecasts, "seconds": round(time.monotonic() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(demo_insights(sys.argv[1] if len(sys.argv) > 1 else "demo")))
