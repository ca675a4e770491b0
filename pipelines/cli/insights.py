"""``sieve insights``: the open signals of an organization, from the insights mart."""

from __future__ import annotations

import click

from pipelines.cli.context import authorized
from pipelines.cli.data import echo_query_result
from resources.analyst.sessions import ANALYST_SCHEMA, run_query
from resources.marts.insights import SIGNAL_KINDS, open_signals_sql


@click.command()
@click.argument("slug")
@click.option("--kind", type=click.Choice(SIGNAL_KINDS), default=None,
              help="Only signals of this kind (docs/metrics.md, \"insights\").")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True, help="csv/json print every row.")
@click.option("--max-rows", default=50, show_default=True, help="Rows shown by --format table.")
@click.pass_context
def insights(ctx, slug, kind, output_format, max_rows) -> None:
    """Open signals of organization SLUG that need attention, most severe and newest first.

    Reads the marts only, like `sieve query`, and is audited the same way.

    \b
    Examples:
      sieve insights acme
      sieve insights acme --kind pr_awaiting_first_review --format csv > waiting.csv
    """
    sieve, org, person = authorized(ctx, slug, "analyst")
    try:
        result = run_query(sieve, org, open_signals_sql(kind), operator=False)
    finally:
        sieve.audit.append("data.queried", org_id=org.id, target=ANALYST_SCHEMA,
                           details={"interface": "sieve insights", "kind": kind or "all"},
                           actor=person.actor)
    echo_query_result(result, output_format, max_rows)
