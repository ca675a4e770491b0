"""``sieve ui``, ``sieve emulate`` and ``sieve demo``: running the platform locally."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from pipelines.cli.context import sieve_from

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@click.command()
@click.option("--port", default=3000, show_default=True, help="Port of the Dagster UI.")
@click.pass_context
def ui(ctx: click.Context, port: int) -> None:
    """Start the Dagster UI and daemon (`dagster dev`) on this project's code location.

    \b
    Example:
      sieve ui --port 3000   # then open http://127.0.0.1:3000
    """
    from pipelines.instance import write_embedded_instance

    settings = sieve_from(ctx).settings
    write_embedded_instance(settings.dagster_home)
    env = {**os.environ, "DAGSTER_HOME": str(settings.dagster_home),
           "SIEVE_HOME": str(settings.home)}
    command = [str(Path(sys.executable).with_name("dagster")), "dev", "-w",
               str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    raise SystemExit(subprocess.call(command, env=env, cwd=PROJECT_ROOT))


@click.command()
@click.option("--scale", type=click.Choice(["tiny", "demo", "large"]), default="demo",
              show_default=True, help="Size of the synthetic organization.")
@click.option("--port", default=8765, show_default=True, help="Loopback port (0 picks one).")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic organization.")
def emulate(scale: str, port: int, seed: int) -> None:
    """Serve local GitHub, GitLab, Jira and Slack API emulators with a synthetic organization.
    Prints one line per API, `<api> <base-url> <credential>`, once listening; stops on Ctrl-C.

    \b
    Example:
      sieve emulate --scale tiny --port 8765
    """
    from emulators.cli import serve

    serve(scale=scale, port=port, seed=seed)
