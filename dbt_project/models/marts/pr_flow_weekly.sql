-- Pull-request flow per ISO week, for the organization and per team (the author's team).
-- Bots' PRs are left out of every flow statistic and counted apart (bot_prs_merged).
-- WIP and stale PRs are snapshots at the end of the week (or at as_of for the current week);
-- throughput, cycle time and its components, size and review coverage are over the PRs
-- merged during the week. Medians of the components do not add up to the median cycle time
-- (each PR's components do; see pull_requests).
with prs as (
    select
        *,
        coalesce(additions, 0) + coalesce(deletions, 0) as lines_changed,
        coalesce(merged_at, closed_at) as ended_at
    from {{ ref('pull_requests') }}
),

weeks as (
    {{ week_spine(ref('pull_requests'), 'created_at') }}
),

-- Anything that shows someone is working on a PR: its creation, a commit, a review.
activity as (
    select pull_request_key, created_at as active_at from prs
    union all
    select pull_request_key, authored_at from {{ ref('int_pull_request_commits') }}
    union all
    select pull_request_key, submitted_at from {{ ref('int_pull_request_reviews') }}
),

-- Each human PR in every week it was open at the week's end (or at as_of): the weeks from its
-- creation to its end are generated per PR, then the exact condition is applied.
pr_weeks as (
    select
        pull_request_key,
        team,
        created_at,
        ended_at,
        cast(unnest(generate_series(
            date_trunc('week', created_at),
            date_trunc('week', least(coalesce(ended_at, {{ as_of() }}), {{ as_of() }})),
            interval 1 week
        )) as date) as week_start
    from prs
    where not is_bot and created_at < {{ as_of() }}
),

snapshots as (
    select
        week_start,
        least(week_start + interval 7 day, {{ as_of() }}) as snapshot_at,
        pull_request_key,
        team
    from pr_weeks
    where created_at < least(week_start + interval 7 day, {{ as_of() }})
        and (ended_at is null or ended_at >= least(week_start + interval 7 day, {{ as_of() }}))
),

last_activity as (
    select pull_request_key, max(active_at) as last_active_at
    from activity
    group by all
),

-- The last activity before each snapshot. Most open PR-weeks come after the PR's last activity
-- ever (PRs left open for months); only the others need the as-of join over all activity.
open_at_week_end as (
    select snapshots.*, last_activity.last_active_at
    from snapshots
    inner join last_activity using (pull_request_key)
    where last_activity.last_active_at <= snapshots.snapshot_at
    union all
    select snapshots.*, activity.active_at as last_active_at
    from (
        select snapshots.*
        from snapshots
        inner join last_activity using (pull_request_key)
        where last_activity.last_active_at > snapshots.snapshot_at
    ) as snapshots
    asof left join activity
        on snapshots.pull_request_key = activity.pull_request_key
        and snapshots.snapshot_at >= activity.active_at
),

scoped_open as (
    select 'organization' as grouping_level, null::VARCHAR as team, week_start, last_active_at,
        snapshot_at
    from open_at_week_end
    union all
    select 'team' as grouping_level, team, week_start, last_active_at, snapshot_at
    from open_at_week_end
    where team is not null
),

scoped_prs as (
    select 'organization' as grouping_level, null::VARCHAR as team, prs.* from prs
    union all
    select 'team' as grouping_level, prs.team, prs.* from prs where prs.team is not null
),

groups as (
    select distinct grouping_level, team from scoped_prs
),

opened as (
    select grouping_level, team, {{ iso_week_start('created_at') }} as week_start,
        count(*) filter (where not is_bot) as prs_opened
    from scoped_prs
    group by all
),

merged as (
    select
        grouping_level,
        team,
        {{ iso_week_start('merged_at') }} as week_start,
        count(*) filter (where not is_bot) as prs_merged,
        count(*) filter (where is_bot) as bot_prs_merged,
        {% for measure in ['cycle', 'coding', 'pickup', 'review', 'deploy'] -%}
        {{ median(measure ~ '_hours') }} filter (where not is_bot) as {{ measure }}_median_hours,
        {{ percentile(measure ~ '_hours', 0.75) }} filter (where not is_bot)
            as {{ measure }}_p75_hours,
        {% endfor -%}
        {{ median('lines_changed') }} filter (where not is_bot) as size_median_lines,
        count(*) filter (where not is_bot and lines_changed <= 10) as size_xs_count,
        count(*) filter (where not is_bot and lines_changed > 10 and lines_changed <= 50)
            as size_s_count,
        count(*) filter (where not is_bot and lines_changed > 50 and lines_changed <= 250)
            as size_m_count,
        count(*) filter (where not is_bot and lines_changed > 250 and lines_changed <= 1000)
            as size_l_count,
        count(*) filter (where not is_bot and lines_changed > 1000) as size_xl_count,
        count(*) filter (where not is_bot and review_count > 0) as prs_merged_reviewed,
        -- Coverage leaves out PRs whose only reviews have no time (untimed GitLab approvals).
        count(*) filter (where not is_bot and (review_count > 0 or untimed_approval_count = 0))
            as prs_merged_review_known,
        count(*) filter (where not is_bot and is_merged_without_review)
            as merged_without_review_count
    from scoped_prs
    where merged_at is not null
    group by all
),

work_in_progress as (
    select
        grouping_level,
        team,
        week_start,
        count(*) as wip_at_week_end,
        count(*) filter (
            where last_active_at < snapshot_at - to_days({{ var('stale_pr_days') }})
        ) as stale_prs_at_week_end
    from scoped_open
    group by all
)

select
    weeks.week_start,
    groups.grouping_level,
    groups.team,
    coalesce(opened.prs_opened, 0) as prs_opened,
    coalesce(merged.prs_merged, 0) as prs_merged,
    coalesce(merged.bot_prs_merged, 0) as bot_prs_merged,
    coalesce(work_in_progress.wip_at_week_end, 0) as wip_at_week_end,
    coalesce(work_in_progress.stale_prs_at_week_end, 0) as stale_prs_at_week_end,
    {% for measure in ['cycle', 'coding', 'pickup', 'review', 'deploy'] -%}
    merged.{{ measure }}_median_hours,
    merged.{{ measure }}_p75_hours,
    {% endfor -%}
    merged.size_median_lines,
    coalesce(merged.size_xs_count, 0) as size_xs_count,
    coalesce(merged.size_s_count, 0) as size_s_count,
    coalesce(merged.size_m_count, 0) as size_m_count,
    coalesce(merged.size_l_count, 0) as size_l_count,
    coalesce(merged.size_xl_count, 0) as size_xl_count,
    merged.prs_merged_reviewed / nullif(merged.prs_merged_review_known, 0) as review_coverage,
    coalesce(merged.merged_without_review_count, 0) as merged_without_review_count
from weeks
cross join groups
left join opened
    on opened.grouping_level = groups.grouping_level
    and opened.team is not distinct from groups.team
    and opened.week_start = weeks.week_start
left join merged
    on merged.grouping_level = groups.grouping_level
    and merged.team is not distinct from groups.team
    and merged.week_start = weeks.week_start
left join work_in_progress
    on work_in_progress.grouping_level = groups.grouping_level
    and work_in_progress.team is not distinct from groups.team
    and work_in_progress.week_start = weeks.week_start
