-- Signals read from the history of the marts at as_of: sprints at risk, and delivery metrics
-- outside their trailing band. Same columns as int_insight_signals, which unions them.
with active_sprints as (
    select
        connection_id,
        sprint_id,
        connection_id || ':' || sprint_id as sprint_key,
        board_id,
        end_at,
        {{ hours_between(as_of(), 'end_at') }} / 24 as days_left
    from {{ ref('stg_jira__sprints') }}
    where start_at <= {{ as_of() }}
        and end_at > {{ as_of() }}
        and coalesce(completed_at, end_at) > {{ as_of() }}
),

sprint_issues as (
    select issues.connection_id, unnest(issues.sprint_ids) as sprint_id, issues.done_at
    from {{ ref('int_issues') }} as issues
    where not issues.is_subtask
),

remaining as (
    select active_sprints.sprint_key, count(*) as remaining_issues
    from active_sprints
    inner join sprint_issues using (connection_id, sprint_id)
    where coalesce(sprint_issues.done_at, {{ as_of() }}) >= {{ as_of() }}
    group by all
),

-- The board's throughput: issues completed per sprint day over its last closed sprints.
closed_sprints as (
    select
        board_id,
        completed_issues / ({{ hours_between('start_at', 'completed_at') }} / 24)
            as issues_per_day,
        row_number() over (partition by board_id order by completed_at desc) as recency
    from {{ ref('sprint_outcomes') }}
    where completed_at <= {{ as_of() }} and completed_at > start_at
),

board_throughput as (
    select board_id, median(issues_per_day) as issues_per_day, count(*) as sprint_count
    from closed_sprints
    where recency <= {{ var('sprint_history_sprints') }}
    group by board_id
),

sprint_forecasts as (
    select
        active_sprints.sprint_key,
        remaining.remaining_issues,
        board_throughput.issues_per_day,
        board_throughput.sprint_count,
        board_throughput.issues_per_day * active_sprints.days_left as completable_issues
    from active_sprints
    inner join remaining using (sprint_key)
    inner join board_throughput using (board_id)
),

sprint_at_risk as (
    select
        'sprint_at_risk' as kind, 'sprint' as subject_type, sprint_key as subject,
        null::VARCHAR as repository, null::INTEGER as number, null::VARCHAR as team,
        null::VARCHAR as person_id, null::VARCHAR as metric,
        remaining_issues::DOUBLE as observed_value,
        completable_issues as threshold_value,
        issues_per_day as baseline_value,
        sprint_count as sample_count,
        {{ severity('remaining_issues', 'completable_issues') }} as severity
    from sprint_forecasts
    where remaining_issues > completable_issues
),

-- The organization's weekly delivery metrics; the last complete week is judged against the
-- trailing_band_weeks weeks before it.
weekly_metrics as (
    select week_start, 'pr_cycle_median_hours' as metric, cycle_median_hours as metric_value
    from {{ ref('pr_flow_weekly') }}
    where grouping_level = 'organization'
    union all
    select week_start, 'pr_pickup_median_hours' as metric, pickup_median_hours
    from {{ ref('pr_flow_weekly') }}
    where grouping_level = 'organization'
    union all
    select week_start, 'pr_review_median_hours' as metric, review_median_hours
    from {{ ref('pr_flow_weekly') }}
    where grouping_level = 'organization'
    union all
    select period_start as week_start, 'lead_time_median_hours' as metric, lead_time_median_hours
    from {{ ref('dora_weekly') }}
    where grouping_level = 'organization'
),

judged_week as (
    select cast(date_trunc('week', {{ as_of() }}) - interval 7 day as date) as week_start
),

judged as (
    select weekly_metrics.metric, weekly_metrics.metric_value
    from weekly_metrics
    inner join judged_week using (week_start)
    where weekly_metrics.metric_value is not null
),

trailing_weeks as (
    select weekly_metrics.metric, weekly_metrics.metric_value
    from weekly_metrics, judged_week
    where weekly_metrics.metric_value is not null
        and weekly_metrics.week_start < judged_week.week_start
        and weekly_metrics.week_start
        >= judged_week.week_start - to_days(7 * {{ var('trailing_band_weeks') }})
),

band_medians as (
    select metric, median(metric_value) as median_value, count(*) as week_count
    from trailing_weeks
    group by metric
    -- Fewer than four weeks make no band worth judging against.
    having count(*) >= 4
),

-- Robust spread: the median absolute deviation, floored at a tenth of the median so that a
-- flat history does not flag every small change.
bands as (
    select
        band_medians.metric,
        band_medians.median_value,
        band_medians.week_count,
        {{ var('trailing_band_mads') }} * greatest(
            median(abs(trailing_weeks.metric_value - band_medians.median_value)),
            any_value(band_medians.median_value) / 10
        ) as half_width
    from band_medians
    inner join trailing_weeks using (metric)
    group by band_medians.metric, band_medians.median_value, band_medians.week_count
),

metric_out_of_band as (
    select
        'metric_out_of_band' as kind, 'organization' as subject_type, judged.metric as subject,
        null::VARCHAR as repository, null::INTEGER as number, null::VARCHAR as team,
        null::VARCHAR as person_id, judged.metric,
        judged.metric_value as observed_value,
        case when judged.metric_value > bands.median_value
            then bands.median_value + bands.half_width
            else bands.median_value - bands.half_width
        end as threshold_value,
        bands.median_value as baseline_value,
        bands.week_count as sample_count,
        {{ severity('abs(judged.metric_value - bands.median_value)', 'bands.half_width') }}
            as severity
    from judged
    inner join bands using (metric)
    where abs(judged.metric_value - bands.median_value) > bands.half_width
),

trend_signals as (
    select * from sprint_at_risk
    union all
    select * from metric_out_of_band
)

select * from trend_signals
