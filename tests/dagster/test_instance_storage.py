"""The embedded instance's SQLite storage keeps its connections open (pipelines/instance_storage.py):
fewer connections, the same durability against a killed process, and nothing left open on a
deleted run's log."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, job, op
from sqlalchemy import event
from sqlalchemy.pool import Pool

from pipelines.instance import write_embedded_instance
from pipelines.instance_storage import SieveSqliteEventLogStorage, SieveSqliteRunStorage


@op
def touch():
    return 1


@job
def tiny_job():
    touch()


def embedded_instance(home: Path) -> DagsterInstance:
    write_embedded_instance(home)
    return DagsterInstance.from_config(str(home))


def open_files(path_fragment: str) -> list[str]:
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return [target for target in targets if path_fragment in target]


def test_embedded_instance_uses_the_kept_open_storages(tmp_path):
    with embedded_instance(tmp_path / "dagster") as instance:
        assert isinstance(instance.event_log_storage, SieveSqliteEventLogStorage)
        assert isinstance(instance.run_storage, SieveSqliteRunStorage)


@contextmanager
def counting_connections() -> Iterator[list]:
    """The database connections opened inside the block, one entry each."""
    connects: list = []

    def count(*_):
        connects.append(1)

    event.listen(Pool, "connect", count)
    try:
        yield connects
    finally:
        event.remove(Pool, "connect", count)


def test_a_run_opens_a_handful_of_connections_not_one_per_event(tmp_path):
    with embedded_instance(tmp_path / "dagster") as instance:
        tiny_job.execute_in_process(instance=instance)  # the instance's databases exist now
        with counting_connections() as connects:
            result = tiny_job.execute_in_process(instance=instance)
        events = len(instance.all_logs(result.run_id))
    assert events >= 10
    # Dagster's own SQLite storages open a connection per read and per write (~8 per event);
    # here the new run's log opens one, and the rest reuse what is open.
    assert len(connects) <= 4, f"{len(connects)} connections for {events} events"


def test_the_event_log_remembers_which_of_its_tables_exist(tmp_path):
    """Dagster asks whether the asset-check table exists before each asset check event (and
    the partitions table before each dynamic-partition lookup); Dagster's own storage opens a
    new engine for every question."""
    with embedded_instance(tmp_path / "dagster") as instance:
        storage = instance.event_log_storage
        assert storage.supports_asset_checks
        with counting_connections() as connects:
            answers = [storage.supports_asset_checks for _ in range(50)]
        assert all(answers) and connects == []
        assert not storage.has_table("no_such_table")


def test_committed_events_survive_a_killed_process(tmp_path):
    home = tmp_path / "dagster"
    write_embedded_instance(home)
    script = textwrap.dedent(f"""
        import os
        from dagster import DagsterEventType, DagsterInstance, job, op

        @op
        def touch():
            return 1

        @job
        def tiny_job():
            touch()

        instance = DagsterInstance.from_config({str(home)!r})
        result = tiny_job.execute_in_process(instance=instance)
        print(result.run_id, flush=True)
        os._exit(9)  # no dispose, no close: as a kill -9 leaves it
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert done.returncode == 9, done.stderr[-2000:]
    run_id = done.stdout.split()[-1]
    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.is_success
        assert any(entry.dagster_event_type == DagsterEventType.RUN_SUCCESS
                   for entry in instance.all_logs(run_id))


def test_a_deleted_runs_log_is_closed(tmp_path):
    with embedded_instance(tmp_path / "dagster") as instance:
        run_id = tiny_job.execute_in_process(instance=instance).run_id
        assert open_files(f"{run_id}.db"), "the run's log should be held open while in use"
        instance.delete_run(run_id)
        deadline = time.monotonic() + 5
        while open_files(f"{run_id}.db") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open_files(f"{run_id}.db") == []
