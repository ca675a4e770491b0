"""A real Sieve installation in a temp SIEVE_HOME, for tests that sync, query and delete.

    def test_something(sieve_org, emulator):
        org = sieve_org("acme")
        org.connect_emulator(emulator, "github", owner="sieve-demo")
        summaries = org.sync("github")
        assert org.count("github_pull_requests") == ...

Everything goes through the product's own code paths: the control plane, the vault, the
connectors over HTTP, the sync engine and the encrypted per-org DuckDB. The tests' own reads
attach the org's file with the product's ATTACH statement (``read_store``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from resources.http import HttpClient
from resources.http import client as http_client_module
from resources.runtime import Sieve, open_sieve
from resources.security.audit import create_audit_key_file
from resources.security.keys import create_key_file
from resources.security.vault import Secret
from resources.sources.connector import ConnectorContext, SyncState
from resources.storage.metadata_store import (
    DATABASE_ALIAS,
    MetadataStore,
    attach_encrypted_sql,
    load_httpfs,
    open_store,
    org_database_path,
)
from resources.sync.engine import SyncSummary, sync_organization_source

Read = TypeVar("Read")


@functools.cache
def _reading_session() -> duckdb.DuckDBPyConnection:
    """The test process's one DuckDB instance for its reads, httpfs loaded as the product's."""
    return load_httpfs({"autoinstall_known_extensions": False,
                        "autoload_known_extensions": False})


def read_store(path: Path, key: Secret,
               read: Callable[[duckdb.DuckDBPyConnection], Read]) -> Read:
    """``read`` run on an organization's file, attached read-only as ``org`` and in use.

    The tests' own reads share one DuckDB instance per test process (read from the test's
    thread), attaching the file with the product's ATTACH statement and detaching it after:
    opening a store (``open_store``) starts a new DuckDB instance, about 12 ms of CPU spent
    loading DuckDB's built-in extensions, and the suite's assertions read thousands of times.
    A file that cannot be attached is opened with ``open_store`` instead, so a test sees the
    product's own error.
    """
    session = _reading_session()
    try:
        session.execute(attach_encrypted_sql(path, DATABASE_ALIAS, key, read_only=True))
    except duckdb.Error:
        with open_store(path, key, read_only=True) as store:
            return read(store.connection)
    try:
        session.execute(f"USE {DATABASE_ALIAS}")
        return read(session)
    finally:
        session.execute("USE memory")
        session.execute(f"DETACH {DATABASE_ALIAS}")


def no_sleep(_seconds: float) -> None:
    """Retries and rate-limit waits in tests advance nothing and wait for nothing."""


class EmulatedTime:
    """The wall clock plus every wait a sync has made, shared by the emulator's rate-limit
    windows and the sync's HTTP clients.

    A wait moves both past a reset at once, so a test of rate limits waits for nothing yet
    still has its windows used up and its resets honoured: a client that sent before a reset
    would be refused by the emulator as on the wall clock. The waits a Retry-After asks for
    show as time gone by on ``now``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waited = 0.0

    def now(self) -> float:
        return time.time() + self._waited

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._waited += max(0.0, seconds)


def waits_in_emulated_time(emulator) -> dict:
    """``sync`` options that make the sync's waits, and the emulator's rate-limit windows, run
    on one ``EmulatedTime`` (``emulator.reset()`` gives the emulator back the wall clock)."""
    emulated = EmulatedTime()
    emulator.rate_limits.clock = emulated.now
    return {"sleep": emulated.sleep, "clock": emulated.now}


@dataclass
class SieveOrg:
    sieve: Sieve
    slug: str

    @property
    def org(self):
        return self.sieve.control_plane.organization(self.slug)

    def connect(self, source: str, settings: dict, credentials: dict[str, str]):
        return self.sieve.control_plane.add_connection(
            self.org, source, settings, {k: Secret(v) for k, v in credentials.items()})

    def connect_emulator(self, emulator, source: str, **settings):
        """A connection to one of the emulator's APIs with its (demo) credentials."""
        return self.connect(source, {"base_url": emulator.base_url(source), **settings},
                            emulator.credentials(source))

    def sync(self, source: str, sleep=no_sleep, clock=None) -> list[SyncSummary]:
        return sync_organization_source(self.sieve, self.org.id, source, sleep=sleep,
                                        clock=clock)

    def sync_error(self, source: str, expected: type[Exception]) -> Exception:
        """The people-facing error that failed this org's one ``source`` connection (a failed
        connection does not stop the sync: its summary carries the error)."""
        [summary] = self.sync(source)
        assert isinstance(summary.error, expected), summary.failure
        assert summary.failure == str(summary.error)
        return summary.error

    def connector_context(self, source: str) -> ConnectorContext:
        """The context a sync gives the connector of this org's ``source`` connection."""
        control_plane = self.sieve.control_plane
        [connection] = [c for c in control_plane.connections(self.org) if c.source == source]
        return ConnectorContext(self.slug, connection, control_plane.credentials(connection),
                                SyncState(control_plane, connection.id), sleep=no_sleep)

    @property
    def database_path(self):
        return org_database_path(self.sieve.settings.orgs_dir, self.org.id)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        key = self.sieve.control_plane.org_data_key(self.org)
        return read_store(self.database_path, key,
                          lambda session: session.execute(sql, params or []).fetchall())

    def count(self, table: str) -> int:
        return self.query(f"SELECT count(*) FROM metadata.{table}")[0][0]

    def snapshot(self, tables: list[str] | None = None) -> dict[str, list[tuple]]:
        """Every row of every metadata table, sorted: equal snapshots mean identical tables."""
        def every_row(session) -> dict[str, list[tuple]]:
            names = tables or MetadataStore(session).tables()
            return {name: sorted(session.execute(f'SELECT * FROM metadata."{name}"').fetchall(),
                                 key=repr) for name in names}

        return read_store(self.database_path, self.sieve.control_plane.org_data_key(self.org),
                          every_row)

    def content(self, tables: list[str] | None = None) -> dict[str, list[tuple]]:
        """``snapshot`` without the connection id, to compare what two connections stored."""
        return {name: sorted((row[1:] for row in rows), key=repr)
                for name, rows in self.snapshot(tables).items()}

    def stored_strings(self) -> list[str]:
        """Every text value of every metadata table (list elements included), for scans."""
        found = []
        for rows in self.snapshot().values():
            for row in rows:
                for value in row:
                    values = value if isinstance(value, list) else [value]
                    found.extend(v for v in values if isinstance(v, str))
        return found


# Fault modes every API emulator offers; see ``sync_under_fault``.
FAULT_MODES = ("server_errors", "retry_after", "rate_limit_window", "timeout", "truncated_json",
               "invalid_json", "repeated_page", "dropped_connection")


def sync_under_fault(org: SieveOrg, emulator, source: str, mode: str, pattern: str,
                     monkeypatch, window_limit: int = 8) -> list[SyncSummary]:
    """Sync ``source`` while the emulator injects ``mode`` on requests matching ``pattern``.

    Rate-limit modes wait in ``EmulatedTime`` (one-second windows of ``window_limit``
    requests): a source whose sync makes many requests passes a larger limit, still used up
    more than once. The timeout mode gives the connector's client a short read timeout.
    """
    faults = emulator.faults
    waits = {"sleep": no_sleep}
    if mode == "server_errors":
        faults.server_errors(pattern, times=3, api=source)
    elif mode == "retry_after":
        faults.secondary_rate_limit(pattern, times=1, retry_after=1, api=source)
        waits = waits_in_emulated_time(emulator)
    elif mode == "rate_limit_window":
        faults.rate_limit(source, limit=window_limit, window_seconds=1)
        waits = waits_in_emulated_time(emulator)
    elif mode == "timeout":
        # Every connector makes its clients through Connector.http_client, which takes the
        # class from the HTTP layer's module when called; a source's own timeout is overridden.
        monkeypatch.setattr(http_client_module, "HttpClient",
                            lambda *args, **options: HttpClient(*args, **{**options,
                                                                         "timeout": (2.0, 0.3)}))
        faults.slow(pattern, seconds=0.6, times=1, api=source)
    elif mode == "truncated_json":
        faults.truncated_json(pattern, times=2, api=source)
    elif mode == "invalid_json":
        faults.invalid_json(pattern, times=1, api=source)
    elif mode == "repeated_page":
        faults.repeated_page(pattern, times=1, api=source)
    elif mode == "dropped_connection":
        faults.dropped_connection(pattern, times=2, api=source)
    else:
        raise ValueError(f"unknown fault mode {mode!r}; choose one of {FAULT_MODES}")
    summaries = org.sync(source, **waits)
    # An exhausted window shows as a wait: the client does not send until the reset.
    fired = faults.events or any(summary.http.get("wait_seconds") for summary in summaries)
    assert fired, f"fault {mode!r} never fired on {pattern!r}"
    return summaries


_clean_contents: dict[str, dict[str, list[tuple]]] = {}


def clean_sync_content(sieve_org, emulator, source: str, tables: list[str],
                       **settings) -> dict:
    """``content`` after a clean full sync of ``source`` from the (deterministic) emulator.

    Computed once per session and source, in an org of its own named ``clean-<source>``.
    """
    if source not in _clean_contents:
        org = sieve_org(f"clean-{source}")
        org.connect_emulator(emulator, source, **settings)
        org.sync(source)
        _clean_contents[source] = org.content(tables)
        emulator.reset()
    return _clean_contents[source]


def kill_fetch_after(monkeypatch, connector_class, batches: int) -> Callable[[], None]:
    """Make ``connector_class.fetch`` die (KeyboardInterrupt) after ``batches`` batches, as a
    killed run would; returns the function that restores it."""
    original = connector_class.fetch

    def dying_fetch(self):
        for number, batch in enumerate(original(self), start=1):
            if number > batches:
                raise KeyboardInterrupt("killed mid-run")
            yield batch

    monkeypatch.setattr(connector_class, "fetch", dying_fetch)
    return lambda: monkeypatch.setattr(connector_class, "fetch", original)


def assert_reconnect_message(error: Exception, org: SieveOrg, connection, secret: str) -> None:
    """A credential failure names the org and connection, says how to re-connect, hides
    the secret."""
    message = str(error)
    assert f"'{org.slug}'" in message and connection.id in message
    assert f"sieve connect {org.slug} {connection.source}" in message
    assert secret not in message


def new_installation() -> Sieve:
    """Keys and control plane in the SIEVE_HOME of the environment (see the sieve_home fixture)."""
    sieve = open_sieve()
    create_key_file(sieve.settings.key_file)
    create_audit_key_file(sieve.settings.audit_key_file)
    return sieve
