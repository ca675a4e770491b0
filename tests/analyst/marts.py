"""Hand-built metric tables in an organization's encrypted database, for fast tests of the
exports and the report (a real dbt build is covered by tests/dbt and the end-to-end tests).

The metadata schema gets a table of people holding canary names and emails: they must never
reach an export or the report.
"""

from __future__ import annotations

from resources.storage.metadata_store import open_store

WEEKS = 12
FIRST_WEEK = "2026-01-05"  # a Monday
CANARY_NAME = "Zebulon CANARYexportname Quux"
CANARY_EMAIL = "canary.export.7f3a@example.invalid"
PERSON_IDS = [f"p_{n:016x}" for n in range(1, 7)]

ORG_LEVEL = "'organization' as grouping_level, null::varchar as team, null::varchar as service"

MART_SQL = {
    "dora_weekly": f"""
        select (date '{FIRST_WEEK}' + to_days(7 * n::int))::date as period_start, {ORG_LEVEL},
               5 + n as deployment_count, 3 + n % 3 as deployment_days,
               (5 + n) / 7.0 as deployments_per_day, 8 + n as change_count,
               20.0 + 4 * n as lead_time_median_hours, 40.0 + 4 * n as lead_time_p75_hours,
               n % 3 as failed_deployment_count,
               (n % 3) / (5.0 + n) as change_fail_rate,
               case when n % 3 = 0 then null else 2.0 + n end
                   as failed_deployment_recovery_median_hours,
               n % 2 as rework_deployment_count,
               (n % 2) / (5.0 + n) as deployment_rework_rate,
               'high' as deployment_frequency_band, 'high' as lead_time_band,
               'medium' as change_fail_rate_band, 'high' as recovery_time_band
        from range({WEEKS}) as t(n)""",
    "dora_monthly": f"""
        select date '2026-03-01' as period_start, {ORG_LEVEL}, 30 as deployment_count,
               18 as deployment_days, 30 / 31.0 as deployments_per_day, 44 as change_count,
               52.5 as lead_time_median_hours, 80.0 as lead_time_p75_hours,
               3 as failed_deployment_count, 0.1 as change_fail_rate,
               6.5 as failed_deployment_recovery_median_hours, 2 as rework_deployment_count,
               2 / 30.0 as deployment_rework_rate, 'high' as deployment_frequency_band,
               'high' as lead_time_band, 'high' as change_fail_rate_band,
               'high' as recovery_time_band, false as is_partial_period, 31 as elapsed_days""",
    "pr_flow_weekly": f"""
        select (date '{FIRST_WEEK}' + to_days(7 * n::int))::date as week_start, {ORG_LEVEL},
               10 + n as prs_opened, 9 + n as prs_merged, 0 as bot_prs_merged,
               14 - n % 4 as wip_at_week_end, n % 3 as stale_prs_at_week_end,
               60.0 + n as cycle_median_hours, 90.0 as cycle_p75_hours,
               10.0 as coding_median_hours, 12.0 as coding_p75_hours,
               6.0 + n as pickup_median_hours, 9.0 as pickup_p75_hours,
               8.0 as review_median_hours, 12.0 as review_p75_hours,
               30.0 as deploy_median_hours, 40.0 as deploy_p75_hours
        from range({WEEKS}) as t(n)""",
    "issue_flow_weekly": f"""
        select (date '{FIRST_WEEK}' + to_days(7 * n::int))::date as week_start, {ORG_LEVEL},
               12 + n % 4 as issues_created, 10 + n % 5 as issues_completed,
               25.0 as points_completed, 30 + n as wip_at_week_end,
               100.0 as lead_time_median_hours, 150.0 as lead_time_p75_hours,
               70.0 as cycle_time_median_hours, 90.0 as cycle_time_p75_hours,
               0.4 as flow_efficiency, 0.2 as bug_ratio
        from range({WEEKS}) as t(n)""",
    "sprint_outcomes": """
        select 'c1:' || n as sprint_key, 100 + n as sprint_id, 'Sprint ' || n as sprint_name,
               7 as board_id, 'closed' as state,
               (timestamptz '2026-01-05 09:00:00+00' + to_days(14 * n::int)) as start_at,
               (timestamptz '2026-01-19 09:00:00+00' + to_days(14 * n::int)) as end_at,
               (timestamptz '2026-01-19 10:00:00+00' + to_days(14 * n::int)) as completed_at,
               10 as committed_issues, 20.0 as committed_points, 2 as added_issues,
               4.0 as added_points, 9 as completed_issues, 18.0 + n as completed_points,
               8 as completed_committed_issues, 16.0 as completed_committed_points,
               3 as not_completed_issues, 0.8 as predictability_points,
               0.8 as predictability_issues
        from range(6) as t(n)""",
    "review_load": f"""
        select (date '{FIRST_WEEK}' + to_days(7 * n::int))::date as week_start, person_id,
               case when i % 2 = 0 then 'platform' else 'mobile' end as team,
               1 + (i * 3 + n) % 7 as reviews_given, 1 + i % 3 as prs_reviewed,
               2 as reviews_received, 1 as prs_authored
        from range({WEEKS}) as t(n),
             (select unnest({PERSON_IDS}) as person_id, generate_subscripts({PERSON_IDS}, 1) as i)
    """,
    "deployments": """
        select 'github:c1:deployment:' || n as deployment_key, 'github' as source,
               'deployment' as kind, 'acme/api' as repository, 'acme/api' as service,
               'production' as environment,
               timestamptz '2026-01-06 12:00:00+00' + to_days(n::int) as deployed_at,
               2 as change_count, 0 as bot_change_count, 20.0 as lead_time_median_hours,
               30.0 as lead_time_max_hours, n % 4 = 0 as is_failed,
               case when n % 4 = 0 then ['incident', 'revert'] else [] end as failure_kinds,
               null::timestamptz as failure_detected_at, null::timestamptz as recovered_at,
               null::double as recovery_hours, n % 5 = 0 as is_rework
        from range(20) as t(n)""",
    # Open signals: a severe one about a person (shown without the person_id), two newer
    # warnings; a resolved one that the report leaves out.
    "insights": f"""
        select * from (values
            ('wip_above_limit', 'severe', 'person', '{PERSON_IDS[1]}', 'platform',
             '{PERSON_IDS[1]}', null, 9.0, 4.0, null, null,
             timestamp '2026-03-20 02:00:00', null, true),
            ('pr_idle', 'warning', 'pull_request', 'acme/api#41', null, null, null, 17.0, 14.0,
             null, null, timestamp '2026-03-27 02:00:00', null, true),
            ('metric_out_of_band', 'warning', 'metric', 'pr_cycle_median_hours', null, null,
             'pr_cycle_median_hours', 90.0, 80.0, 60.0, 'up', timestamp '2026-03-28 02:00:00',
             null, true),
            ('pr_too_large', 'warning', 'pull_request', 'acme/api#7', null, null, null, 1500.0,
             1000.0, null, null, timestamp '2026-03-01 02:00:00',
             timestamp '2026-03-10 02:00:00', false))
        as t(kind, severity, subject_type, subject, team, person_id, metric, observed_value,
             threshold_value, baseline_value, direction, first_seen_at, resolved_at, is_open)""",
    # Two open epics (one with dates and a due date, one without throughput), an unreleased
    # fix version without throughput, and three backtested epics, two of them within their P85
    # date.
    "delivery_forecasts": """
        select * from (values
            ('open', 'epic', 'PAY-1', null, 'PAY', timestamp '2026-03-30 02:00:00', 'forecast',
             6, 0.5, 2.0, date '2026-04-13', date '2026-04-27', date '2026-05-04',
             date '2026-04-20', 0.6, null::boolean),
            ('open', 'epic', 'OPS-3', null, 'OPS', timestamp '2026-03-30 02:00:00',
             'no_throughput', 4, 0.0, 0.0, null, null, null, null, null, null),
            ('open', 'fix_version', '20001', 'OPS 2.0', 'OPS', timestamp '2026-03-30 02:00:00',
             'no_throughput', 5, 0.0, 0.0, null, null, null, date '2026-04-30', null, null),
            ('backtest', 'epic', 'PAY-2', null, 'PAY', timestamp '2026-02-02 02:00:00',
             'forecast', 3, 0.0, 2.0, date '2026-02-09', date '2026-02-16', date '2026-02-16',
             null, null, true),
            ('backtest', 'epic', 'PAY-3', null, 'PAY', timestamp '2026-02-09 02:00:00',
             'forecast', 3, 0.0, 2.0, date '2026-02-16', date '2026-02-23', date '2026-02-23',
             null, null, true),
            ('backtest', 'epic', 'PAY-4', null, 'PAY', timestamp '2026-02-16 02:00:00',
             'forecast', 3, 0.0, 2.0, date '2026-02-23', date '2026-03-02', date '2026-03-09',
             null, null, false))
        as t(forecast_kind, subject_kind, subject_key, subject_name, project_key, as_of_at,
             status, remaining_items,
             scope_growth_per_week, throughput_per_week, p50_date, p85_date, p95_date, due_date,
             probability_by_due_date, is_within_p85)""",
}


def build_marts(org, *, without: tuple[str, ...] = ()) -> dict[str, int]:
    """Create the marts (all but ``without``) and a canary-laden metadata table; row counts."""
    key = org.sieve.control_plane.org_data_key(org.org)
    counts = {}
    with open_store(org.database_path, key) as store:
        connection = store.connection
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        connection.execute("CREATE SCHEMA IF NOT EXISTS metadata")
        connection.execute("CREATE OR REPLACE TABLE metadata.people AS SELECT * FROM (VALUES "
                           f"('{PERSON_IDS[0]}', '{CANARY_NAME}', '{CANARY_EMAIL}')) "
                           "AS t(person_id, display_name, email)")
        for mart, sql in MART_SQL.items():
            if mart in without:
                continue
            connection.execute(f"CREATE OR REPLACE TABLE marts.{mart} AS {sql}")
            counts[mart] = connection.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()[0]
    return counts
