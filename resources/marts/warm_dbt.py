"""A dbt process started ahead of its build, so a sync does not wait for dbt to load.

A ``sieve-dbt`` build spends its first seconds importing dbt (2.4 s on this 2-core machine) and
checking the project's parse (0.85 s), before it runs a node; and ``sieve sync`` spends its
own first seconds importing Dagster and syncing the sources, on one core. So ``sieve sync``
starts a dbt process for the organization as it begins (`warm_dbt`): on the other core it
imports dbt, parses the project the var-free way every build does (resources/marts/
dbt_command.py) and waits. When dagster-dbt then runs ``sieve-dbt build …``, that command
hands its arguments, environment, working directory and standard streams to the waiting process
(`hand_over`), which runs the build exactly as ``sieve-dbt`` would have and answers with its
exit code. dagster-dbt reads the same output from the same pipe.

- One build per process: it exits after it, or when ``sieve sync`` ends without one (a sync
  whose marts were unchanged).
- The socket lives in a fresh private directory (mode 0700) and the process serves its own
  user only; a file in the organization's dbt directory names it for the build (its path, no
  secret). The org's key still reaches dbt as before, from the run (resources/marts/org_key.py).
- Anything amiss (no waiting process, another build took it, it died) and ``sieve-dbt`` runs the
  build itself, as it always did; a cancelled build is cancelled in the waiting process too.

A caller that runs many builds can keep a **build server** instead (`dbt_build_server`): one
process that loads dbt once and runs every build handed to it in a process forked from it, so no
build imports dbt or compiles its classes again. It is found through ``SIEVE_DBT_SERVER`` (the
socket's path), after the organization's waiting process; a sync started with it set starts no
process ahead. The test suite keeps one per test process (tests/conftest.py), where each of its
dbt runs spent 2-3 s of CPU loading dbt (bench/results/inner-loop.md).
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

POINTER_FILE = "warm-dbt"
BUILD_SERVER_VARIABLE = "SIEVE_DBT_SERVER"
STANDARD_STREAMS = (0, 1, 2)
_LENGTH = struct.Struct("!I")
_EXIT_CODE = struct.Struct("!i")
ACCEPTED = b"A"
CANCEL = b"C"
# A build server binds its socket before it loads dbt: a Python start-up and two imports.
SERVER_START_SECONDS = 30


@contextmanager
def dbt_started_ahead(settings, org_id: str) -> Iterator[None]:
    """`warm_dbt` for one organization of this installation, when its sync will build the
    marts whatever it fetches (`marts_will_be_built`). ``SIEVE_DBT_AHEAD=0`` turns it off
    (every build then starts its own dbt, as the Dagster UI's runs do), and a build server
    (``SIEVE_DBT_SERVER``) makes it needless."""
    from resources.marts.runner import DBT_PROJECT_DIR, org_dbt_directory

    run_dir = org_dbt_directory(settings.orgs_dir, org_id)
    if (os.environ.get("SIEVE_DBT_AHEAD", "1") == "0" or os.environ.get(BUILD_SERVER_VARIABLE)
            or not marts_will_be_built(run_dir)):
        yield
        return
    with warm_dbt(run_dir, DBT_PROJECT_DIR):
        yield


def marts_will_be_built(run_dir: Path, today: date | None = None) -> bool:
    """No build of the marts is recorded, or the last one is as of an earlier day: this sync
    builds them, whatever it fetches (resources/marts/build_state.py). Otherwise it may well
    verify them instead (a no-change sync), and a dbt loaded ahead would only take CPU from
    it: 0.4–1.8 s of the demo org's no-change sync, measured side by side."""
    from resources.marts.build_state import MARTS, as_of_day, recorded

    build = recorded(run_dir, MARTS)
    today = today or datetime.now(UTC).date()
    return build is None or as_of_day(str(build.get("as_of", "")), False) != today.isoformat()


@contextmanager
def warm_dbt(run_dir: Path, project_dir: Path) -> Iterator[subprocess.Popen]:
    """A dbt process waiting, for as long as the block lasts, for one build of the organization
    whose dbt files are in ``run_dir``; it is gone when the block ends."""
    pointer = run_dir / POINTER_FILE
    with _dbt_process("--serve-one-build", project_dir, run_dir / "target") as (socket_path,
                                                                                process):
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            pointer.write_text(str(socket_path))
            yield process
        finally:
            try:
                if pointer.read_text() == str(socket_path):
                    pointer.unlink()
            except OSError:
                pass


@contextmanager
def dbt_build_server(project_dir: Path) -> Iterator[Path]:
    """A build server (`serve_builds`) for as long as the block lasts: its socket's path, to
    set as ``SIEVE_DBT_SERVER`` where builds start. It listens before it loads dbt, so a build
    handed over meanwhile waits for it rather than loading dbt itself. A server that does not
    listen is an error, not a quiet fall-back to builds that each load dbt themselves."""
    with _dbt_process("--serve-builds", project_dir, None) as (socket_path, process):
        if not wait_until_listening(socket_path, process, seconds=SERVER_START_SECONDS):
            what = (f"ended with exit code {process.returncode} before it listened"
                    if process.poll() is not None
                    else f"did not listen within {SERVER_START_SECONDS} s")
            raise RuntimeError(f"the dbt build server ({process.args[0]} --serve-builds) {what} "
                               f"on {socket_path}; `sieve-dbt --version` checks that it runs")
        yield socket_path


def wait_until_listening(socket_path: Path, process: subprocess.Popen, seconds: float) -> bool:
    """Whether ``process`` binds ``socket_path`` within ``seconds`` (False once it has ended)."""
    deadline = time.monotonic() + seconds
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@contextmanager
def _dbt_process(mode: str, project_dir: Path,
                 target_path: Path | None) -> Iterator[tuple[Path, subprocess.Popen]]:
    """``sieve-dbt <mode> <socket> <pipe>``, with dbt's settings for the run whose target is
    ``target_path`` (one of its own when None), stopped when the block ends: the pipe closes,
    which tells it that no build is coming any more."""
    socket_dir = Path(tempfile.mkdtemp(prefix="sieve-dbt-"))  # mode 0700
    socket_path = socket_dir / "dbt.sock"
    target_path = target_path or socket_dir / "run" / "target"
    parent_alive, parent_gone = os.pipe()
    from resources.marts.dbt_command import dbt_environment  # which imports this module

    environment = {**dbt_environment(project_dir, target_path), "PYTHONUNBUFFERED": "1",
                   "DBT_LOG_FORMAT": "json"}
    executable = str(Path(sys.executable).with_name("sieve-dbt"))
    process = subprocess.Popen(
        [executable, mode, str(socket_path), str(parent_alive)],
        cwd=project_dir, env=environment, pass_fds=(parent_alive,), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(parent_alive)
    try:
        yield socket_path, process
    finally:
        os.close(parent_gone)  # the process sees the pipe close: no build is coming any more
        try:
            process.wait(timeout=30)  # at most the rest of its start-up
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(socket_dir, ignore_errors=True)


def hand_over(target_path: Path, args: Sequence[str]) -> int | None:
    """Run ``sieve-dbt <args>`` in a dbt process already loaded that takes it: the
    organization's waiting process, else the build server of ``SIEVE_DBT_SERVER``. Its exit
    code, or None to run the build here."""
    for socket_path in _loaded_dbt_processes(target_path):
        code = _hand_over_to(socket_path, args)
        if code is not None:
            return code
    return None


def _loaded_dbt_processes(target_path: Path) -> Iterator[str]:
    try:
        yield (target_path.parent / POINTER_FILE).read_text()
    except OSError:
        pass
    if server := os.environ.get(BUILD_SERVER_VARIABLE):
        yield server


def _hand_over_to(socket_path: str, args: Sequence[str]) -> int | None:
    with _forwarding_cancellation() as cancellation:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(socket_path)
            body = json.dumps({"args": list(args), "cwd": os.getcwd(),
                               "env": dict(os.environ)}).encode()
            socket.send_fds(connection, [_LENGTH.pack(len(body))], list(STANDARD_STREAMS))
            connection.sendall(body)
            if _receive(connection, len(ACCEPTED)) != ACCEPTED:
                connection.close()
                return None
        except OSError:
            connection.close()
            return None
        with connection:
            cancellation.reach(connection)
            answer = _receive(connection, _EXIT_CODE.size)
    if len(answer) != _EXIT_CODE.size:
        print("sieve-dbt: the dbt process ended without finishing the build; its log is in the "
              "run's target directory", file=sys.stderr)
        return 2
    return _EXIT_CODE.unpack(answer)[0]


class _Cancellation:
    """Ctrl-C or a termination of this command (dagster-dbt cancelling the build), passed on
    to the process running the build once it has taken it; before that, kept."""

    def __init__(self) -> None:
        self.connection: socket.socket | None = None
        self.signals: list[int] = []

    def __call__(self, signum, _frame) -> None:
        self.signals.append(signum)
        self._pass_on()

    def reach(self, connection: socket.socket) -> None:
        self.connection = connection
        self._pass_on()

    def _pass_on(self) -> None:
        if self.connection is not None and self.signals:
            try:
                self.connection.send(CANCEL)
            except OSError:
                pass


@contextmanager
def _forwarding_cancellation() -> Iterator[_Cancellation]:
    """Signals caught while a build is handed over; one that came before another process took
    the build is delivered to this one again when the block ends."""
    cancellation = _Cancellation()
    previous = {sig: signal.signal(sig, cancellation) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancellation
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if cancellation.signals and cancellation.connection is None:
            signal.raise_signal(cancellation.signals[0])


def serve_one_build(socket_path: Path, parent_alive: int, load: Callable[[], None],
                    prepare: Callable[[], object],
                    build: Callable[[Sequence[str], object], int]) -> int:
    """The waiting process: ``load()`` (import dbt) and ``prepare()`` (parse) at lowest
    priority, then run one ``build(args, prepared)`` handed over on ``socket_path``; or leave
    when the ``parent_alive`` pipe closes first: at once while loading, after the parse (which
    writes the kept parse) otherwise. A ``prepare`` that fails leaves the build to parse."""
    # A cancelled build is stopped by a SIGINT this process sends itself (`_cancel_on_request`).
    # A sync started where Ctrl-C is ignored (under nohup, or as a background job of a script)
    # passes that on to its children, so the handler is set here rather than inherited.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = _listen(socket_path, backlog=1)
    loading = threading.Event()
    loading.set()
    threading.Thread(target=_leave_while_loading, args=(parent_alive, loading), daemon=True,
                     name="sieve-dbt-parent").start()
    prepared_ahead: list[object] = []

    def get_ready() -> None:
        _give_way_to_the_sync()
        load()
        loading.clear()
        prepared_ahead.append(prepare())

    # Loaded and parsed on a thread of lowest priority; the build runs on this one, at the
    # priority the process started with.
    getting_ready = threading.Thread(target=get_ready, name="sieve-dbt-ready")
    getting_ready.start()
    getting_ready.join()
    loading.clear()  # also when loading failed: the build then loads dbt itself
    prepared = prepared_ahead[0] if prepared_ahead else None
    while True:
        ready = _wait_readable(server, parent_alive)
        if server not in ready:
            return 0
        connection, _ = server.accept()
        request = _read_request(connection)
        if request is not None:
            break
        connection.close()
    server.close()
    return _run_handed_build(connection, *request, build, prepared)


def serve_builds(socket_path: Path, parent_alive: int, load: Callable[[], None],
                 prepare: Callable[[], object],
                 build: Callable[[Sequence[str], object], int]) -> int:
    """The build server: ``load()`` and ``prepare()`` once, then run each build handed over on
    ``socket_path`` as ``build(args, None)`` in a process forked from this one, until the
    ``parent_alive`` pipe closes. Builds run side by side, each making its own run's parse; one
    that fails, crashes or is cancelled ends its own process only.

    ``prepare()`` is a parse of the project, then dropped: dbt compiles the code that reads and
    writes its classes on first use, and a process forked after the parse has that code."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = _listen(socket_path, backlog=16)
    load()
    prepare()
    while True:
        ready, _, _ = select.select([server, parent_alive], [], [], 1.0)
        _reap_finished_builds()
        if parent_alive in ready:
            server.close()
            return 0
        if server not in ready:
            continue
        connection, _ = server.accept()
        if os.fork() == 0:
            server.close()
            os._exit(_run_forked_build(connection, build))
        connection.close()


def _run_forked_build(connection: socket.socket, build: Callable) -> int:
    code = 2
    try:
        request = _read_request(connection)
        if request is not None:
            code = _run_handed_build(connection, *request, build, None)
    except BaseException:  # the build's own process: whatever happens, it ends here
        traceback.print_exc()
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _reap_finished_builds() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _listen(socket_path: Path, backlog: int) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(socket_path))
    socket_path.chmod(0o600)
    server.listen(backlog)
    return server


def _run_handed_build(connection: socket.socket, args: Sequence[str], streams: Sequence[int],
                      build: Callable, prepared: object) -> int:
    """Run one build handed over, with the handing command's streams; answer with its exit
    code. The command cancelling it stops it as Ctrl-C would."""
    for stream, fd in zip(STANDARD_STREAMS, streams):
        os.dup2(fd, stream)
        os.close(fd)
    connection.sendall(ACCEPTED)
    finished = threading.Event()
    threading.Thread(target=_cancel_on_request, args=(connection, finished), daemon=True,
                     name="sieve-dbt-cancel").start()
    code = build(args, prepared)
    sys.stdout.flush()
    sys.stderr.flush()
    finished.set()
    connection.sendall(_EXIT_CODE.pack(code))
    return code


def _give_way_to_the_sync() -> None:
    """Lowest priority for the calling thread: the sync that started this process needs its
    core more than a dbt that may not be used (a sync whose marts are unchanged). Measured on
    the demo org's no-change sync, loading dbt at normal priority cost it 0.4–1.8 s. Linux
    gives each thread its own nice value; elsewhere this is left out, as it would lower the
    build too."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass


def _leave_while_loading(parent_alive: int, loading: threading.Event) -> None:
    """A sync that ends (or is killed) before dbt has loaded leaves no process behind to
    finish loading it."""
    select.select([parent_alive], [], [])
    if loading.is_set():
        os._exit(0)


def _wait_readable(server: socket.socket, parent_alive: int) -> list:
    ready, _, _ = select.select([server, parent_alive], [], [])
    return ready


def _read_request(connection: socket.socket) -> tuple[list[str], list[int]] | None:
    """A build's arguments and streams, with its working directory and environment applied
    to this process; None for a peer of another user or a broken request."""
    from resources.marts.org_key import peer_is_same_user

    if not peer_is_same_user(connection):
        return None
    try:
        header, streams, _flags, _address = socket.recv_fds(connection, _LENGTH.size,
                                                            len(STANDARD_STREAMS))
        header += _receive(connection, _LENGTH.size - len(header))
        (length,) = _LENGTH.unpack(header)
        request = json.loads(_receive(connection, length))
    except (OSError, ValueError, struct.error):
        return None
    if len(streams) != len(STANDARD_STREAMS):
        for fd in streams:
            os.close(fd)
        return None
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    return request["args"], streams


def _cancel_on_request(connection: socket.socket, finished: threading.Event) -> None:
    """The handing-over command cancelled, or died: stop the build as Ctrl-C would."""
    try:
        connection.recv(1)
    except OSError:
        pass
    if not finished.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def _receive(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data
