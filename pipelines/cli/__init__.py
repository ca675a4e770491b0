"""The ``sieve`` command line.

Each area's commands live in their own module, imported only when one of its commands runs
(or shows its own help): ``sieve --help`` and ``sieve query`` never load Dagster or dbt.
``COMMANDS`` is the table of top-level commands with their one-line help.
"""

from __future__ import annotations

import importlib

import click

from pipelines.cli.context import SieveGroup

# name → (module under pipelines.cli, attribute, one-line help shown by `sieve --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("admin", "init", "Create SIEVE_HOME, the keys, the control plane and the Dagster "
             "instance."),
    "org": ("orgs", "org", "Organizations (tenants): add, list, terminate, delete."),
    "connect": ("connections", "connect", "Connect an organization to a source."),
    "connections": ("connections", "list_connections", "List connections; secrets are never "
                    "shown."),
    "disconnect": ("connections", "disconnect", "Remove a connection; its data is deleted."),
    "config": ("data", "config", "An organization's settings file."),
    "sync": ("data", "sync", "Run the nightly job for one organization now."),
    "query": ("data", "query", "Query the metric tables (read-only, audited)."),
    "insights": ("insights", "insights", "Open signals that need attention (audited)."),
    "notify": ("notify", "notify", "Send new and resolved signals to a webhook (off by "
               "default)."),
    "shell": ("analyst", "shell", "Interactive SQL on the metric tables (read-only, audited)."),
    "report": ("analyst", "report", "Write the self-contained HTML report."),
    "export": ("analyst", "export", "Publish encrypted Parquet exports of every mart."),
    "export-key": ("analyst", "export_key", "Print the key that opens an organization's "
                   "exports."),
    "forget": ("retention", "forget", "Erase a person on request."),
    "deletions": ("retention", "deletions", "Deletion requests and their certificates."),
    "retention": ("retention", "retention", "Run the retention sensors once."),
    "keys": ("keys", "keys", "Key-encryption keys: generate, rotate."),
    "access": ("access", "access", "Who may read which organization: grants, tokens, "
               "reviews."),
    "serve": ("access", "serve", "The marts over the PostgreSQL protocol, for BI tools."),
    "audit": ("admin", "audit", "The hash-chained audit log: verify, log, report."),
    "ui": ("platform", "ui", "The Dagster UI on this code location."),
    "emulate": ("platform", "emulate", "The local API emulators on their own."),
    "demo": ("demo", "demo", "Run everything on the built-in demo organization."),
}


class LazySieveGroup(SieveGroup):
    """Lists commands from ``COMMANDS`` and imports a command's module only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"pipelines.cli.{module}"), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(cls=LazySieveGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Sieve: privacy-first engineering metrics from metadata only.

    \b
    Start here:
      sieve init                     create SIEVE_HOME, keys and the control plane
      sieve demo                     run everything on the built-in demo organization
    Configuration comes from the environment: SIEVE_HOME (default ./.sieve),
    SIEVE_CONTROL_PLANE_URL, SIEVE_MASTER_KEY or SIEVE_KEY_FILE, DAGSTER_HOME.
    """
