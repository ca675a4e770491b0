"""A dbt process started ahead of its build (resources/marts/warm_dbt.py): the build handed to it
runs there with the handing command's streams, arguments and environment, its exit code comes
back, a cancellation reaches it, and anything amiss leaves the build to the command itself.

The waiting process here runs a stand-in build, so these take a second; the real one (dbt) is
tests/dbt/test_dbt_project.py, `test_dbt_unit_tests_pass`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from resources.marts.build_state import MARTS, forget_build, record_marts_build
from resources.marts.warm_dbt import POINTER_FILE, hand_over, marts_will_be_built

ROOT = Path(__file__).resolve().parents[2]

STAND_IN = """
import os, sys, time
from pathlib import Path
from resources.marts.warm_dbt import serve_one_build

import threading

def nice():
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

def build(args, prepared):
    try:
        if args == ["nice"]:
            print(f"prepared at nice {prepared}, built at nice {nice()}", flush=True)
            return 0
        print(f"built {args} with {prepared} in {os.getcwd()} as {os.environ['WHO']}",
              flush=True)
        print("to stderr", file=sys.stderr, flush=True)
        if args == ["wait"]:
            time.sleep(60)
    except KeyboardInterrupt:
        print("cancelled", flush=True)
        return 130
    return 3

def load():
    if os.environ.get("SLOW_LOAD"):
        time.sleep(60)

def prepare():
    return nice() if os.environ.get("REPORT_NICE") else "a parse"

sys.exit(serve_one_build(Path(sys.argv[1]), int(sys.argv[2]), load=load, prepare=prepare,
                         build=build))
"""

CLIENT = """
import sys
from pathlib import Path
from resources.marts.warm_dbt import hand_over

code = hand_over(Path(sys.argv[1]), sys.argv[2:])
print(f"handed over: {code}", flush=True)
sys.exit(0 if code is None else code)
"""


def ignore_ctrl_c() -> None:
    """As under nohup, or in a background job of a script: SIGINT ignored, and inherited so."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture
def stand_in(tmp_path):
    """``stand_in(slow_load=False)`` starts a stand-in waiting process for the run whose target
    is ``tmp_path/run/target``: (that target, the process, the parent's end of its pipe)."""
    started = []

    def start(slow_load: bool = False, report_nice: bool = False, ctrl_c_ignored: bool = False):
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        socket_path = tmp_path / "dbt.sock"
        parent_alive, parent_gone = os.pipe()
        process = subprocess.Popen([sys.executable, "-c", STAND_IN, str(socket_path),
                                    str(parent_alive)], cwd=ROOT, pass_fds=(parent_alive,),
                                   env={**os.environ, **({"SLOW_LOAD": "1"} if slow_load else {}),
                                        **({"REPORT_NICE": "1"} if report_nice else {})},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   preexec_fn=ignore_ctrl_c if ctrl_c_ignored else None)
        os.close(parent_alive)
        started.append((process, parent_gone))
        (run_dir / POINTER_FILE).write_text(str(socket_path))
        deadline = time.monotonic() + 20
        while not socket_path.exists():
            assert time.monotonic() < deadline, "the waiting process never listened"
            time.sleep(0.02)
        return run_dir / "target", process, parent_gone

    yield start
    for process, parent_gone in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        try:
            os.close(parent_gone)
        except OSError:
            pass


@pytest.fixture
def waiting(stand_in):
    return stand_in()


def client(target: Path, *args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLIENT, str(target), *args], cwd=cwd,
                            env={**os.environ, "WHO": "the client",
                                 "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_build_runs_in_the_waiting_process_with_the_commands_streams(waiting, tmp_path):
    target, process, _ = waiting
    done = client(target, "build", "--select", "x", cwd=tmp_path)
    out, err = done.communicate(timeout=30)
    assert done.returncode == 3
    assert out.splitlines() == [
        f"built ['build', '--select', 'x'] with a parse in {tmp_path} as the client",
        "handed over: 3"]
    assert err == "to stderr\n"
    assert process.wait(timeout=10) == 3  # one build, then it is gone


@pytest.mark.parametrize("ctrl_c_ignored", [False, True], ids=["Ctrl-C handled", "Ctrl-C ignored"])
def test_a_cancelled_command_cancels_the_build(stand_in, tmp_path, ctrl_c_ignored):
    target, process, _ = stand_in(ctrl_c_ignored=ctrl_c_ignored)
    done = client(target, "wait", cwd=tmp_path)
    first = done.stdout.readline()
    assert first.startswith("built ['wait']")
    done.send_signal(signal.SIGTERM)  # what dagster-dbt does to a cancelled build
    out, _ = done.communicate(timeout=30)
    assert out.splitlines() == ["cancelled", "handed over: 130"]
    assert process.wait(timeout=10) == 130


def test_the_waiting_process_leaves_when_no_build_comes(waiting):
    _, process, parent_gone = waiting
    time.sleep(0.3)
    assert process.poll() is None
    os.close(parent_gone)
    assert process.wait(timeout=10) == 0


def test_a_sync_that_ends_while_dbt_loads_leaves_no_process_behind(stand_in):
    _, process, parent_gone = stand_in(slow_load=True)
    started = time.monotonic()
    os.close(parent_gone)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - started < 10  # not the 60 s its loading would take


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_dbt_loads_at_lowest_priority_and_builds_at_the_processs_own(stand_in, tmp_path):
    target, _, _ = stand_in(report_nice=True)
    done = client(target, "nice", cwd=tmp_path)
    out, _ = done.communicate(timeout=30)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert out.splitlines()[0] == f"prepared at nice {min(base + 19, 19)}, built at nice {base}"


def test_without_a_waiting_process_the_command_builds_itself(tmp_path):
    target = tmp_path / "run" / "target"
    assert hand_over(target, ["build"]) is None  # no pointer file
    target.parent.mkdir()
    (target.parent / POINTER_FILE).write_text(str(tmp_path / "gone.sock"))
    assert hand_over(target, ["build"]) is None  # a pointer to a process that left


def test_a_process_that_took_another_build_leaves_this_one_to_the_command(waiting, tmp_path):
    target, process, _ = waiting
    first = client(target, "wait", cwd=tmp_path)
    assert first.stdout.readline().startswith("built ['wait']")
    second = client(target, "build", cwd=tmp_path)
    out, _ = second.communicate(timeout=30)
    assert (second.returncode, out) == (0, "handed over: None\n")
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)


def test_dbt_is_started_ahead_only_for_a_sync_that_will_build(tmp_path):
    """The first sync, or the first of a new day, builds whatever it fetches; a later one the
    same day may only verify the marts, and a dbt loaded for it would take CPU for nothing."""
    today = date(2026, 3, 14)
    assert marts_will_be_built(tmp_path, today)  # never built
    record_marts_build(tmp_path, "f1", "2026-03-13 23:00:00", "run-1")
    assert marts_will_be_built(tmp_path, today)  # built yesterday
    record_marts_build(tmp_path, "f2", "2026-03-14 01:00:00", "run-2")
    assert not marts_will_be_built(tmp_path, today)  # built today
    forget_build(tmp_path, MARTS)  # a failed build forgets its record
    assert marts_will_be_built(tmp_path, today)
