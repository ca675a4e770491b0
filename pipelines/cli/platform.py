"""``sieve ui``, ``sieve emulate`` and ``sieve demo``: running the platform locally."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from pipelines.cli.context import sieve_from

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# How long `dagster dev` (webserver, daemon, code server) gets to stop before it is killed.
STOP_GRACE_SECONDS = 15.0


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
           "SIEVE_HOME": str(settings.home), "PATH": path_with_this_python()}
    raise SystemExit(run_process_group(dagster_dev_command(port), env=env, cwd=PROJECT_ROOT))


# Dagster 1.13 says `dagster dev` is superseded by `dg dev`, which lives in dagster-dg-cli, a
# package Sieve does not install; `dagster dev` still runs everything `sieve ui` needs.
DEV_SUPERSEDED_WARNING = "ignore:Function `dev_command` is superseded"


def dagster_dev_command(port: int) -> list[str]:
    return [sys.executable, "-W", DEV_SUPERSEDED_WARNING, "-m", "dagster", "dev", "-w",
            str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]


class _StopRequested(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def run_process_group(command: list[str], *, env: dict[str, str], cwd: Path,
                      grace_seconds: float = STOP_GRACE_SECONDS) -> int:
    """Run ``command`` in a process group of its own until it exits, and return its status.

    SIGTERM or SIGINT to this process stops the whole group — the webserver, the daemon and
    the code servers `dagster dev` starts, which a signal to this process alone would leave
    running: SIGTERM to the group, SIGKILL to what is left after ``grace_seconds``.
    """
    def stop(signum, _frame):
        raise _StopRequested(signum)

    # The handlers come first: a signal arriving just after the group started must stop it too.
    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    process = None
    try:
        process = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)
        return process.wait()
    except _StopRequested as requested:
        for number in previous:
            signal.signal(number, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown
        if process is not None:
            stop_process_group(process, grace_seconds)
        return 128 + requested.signum
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stop_process_group(process: subprocess.Popen, grace_seconds: float) -> None:
    group = process.pid  # the leader of a new session: its pid is the group id
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and _group_alive(group, process):
        time.sleep(0.1)
    _signal_group(group, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass  # the whole group is gone already


def _group_alive(group: int, leader: subprocess.Popen) -> bool:
    leader.poll()  # reap the leader, or the group never looks empty
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@click.command()
@click.option("--scale", type=click.Choice(["tiny", "demo", "large"]), default="demo",
              show_default=True, help="Size of the synthetic organization.")
@click.option("--port", default=8765, show_default=True, help="Loopback port (0 picks one).")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic organization.")
@click.option("--anchor", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The day the organization's history ends, YYYY-MM-DD (default: today, UTC); "
                   "the same scale, seed and anchor always serve the same organization.")
@click.option("--idle-exit", type=float, default=0, show_default=True,
              help="Stop after this many seconds without a request (0: run until Ctrl-C).")
def emulate(scale: str, port: int, seed: int, anchor, idle_exit: float) -> None:
    """Serve local GitHub, GitLab, Jira and Slack API emulators with a synthetic organization.
    Prints one line per API, `<api> <base-url> <credential>`, once listening; stops on Ctrl-C.

    \b
    Example:
      sieve emulate --scale tiny --port 8765 --anchor 2026-11-16
    """
    from emulators.cli import serve

    serve(scale=scale, port=port, seed=seed, anchor=anchor.date() if anchor else None,
          idle_exit=idle_exit)


def path_with_this_python() -> str:
    """PATH with this Python's bin directory first: under `dagster dev`, dagster-dbt parses the
    dbt project with the `dbt` it finds on PATH, which must be the one installed beside us."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
