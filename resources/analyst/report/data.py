"""What the report shows, read from the marts (organization-level rows, team aggregates).

People appear only in aggregate: review load is summed per team, and its spread across
reviewers is a distribution — no person_id, name or email reaches the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb

from resources.analyst.report.attention import Forecasts, load_forecasts, load_open_signals
from resources.analyst.sessions import ANALYST_SCHEMA

REPORT_WEEKS = 26
REPORT_SPRINTS = 12
REVIEW_SPREAD_WEEKS = 4


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    rows: list[tuple]

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ReportData:
    weeks: list[date]
    dora_weekly: dict[date, dict]
    dora_latest_month: dict | None
    pr_flow: dict[date, dict]
    issue_flow: dict[date, dict]
    sprints: Rows
    review_by_team: dict[str, dict[date, float]]
    reviews_per_reviewer: list[float]
    marts_missing: list[str] = field(default_factory=list)
    open_signals: list[dict] = field(default_factory=list)
    forecasts: Forecasts = field(default_factory=lambda: Forecasts([], 0, 0))


def _existing_marts(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
        [ANALYST_SCHEMA]).fetchall()}


def _fetch(connection, sql: str, params: list | None = None) -> Rows:
    cursor = connection.execute(sql, params or [])
    return Rows([d[0] for d in cursor.description], cursor.fetchall())


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _by_week(rows: Rows, week_column: str) -> dict[date, dict]:
    return {_as_date(row[rows.columns.index(week_column)]): dict(zip(rows.columns, row))
            for row in rows.rows}


def report_weeks(*week_sets: set[date]) -> list[date]:
    """The last REPORT_WEEKS Mondays up to the latest week any mart has, gaps included."""
    present = set().union(*week_sets)
    if not present:
        return []
    last = max(present)
    first = max(min(present), last - timedelta(weeks=REPORT_WEEKS - 1))
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def headline_month(months_newest_first: list[dict]) -> dict | None:
    """The month the headline tiles show: the latest complete month with deployments (a
    month just begun, or an idle one, would read "0 / day, no DORA level"), else the latest
    month. ``is_headline_complete`` says which, for the caption."""
    complete = [m for m in months_newest_first
                if not m["is_partial_period"] and (m["deployment_count"] or 0) > 0]
    chosen = complete[0] if complete else next(iter(months_newest_first), None)
    return None if chosen is None else {**chosen, "is_headline_complete": bool(complete)}


def load_report_data(connection: duckdb.DuckDBPyConnection) -> ReportData:
    """Read the report's numbers through ``connection``, on which ``marts.<table>`` resolves."""
    marts = _existing_marts(connection)
    wanted = ("dora_weekly", "dora_monthly", "pr_flow_weekly", "issue_flow_weekly",
              "sprint_outcomes", "review_load")
    missing = [m for m in wanted if m not in marts]

    def rows(mart: str, sql: str) -> Rows:
        if mart not in marts:
            return Rows([], [])
        return _fetch(connection, sql.replace("{mart}", f"{ANALYST_SCHEMA}.{mart}"))

    dora = _by_week(rows("dora_weekly", """
        select period_start, deployment_count, deployments_per_day, lead_time_median_hours,
               change_fail_rate, failed_deployment_recovery_median_hours,
               deployment_rework_rate
        from {mart} where grouping_level = 'organization' order by period_start"""),
        "period_start")
    monthly = rows("dora_monthly", """
        select period_start, deployment_count, deployments_per_day, lead_time_median_hours,
               change_fail_rate, failed_deployment_recovery_median_hours,
               deployment_rework_rate, deployment_frequency_band, lead_time_band,
               change_fail_rate_band, recovery_time_band, is_partial_period, elapsed_days
        from {mart} where grouping_level = 'organization'
        order by period_start desc""")
    pr_flow = _by_week(rows("pr_flow_weekly", """
        select week_start, prs_opened, prs_merged, wip_at_week_end, stale_prs_at_week_end,
               cycle_median_hours, coding_median_hours, pickup_median_hours,
               review_median_hours, deploy_median_hours
        from {mart} where grouping_level = 'organization' order by week_start"""),
        "week_start")
    issue_flow = _by_week(rows("issue_flow_weekly", """
        select week_start, issues_created, issues_completed, wip_at_week_end,
               cycle_time_median_hours
        from {mart} where grouping_level = 'organization' order by week_start"""),
        "week_start")
    sprints = rows("sprint_outcomes", f"""
        select board_id, start_at, end_at, completed_at, state, committed_issues,
               added_issues, completed_issues, completed_committed_issues,
               committed_points, added_points, completed_points, predictability_points,
               predictability_issues
        from {{mart}} where start_at is not null
        order by coalesce(completed_at, end_at) desc limit {REPORT_SPRINTS}""")
    sprints = Rows(sprints.columns, list(reversed(sprints.rows)))
    review_team = rows("review_load", """
        select week_start, coalesce(team, '(no team)') as team, sum(reviews_given) as reviews
        from {mart} group by all order by week_start, team""")
    review_spread = rows("review_load", f"""
        with recent as (
            select * from {{mart}}
            where week_start > (select max(week_start) from {{mart}})
                               - interval {REVIEW_SPREAD_WEEKS} week
        ), per_reviewer as (
            select person_id, sum(reviews_given) as reviews from recent group by person_id
        )
        select reviews from per_reviewer where reviews > 0 order by reviews desc""")

    weeks = report_weeks(set(dora), set(pr_flow), set(issue_flow),
                         {_as_date(r[0]) for r in review_team.rows})
    by_team: dict[str, dict[date, float]] = {}
    for week, team, reviews in review_team.rows:
        by_team.setdefault(team, {})[_as_date(week)] = float(reviews or 0)
    latest_month = headline_month([dict(zip(monthly.columns, row)) for row in monthly.rows])
    return ReportData(weeks=weeks, dora_weekly=dora, dora_latest_month=latest_month,
                      pr_flow=pr_flow, issue_flow=issue_flow, sprints=sprints,
                      review_by_team=by_team,
                      reviews_per_reviewer=[float(r[0]) for r in review_spread.rows],
                      marts_missing=missing,
                      open_signals=load_open_signals(connection, ANALYST_SCHEMA, marts),
                      forecasts=load_forecasts(connection, ANALYST_SCHEMA, marts))
