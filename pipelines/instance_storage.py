"""The embedded instance's SQLite storage, with its database connections kept open
(production's PostgreSQL: pipelines/postgres_storage.py).

Dagster's SQLite run and event log storages open a new engine and SQLite connection for every
read and write, and SQLite's default (``synchronous=FULL``) syncs the disk at every commit,
then again when the last connection closes (a WAL checkpoint). A sync of the demo org writes
~730 events and opens ~5,900 connections for them: on this 2-core machine most of the time the
run spent outside the steps' own work went into these opens, commits and closes
(bench/results/small-sync.json).

These storages are Dagster's own, with three changes:

- one engine per database file, kept (the event log's index and the last few runs' logs), so a
  read or write reuses an open connection;
- the event log remembers which of its index's tables exist: Dagster asks before each asset
  check event, each dynamic-partition lookup and more (~500 times in a no-change sync of the
  demo, each through a new engine), and a table, once there, stays;
- ``synchronous=NORMAL`` in WAL mode (the mode Dagster's SQLite databases use): a commit
  survives a crashed or killed process, and reaches the database file at the next checkpoint;
  an operating-system crash or power loss may lose the last commits of a run's log. The
  embedded instance accepts that; production uses PostgreSQL (deploy/dagster.yaml).

A run's log deleted by retention (``delete_events``) closes that log's connections first, so
the vacuum and shredding after it see no open handle (docs/architecture.md, rule 6).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, create_engine

# Run logs kept open besides the index: the run being written and the ones the UI follows.
OPEN_RUN_LOGS = 4
INDEX_SHARD = "index"


def open_sqlite_engine(conn_string: str) -> Engine:
    """An engine whose pooled connections may be used by any thread (callers serialise their
    use) and commit without waiting for the disk."""
    engine = create_engine(conn_string, pool_size=2, max_overflow=4,
                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                         "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class SieveSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, keeping its connections open."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables_present: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> SieveSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = self._engines[shard] = open_sqlite_engine(
                    self.conn_string_for_shard(shard))
            self._engines.move_to_end(shard)
            run_logs = [name for name in self._engines if name != INDEX_SHARD]
            for stale in run_logs[:-OPEN_RUN_LOGS]:
                self._engines.pop(stale).dispose()
            return engine

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_present:
            return True
        with self._engine(INDEX_SHARD).connect() as conn:
            present = bool(conn.dialect.has_table(conn, table_name))
        if present:
            self._tables_present.add(table_name)
        return present

    def close_shard(self, shard: str) -> None:
        with self._engines_lock:
            engine = self._engines.pop(shard, None)
        if engine is not None:
            engine.dispose()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        self.close_shard(run_id)

    def wipe(self) -> None:
        self.close_all()
        self._tables_present.clear()
        super().wipe()

    def close_all(self) -> None:
        with self._engines_lock:
            engines = list(self._engines.values())
            self._engines.clear()
        for engine in engines:
            engine.dispose()

    def dispose(self) -> None:
        super().dispose()
        self.close_all()


class SieveSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage, keeping its connections open."""

    def __init__(self, conn_string: str, inst_data=None):
        super().__init__(conn_string, inst_data)
        self._engine = open_sqlite_engine(conn_string)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> SieveSqliteRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()
