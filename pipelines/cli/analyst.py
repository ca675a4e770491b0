"""``sieve report``, ``sieve shell``, ``sieve export`` and ``sieve export-key``: what analysts
read. Every one of them is an access to the org's data and goes into the audit log."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import duckdb

from pipelines.cli.context import authorized, echo_table
from resources.analyst.exports import (
    current_export,
    export_marts,
    org_export_key,
    publish_atomically,
)
from resources.analyst.report import write_report
from resources.analyst.sessions import ANALYST_SCHEMA, analyst_session, execute_read_only
from resources.storage.metadata_store import StoreError

SHELL_HELP = """Statements end with ';' and may span lines. Commands:
  .tables          list the tables you can query
  .schema TABLE    the columns of TABLE
  .help            this text
  .quit            leave (Ctrl-D too)"""


@click.command()
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the page [default: ./SLUG-report.html].")
@click.pass_context
def report(ctx: click.Context, slug: str, out: Path | None) -> None:
    """Write organization SLUG's HTML report: DORA metrics with performance bands, PR cycle
    time, throughput and WIP, issue flow, sprints and review load, from its metric tables.
    One self-contained file (no scripts, works offline); aggregates only, nobody is named.
    Every sync also refreshes SIEVE_HOME/orgs/<org_id>/report.html.

    \b
    Example:
      sieve report acme --out report.html && xdg-open report.html
    """
    sieve, org, person = authorized(ctx, slug, "analyst")
    path = out or Path(f"{org.slug}-report.html")
    click.echo(f"reading {org.slug}'s metric tables…", err=True)
    summary = write_report(sieve, org, path)
    sieve.audit.append("report.generated", org_id=org.id, target=ANALYST_SCHEMA,
                       details={"interface": "sieve report", "charts": summary.charts},
                       actor=person.actor)
    click.echo(f"wrote {summary.path} ({summary.charts} charts over {summary.weeks} weeks, "
               f"{summary.bytes // 1024} KiB)")


@click.command()
@click.argument("slug")
@click.pass_context
def export(ctx: click.Context, slug: str) -> None:
    """Publish organization SLUG's metric tables now as encrypted Parquet (every sync does
    too), under SIEVE_HOME/orgs/<org_id>/exports/current/. Marts only.

    \b
    Example:
      sieve export acme
    """
    sieve, org, person = authorized(ctx, slug, "analyst")
    click.echo(f"exporting {org.slug}'s metric tables…", err=True)
    result = export_marts(sieve, org)
    sieve.audit.append("data.exported", org_id=org.id, target=ANALYST_SCHEMA,
                       details={"interface": "sieve export", "marts": len(result.row_counts),
                                "rows": result.rows}, actor=person.actor)
    echo_table(["mart", "rows"], [[m, n] for m, n in result.row_counts.items()])
    click.echo(f"\npublished {current_export(sieve.settings.orgs_dir, org.id)} "
               f"(generation {result.directory.name}); read it with the export key: "
               f"sieve export-key {org.slug} --operator")


@click.command("export-key")
@click.argument("slug")
@click.option("--operator", is_flag=True,
              help="Required: the key opens every export of SLUG; the reveal is audited.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the key to this file (mode 0600) instead of printing it.")
@click.pass_context
def export_key(ctx: click.Context, slug: str, operator: bool, out: Path | None) -> None:
    """Reveal organization SLUG's export key (base64), which decrypts its Parquet exports and
    `sieve query --format parquet` files — and nothing else: it cannot open the org's
    database. Hand it to an analyst over a secret channel.

    \b
    Examples:
      sieve export-key acme --operator --out acme-export.key
      PRAGMA add_parquet_key('acme', '<key>');   -- then, in DuckDB: see docs/analysts.md
    """
    if not operator:
        raise click.UsageError("The export key opens every export of this organization: "
                               "revealing it needs --operator, and the reveal is audited.")
    sieve, org, person = authorized(ctx, slug, "operator")
    key = org_export_key(sieve, org)
    sieve.audit.append("export.key_revealed", org_id=org.id,
                       details={"interface": "sieve export-key",
                                "destination": "file" if out else "stdout"},
                       actor=person.actor)
    if out:
        publish_atomically(out, lambda partial: partial.write_text(key.reveal() + "\n"))
        click.echo(f"wrote {org.slug}'s export key to {out} (mode 0600)")
    else:
        click.echo(key.reveal())


def _statements(read: Callable[[str], str]) -> Iterator[str]:
    """Dot commands (one line) and SQL statements (up to a line ending in ';')."""
    buffer: list[str] = []
    while True:
        try:
            line = read("   ...> " if buffer else "sieve> ")
        except EOFError:
            if buffer:
                yield "\n".join(buffer)
            return
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            yield stripped
            continue
        if stripped:
            buffer.append(line)
        if stripped.endswith(";"):
            yield "\n".join(buffer)
            buffer = []


def run_shell(connection: duckdb.DuckDBPyConnection, read: Callable[[str], str], *,
              max_rows: int) -> int:
    """The read-eval-print loop; returns the number of statements run."""
    statements = 0
    for text in _statements(read):
        command, _, argument = text.partition(" ")
        if command in (".quit", ".exit"):
            break
        if command == ".help":
            click.echo(SHELL_HELP)
            continue
        if command == ".tables":
            text = ("select table_schema as schema, table_name as table from "
                    "information_schema.tables where table_schema <> 'information_schema' "
                    "order by 1, 2")
        elif command == ".schema":
            text = f"describe {argument.strip().rstrip(';')}"
        elif command.startswith("."):
            click.echo(f"unknown command {command}; .help lists them", err=True)
            continue
        try:
            cursor = execute_read_only(connection, text)
        except (duckdb.Error, StoreError) as error:
            click.echo(f"error: {str(error).splitlines()[0]}", err=True)
            continue
        statements += 1
        if cursor.description:
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchmany(max_rows + 1)
            echo_table(columns, [list(r) for r in rows[:max_rows]])
            if len(rows) > max_rows:
                click.echo(f"(more than {max_rows} rows; showing {max_rows} — add a LIMIT, or "
                           "use `sieve query --format csv` for all)")
    return statements


@click.command()
@click.argument("slug")
@click.option("--operator", is_flag=True,
              help="Also open the metadata schema (names, emails); the access is audited.")
@click.option("--max-rows", default=50, show_default=True, help="Rows shown per result.")
@click.pass_context
def shell(ctx: click.Context, slug: str, operator: bool, max_rows: int) -> None:
    """An interactive SQL session on organization SLUG's metric tables (read-only). Analysts
    see the marts, unqualified; --operator opens the org's database read-only with the
    metadata schema too. Nothing typed is kept (no history file).

    \b
    Example:
      sieve shell acme
      sieve> select week_start, prs_merged from pr_flow_weekly
         ...> where grouping_level = 'organization' order by 1 desc limit 4;
    """
    sieve, org, person = authorized(ctx, slug, "operator" if operator else "analyst")
    connection = analyst_session(sieve, org, operator=operator)
    sieve.audit.append("data.queried", org_id=org.id,
                       target="metadata" if operator else ANALYST_SCHEMA,
                       details={"interface": "sieve shell", "operator": operator},
                       actor=person.actor)
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (line editing for input(); history stays in memory)
    scope = "marts and metadata (operator)" if operator else "marts"
    click.echo(f"{org.slug}: {scope}, read-only. End statements with ';'. .help for commands.",
               err=True)
    try:
        run_shell(connection, input if interactive else _read_piped, max_rows=max_rows)
    finally:
        connection.close()


def _read_piped(_prompt: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")
