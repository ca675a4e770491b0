"""``sieve demo``: the whole pipeline on the built-in demo organization, offline.

The source emulators serve a synthetic organization on loopback; the demo org gets one
connection per source (git pointing at this repository itself) and settings describing the
synthetic org's teams and monorepo services, then syncs like any organization.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from pipelines.cli.admin import init
from pipelines.cli.context import echo_failed_connections, echo_table, sieve_from
from pipelines.cli.platform import PROJECT_ROOT
from resources.analyst.report import report_path
from resources.security.vault import Secret
from resources.sources import SOURCES
from resources.storage.metadata_store import open_store, org_database_path
from resources.storage.org_config import config_path, write_org_config
from resources.sync.local_emulator import LOCAL_EMULATOR_SETTING

DEMO_SLUG = "demo"
DEMO_SEED = 7
# The demo org's first sync needs ~10,000 GitHub requests: a plain token (5,000 per hour) would
# make the demo wait an hour, as a first backfill of a large org really does. The demo emulator
# grants the budget of a GitHub Enterprise Cloud app installation instead.
DEMO_GITHUB_BUDGET_PER_HOUR = 15_000


def demo_settings(emulator) -> dict:
    """Org settings matching the synthetic organization: its teams and monorepo services."""
    org = emulator.org
    monorepo = next(r for r in org.repos if r.is_monorepo)
    return {
        "teams": {team.name: [f"github:{login}" for login in team.members] for team in org.teams},
        "services": [{"name": path.rstrip("/").split("/")[-1], "repository": monorepo.name,
                      "paths": [path.rstrip("/") + "/"]} for path in monorepo.services],
    }


def served_sources(emulator) -> str:
    """The emulated sources the demo connects, by name: "GitHub, GitLab, … and Azure DevOps"."""
    labels = [SOURCES[source].label for source in demo_connections(emulator)]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def demo_connections(emulator) -> dict[str, tuple[dict, dict[str, str]]]:
    """Settings and credentials of each emulated source's connection. Each records the
    organization its emulator serves, so a later sync can restart it (see local_emulator)."""
    served = {LOCAL_EMULATOR_SETTING: {"scale": emulator.scale, "seed": emulator.seed,
                                       "anchor": emulator.org.anchor.isoformat()}}
    return {source: ({**settings, **served}, credentials)
            for source, (settings, credentials) in _source_connections(emulator).items()}


def _source_connections(emulator) -> dict[str, tuple[dict, dict[str, str]]]:
    return {
        "github": ({"owner": emulator.org.login, "repos": []}, emulator.credentials("github")),
        "gitlab": ({"group": emulator.org.gitlab_group, "projects": []},
                   emulator.credentials("gitlab")),
        "jira": ({"projects": []}, emulator.credentials("jira")),
        "slack": ({}, emulator.credentials("slack")),
        "pagerduty": ({}, emulator.credentials("pagerduty")),
        "opsgenie": ({}, emulator.credentials("opsgenie")),
        "bitbucket": ({"workspace": emulator.org.bitbucket.workspace, "repositories": []},
                      emulator.credentials("bitbucket")),
        "azuredevops": ({"projects": [emulator.org.azuredevops.project_name]},
                        emulator.credentials("azuredevops")),
    }


def stored_totals(sieve, org) -> dict[str, int]:
    """Rows now stored per metadata asset (``github_metadata`` …) and people linked
    (``identities``): what the org holds, whatever this run changed."""
    key = sieve.control_plane.org_data_key(org)
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id), key,
                    read_only=True) as store:
        tables = set(store.tables())
        totals = {f"{name}_metadata": sum(store.row_count(e.table) for e in source.entities
                                          if e.table in tables)
                  for name, source in SOURCES.items()}
        totals["identities"] = store.row_count("people") if "people" in tables else 0
    return totals


def stored_rows_table(materializations: dict[str, dict], totals: dict[str, int]) -> list[list]:
    """One row per stored asset: its total now, and what this run upserted (a re-run that
    changes nothing shows its totals, not zeros that read like data loss)."""
    rows = []
    for asset_key, total in sorted(totals.items()):
        metadata = materializations.get(asset_key, {})
        changed = metadata.get("rows_upserted", metadata.get("people", 0))
        rows.append([asset_key, total, changed])
    return rows


def recorded_anchor(sieve) -> date | None:
    """The day an existing demo org was generated for: re-running the demo keeps serving the
    organization it already holds (the same items, the same natural keys)."""
    if DEMO_SLUG not in {o.slug for o in sieve.control_plane.organizations()}:
        return None
    org = sieve.control_plane.organization(DEMO_SLUG)
    for connection in sieve.control_plane.connections(org):
        recorded = connection.settings.get(LOCAL_EMULATOR_SETTING)
        if recorded:
            return date.fromisoformat(recorded["anchor"])
    return None


def prepare_demo_org(sieve, emulator):
    control_plane = sieve.control_plane
    if DEMO_SLUG not in {o.slug for o in control_plane.organizations()}:
        created = control_plane.add_organization(DEMO_SLUG)
        sieve.audit.append("organization.added", org_id=created.id)
    org = control_plane.organization(DEMO_SLUG)
    if not config_path(sieve.settings.home, DEMO_SLUG).exists():
        write_org_config(sieve.settings.home, DEMO_SLUG, demo_settings(emulator))
    existing = {c.source: c for c in control_plane.connections(org)}
    wanted = {source: ({"base_url": emulator.base_url(source), **settings}, credentials)
              for source, (settings, credentials) in demo_connections(emulator).items()}
    wanted["git"] = ({"path": str(PROJECT_ROOT)}, {})
    for source, (settings, credentials) in wanted.items():
        secrets = {k: Secret(v) for k, v in credentials.items()}
        if source in existing:
            control_plane.update_connection(existing[source], settings, secrets)
        else:
            added = control_plane.add_connection(org, source, settings, secrets)
            sieve.audit.append("connection.added", org_id=org.id, target=added.id,
                               details={"source": source})
    return org


def next_steps(slug: str, report: Path) -> list[str]:
    """What to try after the demo: the metrics, the report, the UI, a BI tool, an erasure."""
    from pipelines.cli.access import SERVE_DEFAULT_PORT

    analyst = "you@example.com"
    return [
        f"  metrics:    sieve query {slug} "
        "\"select * from dora_weekly order by period_start desc limit 10\"",
        f"  report:     {report}",
        f"              (or: sieve report {slug} --out report.html)",
        "  Dagster UI: make ui   (then open http://127.0.0.1:3000)",
        f"  psql:       sieve access grant {analyst} --org {slug} --role analyst  "
        "(prints a token)",
        "              sieve serve   (in another terminal), then",
        f"              PGPASSWORD=<token> psql \"host=127.0.0.1 port={SERVE_DEFAULT_PORT} "
        f"dbname={slug} user={analyst}\"",
        f"  forget:     sieve forget {slug} --login <github-login>; "
        f"sieve retention run {slug}",
    ]


@click.command()
@click.option("--scale", type=click.Choice(["tiny", "demo"]), default="demo", show_default=True,
              help="Size of the synthetic organization.")
@click.option("--anchor", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The day the synthetic history ends, YYYY-MM-DD (default: the day the demo "
                   "organization was first set up, today for a new one).")
@click.pass_context
def demo(ctx: click.Context, scale: str, anchor) -> None:
    """Run Sieve end to end on the built-in demo organization, with no network: start the
    source emulators, connect the demo org to them (and git to this repository), sync, and
    show what was stored.

    \b
    Example:
      make demo      # or: sieve demo --scale tiny
    """
    from emulators.cli import today_utc
    from emulators.org import Org
    from emulators.server import EmulatorServer
    from resources.marts.warm_dbt import dbt_started_ahead

    ctx.invoke(init)
    sieve = sieve_from(ctx)
    day = anchor.date() if anchor else recorded_anchor(sieve) or today_utc()
    with EmulatorServer(scale=scale, seed=DEMO_SEED, org=Org(scale, DEMO_SEED, day)) as emulator:
        emulator.rate_limits.configure("github", DEMO_GITHUB_BUDGET_PER_HOUR, 3600)
        click.echo(f"emulators: {served_sources(emulator)} on {emulator.root_url} "
                   f"({scale} organization, history up to {day:%Y-%m-%d})")
        org = prepare_demo_org(sieve, emulator)
        click.echo(f"syncing {org.slug}: {len(sieve.control_plane.connections(org))} connections…")
        with dbt_started_ahead(sieve.settings, org.id):
            from pipelines.runs import run_org_job

            outcome = run_org_job(sieve.settings, org, "sync_organization",
                                  {"sieve/demo": scale}, progress=sys.stderr)
    if not outcome.success:
        for failure in outcome.failures:
            click.echo(f"error: {failure}", err=True)
        echo_failed_connections(outcome.failed_connections)
        raise click.ClickException(f"the demo sync failed (run {outcome.run_id})")
    echo_table(["stored", "rows", "upserted this run"],
               stored_rows_table(outcome.materializations, stored_totals(sieve, org)))
    report = report_path(sieve.settings.orgs_dir, org.id)
    click.echo(f"\nthe demo organization is synced (run {outcome.run_id}).")
    for line in next_steps(DEMO_SLUG, report):
        click.echo(line)
