-- Jira issue flow per ISO week, for the organization and per team (the assignee's team).
-- Sub-tasks are left out (their parent is the unit of delivery). Completed = moved into a
-- done status during the week; WIP = in an in-progress status at week end (or at as_of).
with issues as (
    select * from {{ ref('int_issues') }}
    where not is_subtask
),

weeks as (
    {{ week_spine(ref('int_issues'), 'created_at') }}
),

scoped_issues as (
    select 'organization' as grouping_level, null::VARCHAR as team, issues.* from issues
    union all
    select 'team' as grouping_level, issues.team, issues.* from issues where issues.team is not null
),

groups as (
    select distinct grouping_level, team from scoped_issues
),

created as (
    select grouping_level, team, {{ iso_week_start('created_at') }} as week_start,
        count(*) as issues_created
    from scoped_issues
    group by all
),

completed as (
    select
        grouping_level,
        team,
        {{ iso_week_start('done_at') }} as week_start,
        count(*) as issues_completed,
        {{ median('lead_time_hours') }} as lead_time_median_hours,
        {{ percentile('lead_time_hours', 0.75) }} as lead_time_p75_hours,
        {{ median('cycle_time_hours') }} as cycle_time_median_hours,
        {{ percentile('cycle_time_hours', 0.75) }} as cycle_time_p75_hours,
        -- Capped at 1: a sum of per-interval hours can exceed the whole by a rounding error.
        -- Rounded so that the order of the summation cannot change the last bit.
        round(least(1.0, sum(active_hours)
            / nullif(sum(cycle_time_hours) filter (where active_hours is not null), 0)), 6)
            as flow_efficiency,
        count(*) filter (where is_bug) / count(*) as bug_ratio,
        sum(story_points) as points_completed
    from scoped_issues
    where done_at is not null
    group by all
),

-- Each in-progress interval in every week whose end (or as_of) it spans: weeks generated per
-- interval, then the exact condition applied.
interval_weeks as (
    select
        connection_id,
        issue_id,
        started_at,
        ended_at,
        cast(unnest(generate_series(
            date_trunc('week', started_at),
            date_trunc('week', least(coalesce(ended_at, {{ as_of() }}), {{ as_of() }})),
            interval 1 week
        )) as date) as week_start
    from {{ ref('int_issue_status_intervals') }}
    where status_category = 'indeterminate' and started_at < {{ as_of() }}
),

in_progress as (
    select
        scoped_issues.grouping_level,
        scoped_issues.team,
        interval_weeks.week_start,
        count(*) as wip_at_week_end
    from (
        select *, least(week_start + interval 7 day, {{ as_of() }}) as snapshot_at
        from interval_weeks
    ) as interval_weeks
    inner join scoped_issues using (connection_id, issue_id)
    where interval_weeks.started_at < interval_weeks.snapshot_at
        and (interval_weeks.ended_at is null
            or interval_weeks.ended_at >= interval_weeks.snapshot_at)
    group by all
)

select
    weeks.week_start,
    groups.grouping_level,
    groups.team,
    coalesce(created.issues_created, 0) as issues_created,
    coalesce(completed.issues_completed, 0) as issues_completed,
    coalesce(completed.points_completed, 0) as points_completed,
    coalesce(in_progress.wip_at_week_end, 0) as wip_at_week_end,
    completed.lead_time_median_hours,
    completed.lead_time_p75_hours,
    completed.cycle_time_median_hours,
    completed.cycle_time_p75_hours,
    completed.flow_efficiency,
    completed.bug_ratio
from weeks
cross join groups
left join created
    on created.grouping_level = groups.grouping_level
    and created.team is not distinct from groups.team
    and created.week_start = weeks.week_start
left join completed
    on completed.grouping_level = groups.grouping_level
    and completed.team is not distinct from groups.team
    and completed.week_start = weeks.week_start
left join in_progress
    on in_progress.grouping_level = groups.grouping_level
    and in_progress.team is not distinct from groups.team
    and in_progress.week_start = weeks.week_start
