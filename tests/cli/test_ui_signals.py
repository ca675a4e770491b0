"""`sieve ui` stops everything it started — `dagster dev` and the processes it spawns — when it is
sent SIGTERM (a service manager) or SIGINT (Ctrl-C) (issue 21 item 9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Stands in for `dagster dev`: a parent that starts long-lived children (webserver, daemon).
FAKE_DAGSTER_DEV = "sleep 600 & echo $! >> {pids}; sleep 600 & echo $! >> {pids}; wait"


def start_sieve_ui(pids: Path, env: dict[str, str]) -> subprocess.Popen:
    script = (
        "import sys, pipelines.cli.platform as platform\n"
        f"platform.dagster_dev_command = lambda port: ['sh', '-c', {FAKE_DAGSTER_DEV.format(pids=pids)!r}]\n"
        "from pipelines.cli import main\n"
        "sys.argv = ['sieve', 'ui']\n"
        "main()\n")
    return subprocess.Popen([sys.executable, "-c", script], env=env,
                            cwd=Path(__file__).resolve().parents[2])


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not collected it yet


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sieve_ui_stops_the_whole_process_group(sieve_home, tmp_path, signum):
    pids = tmp_path / "children.pids"
    ui = start_sieve_ui(pids, dict(os.environ))
    try:
        wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2, 60,
                 "the stand-in for dagster dev to start its children")
        children = [int(pid) for pid in pids.read_text().split()]
        ui.send_signal(signum)
        assert ui.wait(30) == 128 + signum
        wait_for(lambda: not any(is_running(pid) for pid in children), 5,
                 "the children of dagster dev to stop")
    finally:
        if ui.poll() is None:
            ui.kill()
        for pid in pids.read_text().split() if pids.exists() else []:
            if is_running(int(pid)):
                os.kill(int(pid), signal.SIGKILL)


def test_sieve_ui_does_not_print_that_dagster_dev_is_superseded(tmp_path):
    # A relative DAGSTER_HOME makes `dagster dev` stop right after its supersession warning.
    from pipelines.cli.platform import dagster_dev_command

    env = {**os.environ, "DAGSTER_HOME": "relative"}
    done = subprocess.run(dagster_dev_command(1), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "DAGSTER_HOME" in done.stderr  # it did get that far
    assert "superseded" not in done.stderr
