"""The delivery forecast method on tiny histories whose outcomes can be worked out by hand, and
the forecasts table written from hand-made int_issues rows (no dbt build)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import pytest

from resources.marts.forecast_mart import (
    forecast_rows,
    load_scopes,
    summarize,
    write_delivery_forecasts,
)
from resources.marts.forecasts import (
    HORIZON_WEEKS,
    Scope,
    backtest_as_of,
    forecast_scope,
    percentile_weeks,
    simulate_weeks_to_done,
    weekly_counts,
)
from resources.storage.metadata_store import MetadataStore

AS_OF = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday noon


def share(weeks: np.ndarray, value: int) -> float:
    return float(np.mean(weeks == value))


def test_percentiles_of_a_two_valued_throughput_match_the_hand_computation():
    # 4 items left, each week finishes 1 or 3 (p = 1/2 each), no growth:
    #   done in 2 weeks: (1,3) (3,1) (3,3)            -> 3/4
    #   done in 3 weeks: (1,1) then 3                  -> 1/4 * 1/2 = 1/8
    #   done in 4 weeks: (1,1,1) then anything (4 >= 4) -> 1/8
    # cumulative: 2 -> 0.75, 3 -> 0.875, 4 -> 1.0, so P50 = 2, P85 = 3, P95 = 4 weeks.
    weeks = simulate_weeks_to_done(4, [1, 3], [0], seed=7)
    assert percentile_weeks(weeks) == {50: 2, 85: 3, 95: 4}
    # 10,000 trials: a share's standard error is at most 0.005; 0.02 is four of them.
    assert share(weeks, 2) == pytest.approx(3 / 4, abs=0.02)
    assert share(weeks, 3) == pytest.approx(1 / 8, abs=0.02)
    assert share(weeks, 4) == pytest.approx(1 / 8, abs=0.02)
    assert set(np.unique(weeks)) == {2, 3, 4}


def test_scope_growth_pushes_the_dates_out():
    # 2 items left, 2 finished a week, and 2 added in one week of three (net -2 or 0): done the
    # first week without growth, so P(W = k) = (1/3)^(k-1) * 2/3;
    # cumulative: 1 -> 0.667, 2 -> 0.889, 3 -> 0.963: P50 = 1, P85 = 2, P95 = 3 weeks.
    weeks = simulate_weeks_to_done(2, [2], [0, 0, 2], seed=7)
    assert percentile_weeks(weeks) == {50: 1, 85: 2, 95: 3}
    assert share(weeks, 1) == pytest.approx(2 / 3, abs=0.02)
    # Without the growth it is one week in every trial.
    assert percentile_weeks(simulate_weeks_to_done(2, [2], [0])) == {50: 1, 85: 1, 95: 1}


def test_the_simulation_is_reproducible_and_the_seed_matters():
    first = simulate_weeks_to_done(30, [0, 1, 2, 5], [0, 1], seed=18)
    assert np.array_equal(first, simulate_weeks_to_done(30, [0, 1, 2, 5], [0, 1], seed=18))
    assert not np.array_equal(first, simulate_weeks_to_done(30, [0, 1, 2, 5], [0, 1], seed=19))
    assert first.size == 10_000


def test_work_that_never_finishes_has_no_date():
    # Growth matches throughput: the scope never shrinks, every trial reaches the horizon.
    weeks = simulate_weeks_to_done(3, [1], [1], trials=50)
    assert set(weeks) == {HORIZON_WEEKS + 1}
    assert percentile_weeks(weeks) == {50: None, 85: None, 95: None}
    assert set(simulate_weeks_to_done(0, [1], [0], trials=5)) == {0}


def test_weekly_counts_cut_whole_weeks_before_as_of():
    events = np.sort(np.array([np.datetime64(e.replace(tzinfo=None), "us") for e in
                               [AS_OF - timedelta(days=d) for d in (20, 13, 8, 7, 1, 0)]]))
    # A week includes its start: [-21d, -14d): 1 (20 days ago); [-14d, -7d): 2 (13 and 8);
    # [-7d, 0): 2 (exactly 7 days and a day ago); the event at as_of itself is not yet past.
    assert list(weekly_counts(events, AS_OF, 3)) == [1, 2, 2]


def epic(*children, created=AS_OF - timedelta(weeks=4), due=None) -> Scope:
    return Scope(key="PAY-1", created_at=created,
                child_created_at=tuple(c for c, _ in children),
                child_done_at=tuple(d for _, d in children), due_date=due)


def test_forecast_dates_growth_and_due_date_probability():
    opened = AS_OF - timedelta(weeks=4)
    # Opened with 3 children; one more was added 2.5 weeks ago (after the epic's first week);
    # one of the four is done.
    history = epic((opened, AS_OF - timedelta(days=3)), (opened, None), (opened, None),
                   (AS_OF - timedelta(days=17), None), due=date(2026, 3, 23))
    forecast = forecast_scope(history, np.array([1, 3]), AS_OF)
    # 3 left; growth in the 3 whole weeks since the first one: [1, 0, 0] -> 1/3 a week.
    assert (forecast.remaining_items, forecast.scope_items) == (3, 4)
    assert forecast.scope_growth_per_week == pytest.approx(1 / 3)
    assert forecast.throughput_per_week == 2.0
    assert forecast.status == "forecast"
    dates = forecast.completion_dates
    assert dates[50] <= dates[85] <= dates[95]
    assert (dates[50] - AS_OF.date()).days % 7 == 0
    # Due in exactly 3 weeks: the share of trials done within 3 weeks.
    weeks = simulate_weeks_to_done(3, [1, 3], [1, 0, 0])
    assert forecast.probability_by_due_date == pytest.approx(float(np.mean(weeks <= 3)))


def test_forecast_status_without_scope_or_throughput():
    done = epic((AS_OF - timedelta(weeks=3), AS_OF - timedelta(weeks=1)))
    assert forecast_scope(done, np.array([1]), AS_OF).status == "no_remaining_scope"
    stuck = epic((AS_OF - timedelta(weeks=3), None))
    forecast = forecast_scope(stuck, np.array([0, 0]), AS_OF)
    assert (forecast.status, forecast.completion_dates[85]) == ("no_throughput", None)


def test_backtest_forecasts_from_the_midpoint():
    opened = AS_OF - timedelta(weeks=4)
    closed = epic((opened, opened + timedelta(weeks=1)), (opened, AS_OF))
    assert backtest_as_of(closed) == opened + timedelta(weeks=2)
    assert backtest_as_of(epic((opened, None))) is None


# --- the table, from hand-made int_issues rows --------------------------------------------

def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


@pytest.fixture
def issues_connection():
    connection = duckdb.connect()
    connection.execute("create schema intermediate")
    connection.execute("""create table intermediate.int_issues (connection_id varchar,
        issue_key varchar, project_key varchar, issue_type varchar, is_subtask boolean,
        epic_key varchar, created_at timestamp, done_at timestamp, due_date date,
        fix_version_ids varchar[])""")
    connection.execute("create schema staging")
    connection.execute("""create table staging.stg_jira__fix_versions (connection_id varchar,
        fix_version_id varchar, fix_version_name varchar, project_key varchar,
        release_date date, is_released boolean, is_archived boolean)""")
    connection.executemany("insert into staging.stg_jira__fix_versions values (?, ?, ?, ?, ?, ?, ?)", [
        # Released 4 weeks ago, holding the closed epic's two children: replayed like it.
        ("c", "100", "PAY 1.0", "PAY", (AS_OF - timedelta(weeks=4)).date(), True, False),
        # Due in a week, holding two of the open epic's children: 2 weeks in every trial, so
        # no trial meets the release date.
        ("c", "200", "PAY 2.0", "PAY", (AS_OF + timedelta(weeks=1)).date(), False, False),
        # Nothing planned into it, and an archived one: neither is forecast.
        ("c", "300", "PAY 3.0", "PAY", None, False, False),
        ("c", "400", "PAY old", "PAY", None, False, True),
    ])
    versions = {"PAY-2": ["200", "400"], "PAY-3": ["200"], "PAY-21": ["100"], "PAY-22": ["100"]}
    start = naive(AS_OF) - timedelta(weeks=20)
    rows = [
        # One item finished every week for 20 weeks (the closed epic's children fill weeks 14
        # and 16): a throughput of exactly 1 a week.
        *[("c", f"PAY-{100 + k}", "PAY", "Task", False, None, start,
           start + timedelta(weeks=k, hours=1), None) for k in range(20) if k not in (14, 16)],
        # Open epic with 3 children left and no growth: 3 weeks in every trial, so every trial
        # meets a due date three weeks out.
        ("c", "PAY-1", "PAY", "Epic", False, None, start, None,
         (AS_OF + timedelta(weeks=3)).date()),
        *[("c", f"PAY-{2 + k}", "PAY", "Story", False, "PAY-1", start, None, None)
          for k in range(3)],
        ("c", "PAY-9", "PAY", "Sub-task", True, "PAY-1", start, None, None),
        # Closed epic opened 8 weeks ago, children finished 6 and 4 weeks ago: midpoint 6
        # weeks ago, 1 left then, forecast 1 week; actual 2 weeks later, beyond its P85 date.
        ("c", "PAY-20", "PAY", "Epic", False, None, naive(AS_OF) - timedelta(weeks=8),
         naive(AS_OF) - timedelta(weeks=3), None),
        ("c", "PAY-21", "PAY", "Story", False, "PAY-20", naive(AS_OF) - timedelta(weeks=8),
         naive(AS_OF) - timedelta(weeks=6), None),
        ("c", "PAY-22", "PAY", "Story", False, "PAY-20", naive(AS_OF) - timedelta(weeks=8),
         naive(AS_OF) - timedelta(weeks=4), None),
    ]
    connection.executemany(
        "insert into intermediate.int_issues values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, versions.get(row[1], [])) for row in rows])
    yield connection
    connection.close()


def test_forecast_table_from_int_issues(issues_connection):
    scopes, finished = load_scopes(issues_connection)
    rows = forecast_rows(scopes, finished, AS_OF)
    written = write_delivery_forecasts(MetadataStore(issues_connection), rows)
    assert written == 4
    table = issues_connection.execute("""
        select forecast_kind, subject_kind, subject_key, subject_name, status, remaining_items,
            throughput_per_week, p50_date, p85_date, p95_date, completed_at, is_within_p85,
            due_date, probability_by_due_date
        from marts.delivery_forecasts
        order by forecast_kind desc, subject_kind, subject_key""").fetchall()
    in_weeks = {n: (AS_OF + timedelta(weeks=n)).date() for n in (-4, 1, 2, 3)}
    assert table[0] == ("open", "epic", "PAY-1", None, "forecast", 3, 1.0, *[in_weeks[3]] * 3,
                        None, None, in_weeks[3], 1.0)
    assert table[1] == ("open", "fix_version", "200", "PAY 2.0", "forecast", 2, 1.0,
                        *[in_weeks[2]] * 3, None, None, in_weeks[1], 0.0)
    for backtest, subject in zip(table[2:], (("epic", "PAY-20", None),
                                              ("fix_version", "100", "PAY 1.0"))):
        assert backtest[:6] == ("backtest", *subject, "forecast", 1)
        assert backtest[8] == (AS_OF - timedelta(weeks=5)).date()
        assert backtest[10:12] == (naive(AS_OF) - timedelta(weeks=4), False)
    # As of its midpoint (6 weeks ago) the release date was 2 weeks out and every trial took 1.
    assert table[3][12:] == (in_weeks[-4], 1.0)
    summary = summarize(rows)
    assert (summary.open_epics, summary.open_versions, summary.backtest_within_p85) == (1, 1, 0.0)
    # Rebuilt whole: writing again replaces the rows.
    write_delivery_forecasts(MetadataStore(issues_connection), rows[:1])
    assert issues_connection.execute(
        "select count(*) from marts.delivery_forecasts").fetchone() == (1,)
    columns = {r[0] for r in issues_connection.execute(
        "select column_name from information_schema.columns "
        "where table_name = 'delivery_forecasts'").fetchall()}
    assert not any("person" in column for column in columns)


def test_a_closed_epic_is_replayed_on_what_it_delivered():
    opened = AS_OF - timedelta(weeks=4)
    # Closed with one child still open: that child was dropped, the last finish is AS_OF.
    closed = epic((opened, opened + timedelta(weeks=1)), (opened, AS_OF), (opened, None))
    delivered = closed.finished_scope()
    assert delivered.completed_at() == AS_OF and closed.completed_at() is None
    assert backtest_as_of(delivered) == opened + timedelta(weeks=2)
    assert delivered.remaining_at(opened + timedelta(weeks=2)) == 1
