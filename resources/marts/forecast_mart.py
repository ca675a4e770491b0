"""The ``marts.delivery_forecasts`` table: forecasts of open Jira epics and unreleased fix
versions, and the backtest of closed and released ones, computed by `resources.marts.forecasts`
from ``intermediate.int_issues`` (and the versions of ``staging.stg_jira__fix_versions``) after
dbt has built them, and written into the org's database like any mart (analysts, exports and
the report read it from the marts schema).

A row is an epic or a version, its project and counts: no person_id, so forgetting a person
changes the table only through the rebuild that follows every deletion.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from resources.marts.forecasts import (
    HISTORY_WEEKS,
    SEED,
    TRIALS,
    Scope,
    ScopeForecast,
    backtest_as_of,
    forecast_scope,
    hit_rate,
    weekly_counts,
    within_p85,
)
from resources.runtime import Sieve
from resources.storage.metadata_store import (
    MetadataStore,
    TableSpec,
    open_store,
    org_database_path,
    quote_identifier,
)

MARTS_SCHEMA = "marts"
FORECASTS_TABLE = TableSpec(
    name="delivery_forecasts",
    columns=(
        ("forecast_kind", "VARCHAR"), ("connection_id", "VARCHAR"), ("subject_kind", "VARCHAR"),
        ("subject_key", "VARCHAR"), ("subject_name", "VARCHAR"),
        ("project_key", "VARCHAR"), ("as_of_at", "TIMESTAMP"), ("status", "VARCHAR"),
        ("scope_items", "INTEGER"), ("remaining_items", "INTEGER"),
        ("throughput_per_week", "DOUBLE"), ("scope_growth_per_week", "DOUBLE"),
        ("p50_date", "DATE"), ("p85_date", "DATE"), ("p95_date", "DATE"),
        ("due_date", "DATE"), ("probability_by_due_date", "DOUBLE"),
        ("completed_at", "TIMESTAMP"), ("is_within_p85", "BOOLEAN"),
        ("history_weeks", "INTEGER"), ("trials", "INTEGER"), ("seed", "INTEGER"),
    ),
    key=("forecast_kind", "connection_id", "subject_kind", "subject_key"),
)

# Epics and their children (legacy epic link or parent), fix versions and their issues, and
# every finished item per project: the project's throughput is the team's. Sub-tasks are part
# of their parent, not items; an epic is never an item of a version.
EPICS_SQL = """
select connection_id, issue_key, project_key, created_at, done_at, due_date
from intermediate.int_issues where issue_type = 'Epic'
"""
CHILDREN_SQL = """
select children.connection_id, children.epic_key, children.created_at, children.done_at
from intermediate.int_issues as children
inner join intermediate.int_issues as epics
    on epics.connection_id = children.connection_id and epics.issue_key = children.epic_key
where epics.issue_type = 'Epic' and children.issue_type <> 'Epic' and not children.is_subtask
order by children.created_at
"""
VERSIONS_SQL = """
select connection_id, fix_version_id, fix_version_name, project_key, release_date, is_released
from staging.stg_jira__fix_versions where not is_archived
"""
VERSION_ITEMS_SQL = """
select connection_id, unnest(fix_version_ids) as fix_version_id, created_at, done_at
from intermediate.int_issues where issue_type <> 'Epic' and not is_subtask
order by created_at
"""
FINISHED_SQL = """
select connection_id, project_key, done_at from intermediate.int_issues
where done_at is not null and issue_type <> 'Epic' and not is_subtask
order by done_at
"""


@dataclass(frozen=True)
class ScopeRow:
    connection_id: str
    project_key: str
    kind: str  # epic | fix_version
    scope: Scope
    is_open: bool
    name: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _items(connection, sql: str) -> dict[tuple[str, str], list[tuple]]:
    """(connection, scope key) → its items' (created, done) times, oldest first."""
    items: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for connection_id, key, created_at, done_at in connection.execute(sql).fetchall():
        items[(connection_id, key)].append((_utc(created_at), _utc(done_at)))
    return items


def _scope(key: str, created_at: datetime, items: list[tuple],
           due_date: date | None) -> Scope:
    return Scope(key=key, created_at=created_at, child_created_at=tuple(c for c, _ in items),
                 child_done_at=tuple(d for _, d in items), due_date=due_date)


def load_scopes(connection) -> tuple[list[ScopeRow], dict[tuple[str, str], np.ndarray]]:
    """The epics and fix versions with their items, and each project's finished items' times
    (sorted)."""
    children = _items(connection, CHILDREN_SQL)
    scopes = [ScopeRow(connection_id, project, "epic",
                       _scope(key, _utc(created_at), children.get((connection_id, key), []),
                              due_date), is_open=done_at is None)
              for connection_id, key, project, created_at, done_at, due_date
              in connection.execute(EPICS_SQL).fetchall()]
    planned = _items(connection, VERSION_ITEMS_SQL)
    for connection_id, key, name, project, release_date, is_released in connection.execute(
            VERSIONS_SQL).fetchall():
        items = planned.get((connection_id, key), [])
        if not items:  # nothing planned into it: nothing to forecast
            continue
        # A version has no opening time of its own: it starts with its first item.
        scopes.append(ScopeRow(connection_id, project, "fix_version",
                               _scope(key, items[0][0], items, release_date),
                               is_open=not is_released, name=name))
    finished: dict[tuple[str, str], list] = defaultdict(list)
    for connection_id, project, done_at in connection.execute(FINISHED_SQL).fetchall():
        finished[(connection_id, project)].append(np.datetime64(_naive(_utc(done_at)), "us"))
    return scopes, {key: np.array(times, dtype="datetime64[us]")
                    for key, times in finished.items()}


def forecast_rows(scopes: list[ScopeRow], finished: dict[tuple[str, str], np.ndarray],
                  as_of: datetime) -> list[dict]:
    """One row per open epic or unreleased version (forecast as of ``as_of``) and per closed
    one that can be backtested: what it delivered, forecast as of the midpoint between its
    opening and its last finished item, scored against that finish."""
    none = np.array([], dtype="datetime64[us]")
    rows = []
    for row in scopes:
        history = finished.get((row.connection_id, row.project_key), none)
        if row.is_open:
            forecast = forecast_scope(row.scope, weekly_counts(history, as_of, HISTORY_WEEKS),
                                      as_of)
            rows.append(_row("open", row, forecast))
            continue
        delivered = row.scope.finished_scope()
        midpoint = backtest_as_of(delivered)
        if midpoint is None or delivered.remaining_at(midpoint) == 0:
            continue
        forecast = forecast_scope(delivered, weekly_counts(history, midpoint, HISTORY_WEEKS),
                                  midpoint)
        rows.append(_row("backtest", row, forecast, completed_at=delivered.completed_at()))
    return rows


def _row(kind: str, row: ScopeRow, forecast: ScopeForecast,
         completed_at: datetime | None = None) -> dict:
    dates = forecast.completion_dates
    return {
        "forecast_kind": kind, "connection_id": row.connection_id, "subject_kind": row.kind,
        "subject_key": forecast.key, "subject_name": row.name,
        "project_key": row.project_key, "as_of_at": _naive(forecast.as_of),
        "status": forecast.status, "scope_items": forecast.scope_items,
        "remaining_items": forecast.remaining_items,
        "throughput_per_week": forecast.throughput_per_week,
        "scope_growth_per_week": forecast.scope_growth_per_week,
        "p50_date": dates[50], "p85_date": dates[85], "p95_date": dates[95],
        "due_date": row.scope.due_date,
        "probability_by_due_date": forecast.probability_by_due_date,
        "completed_at": _naive(completed_at),
        "is_within_p85": within_p85(forecast, completed_at) if completed_at else None,
        "history_weeks": HISTORY_WEEKS, "trials": TRIALS, "seed": SEED,
    }


def _naive(moment: datetime | None) -> datetime | None:
    """UTC without a zone: the marts' timestamps are naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment is not None else None


def write_delivery_forecasts(store: MetadataStore, rows: list[dict]) -> int:
    """Replace the table with ``rows`` in one transaction (it is rebuilt whole every time, so
    a column added by a later version needs no migration)."""
    table = f"{MARTS_SCHEMA}.{quote_identifier(FORECASTS_TABLE.name)}"
    with store.transaction():
        store.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {MARTS_SCHEMA}")
        store.connection.execute(f"DROP TABLE IF EXISTS {table}")
        store.connection.execute(FORECASTS_TABLE.create_sql(MARTS_SCHEMA))
        store.upsert(FORECASTS_TABLE, rows, schema=MARTS_SCHEMA)
    return len(rows)


@dataclass(frozen=True)
class ForecastSummary:
    open_epics: int
    open_versions: int
    forecasts: int
    backtested: int
    backtest_within_p85: float | None


def summarize(rows: list[dict]) -> ForecastSummary:
    open_rows = [r for r in rows if r["forecast_kind"] == "open"]
    hits = [r["is_within_p85"] for r in rows if r["forecast_kind"] == "backtest"]
    return ForecastSummary(
        open_epics=sum(1 for r in open_rows if r["subject_kind"] == "epic"),
        open_versions=sum(1 for r in open_rows if r["subject_kind"] == "fix_version"),
        forecasts=sum(1 for r in open_rows if r["status"] == "forecast"),
        backtested=sum(1 for hit in hits if hit is not None),
        backtest_within_p85=hit_rate(hits))


def build_org_forecasts(sieve: Sieve, org_id: str, *,
                        as_of: datetime | None = None) -> ForecastSummary:
    """Rebuild one organization's ``marts.delivery_forecasts`` from its built models."""
    org = sieve.control_plane.organization(org_id)
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id),
                    sieve.control_plane.org_data_key(org)) as store:
        scopes, finished = load_scopes(store.connection)
        rows = forecast_rows(scopes, finished, _utc(as_of) or datetime.now(UTC))
        write_delivery_forecasts(store, rows)
    return summarize(rows)
