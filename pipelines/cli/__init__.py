"""The ``sieve`` command line. Each area registers its commands from its own module."""

from __future__ import annotations

import click

from pipelines.cli import admin, analyst, connections, data, demo, keys, orgs, platform, retention
from pipelines.cli.context import SieveGroup


@click.group(cls=SieveGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Sieve: privacy-first engineering metrics from metadata only.

    \b
    Start here:
      sieve init                     create SIEVE_HOME, keys and the control plane
      sieve demo                     run everything on the built-in demo organization
    Configuration comes from the environment: SIEVE_HOME (default ./.sieve),
    SIEVE_CONTROL_PLANE_URL, SIEVE_MASTER_KEY or SIEVE_KEY_FILE, DAGSTER_HOME.
    """


for module in (admin, orgs, connections, data, analyst, keys, platform, demo, retention):
    module.register(main)
