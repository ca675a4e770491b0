"""``sieve sync``, ``sieve query`` and ``sieve config``: moving and reading an org's data."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from pipelines.cli.context import (
    authorized,
    echo_failed_connections,
    echo_skipped_connections,
    echo_table,
)
from resources.analyst.sessions import ANALYST_SCHEMA, run_query
from resources.marts.warm_dbt import dbt_started_ahead
from resources.storage.org_config import config_path, load_org_config, write_org_config


@click.command()
@click.argument("slug")
@click.option("--estimate", is_flag=True, help="Print what a first sync of each connection "
              "would cost (requests, GraphQL points, hours under the token's current limits), "
              "from counts alone; nothing is fetched or stored.")
@click.pass_context
def sync(ctx: click.Context, slug: str, estimate: bool) -> None:
    """Sync organization SLUG now: fetch every connection, extract metadata, link identities
    and rebuild its metric tables. Runs in the Dagster instance, so it shows in the UI.

    \b
    Examples:
      sieve sync acme
      sieve sync acme --estimate
    """
    sieve, org, _ = authorized(ctx, slug, "operator")
    config = load_org_config(sieve.settings.home, org.slug)  # a malformed file stops us here
    if estimate:
        _echo_estimates(sieve, org, config.services)
        return
    click.echo(f"syncing {org.slug} ({len(sieve.control_plane.connections(org))} connections)…")
    with dbt_started_ahead(sieve.settings, org.id):
        from assets.ingestion import SKIPPED_CONNECTION_LABEL
        from pipelines.runs import run_org_job

        outcome = run_org_job(sieve.settings, org, "sync_organization", progress=sys.stderr)
    idle_sources = {key.removeprefix("raw_") for key, metadata in outcome.materializations.items()
                    if key.startswith("raw_") and metadata.get("connections") == 0}
    for asset_key, metadata in sorted(outcome.materializations.items()):
        if asset_key.removeprefix("raw_").removesuffix("_metadata") in idle_sources:
            continue
        counts = ", ".join(f"{k}={v}" for k, v in metadata.items()
                           if "." not in k and not k.startswith(SKIPPED_CONNECTION_LABEL))
        click.echo(f"  {asset_key}: {counts}")
    echo_skipped_connections(outcome.skipped_connections)
    if outcome.success:
        click.echo(f"sync of {org.slug} finished (run {outcome.run_id})")
        return
    for failure in outcome.failures:
        click.echo(f"error: {failure}", err=True)
    if outcome.failures or not outcome.failed_connections:
        click.echo(f"sync of {org.slug} failed (run {outcome.run_id}); data already stored is "
                   "kept and the next sync resumes from it", err=True)
    else:
        click.echo(f"sync of {org.slug} finished without the connections below (run "
                   f"{outcome.run_id}): the others were synced and the metrics rebuilt", err=True)
    echo_failed_connections(outcome.failed_connections)
    ctx.exit(1)


def _echo_estimates(sieve, org, services) -> None:
    """One line per connection whose connector can estimate its first sync."""
    from resources.sources import connector_class
    from resources.sources.connector import ConnectorContext, SyncState

    rows = []
    for connection in sieve.control_plane.connections(org):
        connector = connector_class(connection.source)(ConnectorContext(
            org.slug, connection, sieve.control_plane.credentials(connection),
            SyncState(sieve.control_plane, connection.id), services=services))
        if not hasattr(connector, "estimate"):
            rows.append([connection.id, connection.source, "-", "-", "-", "-", "no estimate"])
            continue
        cost = connector.estimate()
        rows.append([connection.id, connection.source, cost.api, cost.pull_requests,
                     f"{cost.points} of {cost.points_per_hour}/h",
                     f"{cost.requests} of {cost.requests_per_hour}/h", f"{cost.hours:.1f} h"])
    echo_table(["connection", "source", "api", "pull requests", "GraphQL points",
                "REST requests", "first sync"], rows)


@click.command()
@click.argument("slug")
@click.argument("sql")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json", "parquet"]),
              default="table", show_default=True,
              help="csv/json print every row, untruncated; parquet writes --out, encrypted "
                   "with the org's export key.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file --format parquet writes.")
@click.option("--operator", is_flag=True,
              help="Also open the metadata schema (names, emails); the access is audited.")
@click.option("--max-rows", default=50, show_default=True, help="Rows shown by --format table.")
@click.pass_context
def query(ctx, slug, sql, output_format, operator, max_rows, out) -> None:
    """Run SQL on organization SLUG's metric tables (read-only).

    Analysts see the marts (dora_weekly, pull_requests, …) unqualified; the metadata schema,
    which holds names and emails, needs --operator.

    \b
    Examples:
      sieve query acme "select period_start, deployments_per_day from dora_weekly
            where grouping_level = 'organization' order by period_start desc limit 8"
      sieve query acme "select count(*) from metadata.github_pull_requests" --operator
      sieve query acme "select * from pull_requests" --format csv > prs.csv
      sieve query acme "select * from deployments" --format parquet --out deployments.parquet
    """
    if (output_format == "parquet") != (out is not None):
        raise click.UsageError("--format parquet writes a file: give it --out FILE (and --out "
                               "only with --format parquet).")
    if output_format == "parquet" and operator:
        raise click.UsageError("--format parquet encrypts with the analysts' export key, which "
                               "must never open metadata (names, emails): not with --operator.")
    sieve, org, person = authorized(ctx, slug, "operator" if operator else "analyst")
    try:
        if output_format == "parquet":
            from resources.analyst.exports import export_query

            rows = export_query(sieve, org, sql, out, operator=operator)
            click.echo(f"wrote {rows} rows to {out}, encrypted with {org.slug}'s export key "
                       "(docs/analysts.md shows how to read it)")
            return
        result = run_query(sieve, org, sql, operator=operator)
    finally:
        sieve.audit.append("data.queried", org_id=org.id,
                           target=ANALYST_SCHEMA if not operator else "metadata",
                           details={"interface": "sieve query", "operator": operator},
                           actor=person.actor)
    echo_query_result(result, output_format, max_rows)


def echo_query_result(result, output_format: str, max_rows: int) -> None:
    """Rows as csv or json (all of them) or as a table (the first max_rows)."""
    if output_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    elif output_format == "json":
        click.echo(json.dumps([dict(zip(result.columns, row)) for row in result.rows],
                              default=str, ensure_ascii=False, indent=1))
    else:
        echo_table(result.columns, [list(r) for r in result.rows[:max_rows]])
        if len(result.rows) > max_rows:
            click.echo(f"({len(result.rows)} rows; showing {max_rows} — use --format csv for all)")


@click.group()
def config() -> None:
    """Per-organization settings (deployments, incidents, bots, teams, services, retention).

    \b
    Example:
      sieve config init acme && $EDITOR .sieve/config/acme.yaml
    """


@config.command("init")
@click.argument("slug")
@click.pass_context
def config_init(ctx: click.Context, slug: str) -> None:
    """Write SLUG's settings file with the documented defaults (never overwrites).

    \b
    Example:
      sieve config init acme
    """
    sieve, org, _ = authorized(ctx, slug, "operator")
    path = config_path(sieve.settings.home, org.slug)
    if path.exists():
        raise click.ClickException(f"{path} already exists; edit it, or delete it first.")
    click.echo(f"wrote {write_org_config(sieve.settings.home, org.slug)}")


@config.command("show")
@click.argument("slug")
@click.pass_context
def config_show(ctx: click.Context, slug: str) -> None:
    """Print SLUG's effective settings (file merged over defaults), validated.

    \b
    Example:
      sieve config show acme
    """
    sieve, org, _ = authorized(ctx, slug, "operator")
    click.echo(json.dumps(load_org_config(sieve.settings.home, org.slug).as_dict(), indent=2,
                          default=list))
