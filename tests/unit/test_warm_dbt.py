"""A dbt process started ahead of its build (resources/marts/warm_dbt.py): the build handed to it
runs there with the handing command's streams, arguments and environment, its exit code comes
back, a cancellation reaches it, and anything amiss leaves the build to the command itself.
The build server runs each build handed to it in a process of its own, forked from it.

The waiting process and the server here run a stand-in build, so these take a second; the real
ones (dbt) are tests/dbt/test_dbt_project.py, `test_dbt_unit_tests_pass`, and every build of the
suite (the `dbt_build_server` fixture of tests/conftest.py)."""

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
from resources.marts.warm_dbt import (
    BUILD_SERVER_VARIABLE,
    POINTER_FILE,
    dbt_build_server,
    dbt_started_ahead,
    hand_over,
    marts_will_be_built,
    wait_until_listening,
)

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

STAND_IN_SERVER = """
import os, sys, time
from pathlib import Path
from resources.marts.warm_dbt import serve_builds

def build(args, prepared):
    try:
        print(f"built {args} in {os.getcwd()} as {os.environ['WHO']}, process {os.getpid()} "
              f"of {os.getppid()}, {prepared}", flush=True)
        if args[:1] == ["wait-for"]:
            while not Path(args[1]).exists():
                time.sleep(0.02)
        if args == ["crash"]:
            raise RuntimeError("the build broke")
    except KeyboardInterrupt:
        print("cancelled", flush=True)
        return 130
    return 3

sys.exit(serve_builds(Path(sys.argv[1]), int(sys.argv[2]), load=lambda: None,
                      prepare=lambda: "a parse", build=build))
"""

CLIENT = """
import sys
from pathlib import Path
from resources.marts.warm_dbt import hand_over

code = hand_over(Path(sys.argv[1]), sys.argv[2:])
print(f"handed over: {code}", flush=True)
sys.exit(0 if code is None else code)
"""


@pytest.fixture(autouse=True)
def no_build_server(monkeypatch):
    """The suite's own build server (tests/conftest.py) is not the one under test here."""
    monkeypatch.delenv(BUILD_SERVER_VARIABLE, raising=False)


def ignore_ctrl_c() -> None:
    """As under nohup, or in a background job of a script: SIGINT ignored, and inherited so."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_listening(script: str, socket_path: Path, **popen) -> tuple[subprocess.Popen, int]:
    """``script`` started as a dbt process would be, once it listens on ``socket_path``: the
    process and the parent's end of its pipe."""
    parent_alive, parent_gone = os.pipe()
    process = subprocess.Popen([sys.executable, "-c", script, str(socket_path), str(parent_alive)],
                               cwd=ROOT, pass_fds=(parent_alive,), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, **popen)
    os.close(parent_alive)
    assert wait_until_listening(socket_path, process, seconds=20), "the stand-in never listened"
    return process, parent_gone


def stop(process: subprocess.Popen, parent_gone: int) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    try:
        os.close(parent_gone)
    except OSError:
        pass


@pytest.fixture
def stand_in(tmp_path):
    """``stand_in(slow_load=False)`` starts a stand-in waiting process for the run whose target
    is ``tmp_path/run/target``: (that target, the process, the parent's end of its pipe)."""
    started = []

    def start(slow_load: bool = False, report_nice: bool = False, ctrl_c_ignored: bool = False):
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        socket_path = tmp_path / "dbt.sock"
        (run_dir / POINTER_FILE).write_text(str(socket_path))
        process, parent_gone = start_listening(
            STAND_IN, socket_path, preexec_fn=ignore_ctrl_c if ctrl_c_ignored else None,
            env={**os.environ, **({"SLOW_LOAD": "1"} if slow_load else {}),
                 **({"REPORT_NICE": "1"} if report_nice else {})})
        started.append((process, parent_gone))
        return run_dir / "target", process, parent_gone

    yield start
    for process, parent_gone in started:
        stop(process, parent_gone)


@pytest.fixture
def waiting(stand_in):
    return stand_in()


@pytest.fixture
def build_server(tmp_path):
    """A stand-in build server: (its socket, the process, the parent's end of its pipe)."""
    socket_path = tmp_path / "server.sock"
    process, parent_gone = start_listening(STAND_IN_SERVER, socket_path)
    yield socket_path, process, parent_gone
    stop(process, parent_gone)


def client(target: Path, *args: str, cwd: Path, server: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLIENT, str(target), *args], cwd=cwd,
                            env={**os.environ, "WHO": "the client",
                                 "PYTHONPATH": str(ROOT),
                                 **({BUILD_SERVER_VARIABLE: str(server)} if server else {})},
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


def test_the_server_runs_builds_side_by_side_each_in_a_process_forked_from_it(build_server,
                                                                              tmp_path):
    socket_path, server, parent_gone = build_server
    target = tmp_path / "run" / "target"  # no waiting process for this run: the server takes it
    go_on = tmp_path / "go-on"
    waiting = client(target, "wait-for", str(go_on), cwd=tmp_path, server=socket_path)
    first_line = waiting.stdout.readline()
    assert first_line.startswith(f"built ['wait-for', '{go_on}'] in {tmp_path} as the client")
    meanwhile = client(target, "build", cwd=tmp_path, server=socket_path)
    out, err = meanwhile.communicate(timeout=30)
    assert meanwhile.returncode == 3
    assert (out.splitlines()[1], err) == ("handed over: 3", "")
    go_on.touch()
    rest, _ = waiting.communicate(timeout=30)
    assert (waiting.returncode, rest) == (3, "handed over: 3\n")
    processes = [line.split("process ")[1].split(",")[0].split(" of ") for line in (first_line, out)]
    assert {parent for _, parent in processes} == {str(server.pid)}  # forked from the server
    assert len({child for child, _ in processes}) == 2  # one process per build
    assert "None" in out  # a forked build makes its own run's parse
    assert server.poll() is None  # it serves on
    os.close(parent_gone)
    assert server.wait(timeout=10) == 0


def test_a_build_that_breaks_or_is_cancelled_ends_its_own_process_only(build_server, tmp_path):
    socket_path, server, _ = build_server
    target = tmp_path / "run" / "target"
    crashed = client(target, "crash", cwd=tmp_path, server=socket_path)
    out, err = crashed.communicate(timeout=30)
    assert crashed.returncode == 2
    assert "RuntimeError: the build broke" in err
    assert "the dbt process ended without finishing the build" in err
    cancelled = client(target, "wait-for", str(tmp_path / "never"), cwd=tmp_path,
                       server=socket_path)
    assert cancelled.stdout.readline().startswith("built ['wait-for'")
    cancelled.send_signal(signal.SIGTERM)  # what dagster-dbt does to a cancelled build
    out, _ = cancelled.communicate(timeout=30)
    assert out.splitlines() == ["cancelled", "handed over: 130"]
    after = client(target, "build", cwd=tmp_path, server=socket_path)
    assert after.communicate(timeout=30)[0].endswith("handed over: 3\n")
    assert server.poll() is None


def test_the_organizations_waiting_process_comes_before_the_server(waiting, build_server,
                                                                   tmp_path):
    target, process, _ = waiting
    socket_path, _, _ = build_server
    done = client(target, "build", cwd=tmp_path, server=socket_path)
    out, _ = done.communicate(timeout=30)
    assert out.splitlines()[0].endswith("with a parse in " + str(tmp_path) + " as the client")
    assert process.wait(timeout=10) == 3
    gone = client(target, "build", cwd=tmp_path, server=socket_path)  # its pointer is stale now
    out, _ = gone.communicate(timeout=30)
    assert "process " in out.splitlines()[0] and out.endswith("handed over: 3\n")


def test_a_sync_starts_no_dbt_ahead_where_a_build_server_runs(tmp_path, monkeypatch):
    class Settings:
        orgs_dir = tmp_path / "orgs"

    run_dir = tmp_path / "orgs" / "org_1" / "dbt"
    monkeypatch.setattr("resources.marts.runner.org_dbt_directory", lambda *_: run_dir)
    monkeypatch.setenv("SIEVE_DBT_AHEAD", "1")
    monkeypatch.setenv(BUILD_SERVER_VARIABLE, str(tmp_path / "server.sock"))
    with dbt_started_ahead(Settings(), "org_1"):
        assert not (run_dir / POINTER_FILE).exists()
    monkeypatch.delenv(BUILD_SERVER_VARIABLE)
    with dbt_started_ahead(Settings(), "org_1"):
        assert (run_dir / POINTER_FILE).exists()  # never built: a sync would build


def test_a_build_server_that_does_not_start_is_an_error(tmp_path, monkeypatch):
    """Not a quiet fall-back to builds that each load dbt themselves: the suite and the
    benchmark that keep a server would otherwise run, and measure, without one."""
    failing = tmp_path / "bin" / "sieve-dbt"
    failing.parent.mkdir()
    failing.write_text("#!/bin/sh\nexit 7\n")
    failing.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(failing.with_name("python")))

    with pytest.raises(RuntimeError, match=r"sieve-dbt --serve-builds\) ended with exit code 7 "
                                           r"before it listened on .*dbt\.sock"):
        with dbt_build_server(tmp_path):
            pass
