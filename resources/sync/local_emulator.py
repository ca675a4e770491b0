"""Connections served by Sieve's own local emulator (the demo organization's): restart it
when a sync finds nothing listening.

``sieve demo`` records, in each connection's settings under ``local_emulator``, which synthetic
organization served it (scale, seed and anchor date). The demo's emulator stops when the demo
exits; a later ``sieve sync demo``, the UI's Materialize or the nightly schedule then starts
``python -m emulators.cli`` in a process of its own, serving that same deterministic
organization on the recorded port, and the emulator stops itself once idle. Product code only
starts the process: it never imports the emulators.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from resources.http import SourceUnreachableError

LOCAL_EMULATOR_SETTING = "local_emulator"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Long enough for a whole sync's gaps (dbt builds between two syncs' fetches), short enough
# that nothing is left running for long after the last one.
IDLE_EXIT_SECONDS = 300
START_TIMEOUT_SECONDS = 20.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def emulator_command(emulator: dict, port: int) -> list[str]:
    """How to serve the recorded organization on ``port`` (argv, no secrets in it)."""
    return [sys.executable, "-m", "emulators.cli", "--scale", str(emulator["scale"]),
            "--seed", str(emulator["seed"]), "--anchor", str(emulator["anchor"]),
            "--port", str(port), "--idle-exit", str(IDLE_EXIT_SECONDS)]


def is_listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def ensure_local_emulator(settings: dict, *, timeout: float = START_TIMEOUT_SECONDS
                          ) -> subprocess.Popen | None:
    """Start the recorded emulator if the connection has one and nothing listens on its port.

    Returns the started process (None when nothing was needed). Several connections of one
    sync may race to start it: the losers cannot bind the port and exit, and every caller
    waits until the port answers. Raises ``SourceUnreachableError`` when it never does.
    """
    emulator = settings.get(LOCAL_EMULATOR_SETTING)
    if not emulator:
        return None
    address = urlsplit(settings.get("base_url", ""))
    if address.hostname not in LOOPBACK_HOSTS or address.port is None:
        return None  # only ever a local emulator, never a process for a remote host
    host, port = address.hostname, address.port
    if is_listening(host, port):
        return None
    process = subprocess.Popen(emulator_command(emulator, port), cwd=PROJECT_ROOT,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_listening(host, port):
            return process
        time.sleep(0.1)
    process.terminate()
    raise SourceUnreachableError(
        f"the local emulator this connection was set up with (by `sieve demo`) did not start "
        f"on {host}:{port} within {timeout:.0f} s. Check that the port is free, or run "
        f"`sieve demo` again to set the demo organization up on a new port.")
