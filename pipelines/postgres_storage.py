"""Production's Dagster instance storage on PostgreSQL, with its connections kept open.

dagster-postgres opens a new PostgreSQL connection (TCP, authentication, a backend process)
for every read and write of a run, and closes it after: its engines use no pool, so that an
instance never holds connections. The canary sync of the demo org on PostgreSQL spent 40% of
its samples in psycopg2.connect (tests/e2e/test_canaries_postgres.py; 70.4 s against 30 s on
the embedded instance). These storages are Dagster's own with a pool of one connection kept
open per storage (up to POOL_OVERFLOW more while threads overlap), checked before each use
(a server restart costs a reconnect, not a failed step) and renewed every POOL_RECYCLE_SECONDS;
disposing of the instance closes them. dagster-webserver swaps in its own pool
(`optimize_for_webserver`), as before.
"""

from __future__ import annotations

from dagster._core.storage.base_storage import DagsterStorage
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy.engine import Engine

POOL_OVERFLOW = 4
POOL_RECYCLE_SECONDS = 600


class KeptOpenPostgres:
    """Mixed into a dagster-postgres storage: its pool-less engine replaced by one that keeps a
    connection open."""

    postgres_url: str
    _token_provider: object
    _engine: Engine

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data=None, token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self._engine.dispose()
        self._engine = create_pg_engine(self.postgres_url, self._token_provider,
                                        isolation_level="AUTOCOMMIT", pool_size=1,
                                        max_overflow=POOL_OVERFLOW, pool_pre_ping=True,
                                        pool_recycle=POOL_RECYCLE_SECONDS)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **_postgres_arguments(config_value))

    def optimize_for_webserver(self, statement_timeout: int, pool_recycle: int,
                               max_overflow: int) -> None:
        self._engine.dispose()
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


def _postgres_arguments(config_value) -> dict:
    return {"postgres_url": pg_url_from_config(config_value),
            "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
            "token_provider": get_token_provider_from_config(config_value)}


class SievePostgresRunStorage(KeptOpenPostgres, PostgresRunStorage):
    """dagster-postgres's run storage, keeping its connection open."""


class SievePostgresEventLogStorage(KeptOpenPostgres, PostgresEventLogStorage):
    """dagster-postgres's event log, keeping its connection open."""


class SievePostgresScheduleStorage(KeptOpenPostgres, PostgresScheduleStorage):
    """dagster-postgres's schedule storage, keeping its connection open."""


class SievePostgresStorage(DagsterPostgresStorage):
    """``storage: custom:`` in deploy/dagster.yaml: dagster-postgres's storage, with the three
    storages above. Its config is dagster-postgres's own (``postgres_db``, ``postgres_url``)."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data=None, token_provider=None):
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        arguments = (postgres_url, should_autocreate_tables)
        self._run_storage = SievePostgresRunStorage(*arguments, token_provider=token_provider)
        self._event_log_storage = SievePostgresEventLogStorage(*arguments,
                                                               token_provider=token_provider)
        self._schedule_storage = SievePostgresScheduleStorage(*arguments,
                                                              token_provider=token_provider)
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> SievePostgresStorage:
        return cls(inst_data=inst_data, **_postgres_arguments(config_value))

    def _part(self, storage: type) -> ConfigurableClassData | None:
        if self.inst_data is None:
            return None
        return ConfigurableClassData(__name__, storage.__name__, self.inst_data.config_yaml)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return self._part(SievePostgresEventLogStorage)

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return self._part(SievePostgresRunStorage)

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return self._part(SievePostgresScheduleStorage)
