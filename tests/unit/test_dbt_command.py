"""`sieve-dbt` and the dbt resource cost a build nothing they do not need: no network call for
the version, no adapter in the run's process."""

from __future__ import annotations

import inspect
import re
import socket
from importlib.metadata import version

import pytest
from dagster_dbt import DbtCliResource

from assets.dbt import SieveDbtCliResource
from resources.marts.dbt_command import main
from resources.marts.runner import DBT_PROJECT_DIR, dbt_executable


def test_the_version_is_read_locally_without_the_network(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture):
    """dbt's own ``--version`` asks PyPI for the latest release; dagster-dbt runs it before
    every build."""
    def no_network(*args, **kwargs):
        raise AssertionError("sieve-dbt --version opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert main(["--version"]) == 0
    printed = capsys.readouterr().out
    # dagster-dbt reads the first version number of the output (DbtCliResource._cli_version).
    assert re.search(r"(\d+\.\d+\.\d+)", printed).group(1) == version("dbt-core")
    assert f"duckdb: {version('dbt-duckdb')}" in printed


def test_the_dbt_resource_opens_no_adapter_of_its_own():
    """The override must still replace the step dagster-dbt runs before every command; if
    dagster-dbt renames it, this fails instead of the 1.6 s coming back unnoticed."""
    assert "_initialize_dbt_core_adapter" in inspect.getsource(DbtCliResource.cli)
    assert SieveDbtCliResource._initialize_dbt_core_adapter is not \
        DbtCliResource._initialize_dbt_core_adapter
    resource = SieveDbtCliResource(project_dir=str(DBT_PROJECT_DIR),
                                   dbt_executable=dbt_executable())
    assert resource._initialize_dbt_core_adapter(["build"]) is None


class RecordingLog:
    """A dbt log at ``level`` that keeps the names of the events it is handed."""

    def __init__(self, level):
        self.level = level
        self.lines: list[str] = []

    def filter(self, msg) -> bool:
        return True

    def write_line(self, msg) -> None:
        self.lines.append(msg.info.msg)


def test_debug_events_that_no_log_keeps_are_dropped_before_they_are_built():
    """`sieve-dbt` builds drop debug events when every log is above debug (dbt_command.py);
    a debug log, another callback, or an event at info or above still gets every one."""
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.types import Note

    from resources.marts.dbt_command import skip_debug_events_nobody_logs

    skip_debug_events_nobody_logs()
    skip_debug_events_nobody_logs()  # once only, whatever the number of calls

    manager = EventManager()
    info_log = RecordingLog(EventLevel.INFO)
    manager.loggers.append(info_log)
    manager.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="a node's result"), level=EventLevel.INFO)
    assert info_log.lines == ["a node's result"]

    debug_log = RecordingLog(EventLevel.DEBUG)
    manager.loggers.append(debug_log)
    manager.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
    assert debug_log.lines == info_log.lines[1:] == ["a statement"]

    manager.loggers.remove(debug_log)
    seen = []
    manager.callbacks.append(lambda msg: seen.append(msg.info.msg))
    manager.fire_event(Note(msg="for a callback"), level=EventLevel.DEBUG)
    assert seen == ["for a callback"]
