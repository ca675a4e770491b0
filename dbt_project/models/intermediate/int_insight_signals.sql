-- The signals that hold at as_of, one row per (kind, subject); the insights mart keeps their
-- history. Every threshold is an org setting (docs/metrics.md, "insights"). Bots' PRs and
-- reviews are left out. A signal is severe when its value is at least twice its threshold.
with prs as (
    select
        *,
        coalesce(additions, 0) + coalesce(deletions, 0) as lines_changed
    from {{ ref('pull_requests') }}
    where not is_bot
        and created_at <= {{ as_of() }}
        and coalesce(merged_at, closed_at, {{ as_of() }}) >= {{ as_of() }}
),

-- Counted reviews (a human other than the author) submitted by as_of.
counted_reviews as (
    select reviews.pull_request_key, reviews.reviewer_person_id, reviews.submitted_at
    from {{ ref('int_pull_request_reviews') }} as reviews
    where not reviews.is_bot
        and not reviews.is_by_author
        and reviews.submitted_at <= {{ as_of() }}
),

-- Open PRs nobody has reviewed yet, their wait in the reporting time zone's local time.
awaiting as (
    select
        prs.pull_request_key,
        prs.repository,
        prs.number,
        prs.team,
        timezone({{ sql_string(var('reporting_time_zone')) }}, timezone('UTC', prs.created_at))
            as waits_from,
        timezone({{ sql_string(var('reporting_time_zone')) }}, timezone('UTC', {{ as_of() }}))
            as waits_until
    from prs
    where prs.untimed_approval_count = 0
        and not exists (
            select 1 from counted_reviews
            where counted_reviews.pull_request_key = prs.pull_request_key
        )
),

awaiting_days as (
    select
        *,
        cast(unnest(generate_series(
            cast(waits_from as date), cast(waits_until as date), interval 1 day
        )) as date) as local_date
    from awaiting
),

-- Working hours only: weekdays that are not holidays, between the working day's start and end.
awaiting_working_hours as (
    select
        pull_request_key,
        any_value(repository) as repository,
        any_value(number) as number,
        any_value(team) as team,
        round(sum(greatest(0, {{ hours_between(
            'greatest(waits_from, local_date + to_hours(' ~ var('working_hours')[0] ~ '))',
            'least(waits_until, local_date + to_hours(' ~ var('working_hours')[1] ~ '))'
        ) }})), 6) as waited_hours
    from awaiting_days
    where isodow(local_date) <= 5
        and not list_contains(
            {{ sql_string_list(var('holidays')) }}, strftime(local_date, '%Y-%m-%d')
        )
    group by all
),

pr_awaiting_first_review as (
    select
        'pr_awaiting_first_review' as kind, 'pull_request' as subject_type,
        repository || '#' || number as subject, repository, number, team,
        null::VARCHAR as person_id, null::VARCHAR as metric,
        waited_hours as observed_value,
        {{ var('first_review_working_hours') }}::DOUBLE as threshold_value,
        null::DOUBLE as baseline_value,
        null::BIGINT as sample_count,
        {{ severity('waited_hours', var('first_review_working_hours')) }} as severity
    from awaiting_working_hours
    where waited_hours > {{ var('first_review_working_hours') }}
),

activity as (
    select pull_request_key, created_at as active_at from prs
    union all
    select commits.pull_request_key, commits.authored_at
    from {{ ref('int_pull_request_commits') }} as commits
    where commits.authored_at <= {{ as_of() }}
    union all
    select reviews.pull_request_key, reviews.submitted_at
    from {{ ref('int_pull_request_reviews') }} as reviews
    where reviews.submitted_at <= {{ as_of() }}
),

last_activity as (
    select prs.pull_request_key, prs.repository, prs.number, prs.team,
        {{ hours_between('max(activity.active_at)', as_of()) }} / 24 as idle_days
    from prs
    inner join activity using (pull_request_key)
    group by all
),

pr_idle as (
    select
        'pr_idle' as kind, 'pull_request' as subject_type,
        repository || '#' || number as subject, repository, number, team,
        null::VARCHAR as person_id, null::VARCHAR as metric,
        idle_days as observed_value,
        {{ var('stale_pr_days') }}::DOUBLE as threshold_value,
        null::DOUBLE as baseline_value,
        null::BIGINT as sample_count,
        {{ severity('idle_days', var('stale_pr_days')) }} as severity
    from last_activity
    where idle_days > {{ var('stale_pr_days') }}
),

pr_too_large as (
    select
        'pr_too_large' as kind, 'pull_request' as subject_type,
        repository || '#' || number as subject, repository, number, team,
        null::VARCHAR as person_id, null::VARCHAR as metric,
        lines_changed::DOUBLE as observed_value,
        {{ var('large_pr_lines') }}::DOUBLE as threshold_value,
        null::DOUBLE as baseline_value,
        null::BIGINT as sample_count,
        {{ severity('lines_changed', var('large_pr_lines')) }} as severity
    from prs
    where lines_changed > {{ var('large_pr_lines') }}
),

-- Work in progress per person: open PRs they authored and Jira issues assigned to them that
-- were started and not done by as_of.
work_items as (
    select author_person_id as person_id, team from prs
    where author_person_id is not null
    union all
    select issues.assignee_person_id, issues.team
    from {{ ref('int_issues') }} as issues
    where issues.assignee_person_id is not null
        and not issues.is_subtask
        and issues.started_at <= {{ as_of() }}
        and coalesce(issues.done_at, {{ as_of() }}) >= {{ as_of() }}
),

wip_above_limit as (
    select
        'wip_above_limit' as kind, 'person' as subject_type, person_id as subject,
        null::VARCHAR as repository, null::INTEGER as number, any_value(team) as team,
        person_id, null::VARCHAR as metric,
        count(*)::DOUBLE as observed_value,
        {{ var('wip_limit_per_person') }}::DOUBLE as threshold_value,
        null::DOUBLE as baseline_value,
        null::BIGINT as sample_count,
        {{ severity('count(*)', var('wip_limit_per_person')) }} as severity
    from work_items
    group by person_id
    having count(*) > {{ var('wip_limit_per_person') }}
),

-- The same work per team, for the teams the settings give a limit.
team_wip_above_limit as (
    select
        'wip_above_limit' as kind, 'team' as subject_type, work_items.team as subject,
        null::VARCHAR as repository, null::INTEGER as number, work_items.team,
        null::VARCHAR as person_id, null::VARCHAR as metric,
        count(*)::DOUBLE as observed_value,
        any_value(limits.wip_limit)::DOUBLE as threshold_value,
        null::DOUBLE as baseline_value,
        null::BIGINT as sample_count,
        {{ severity('count(*)', 'any_value(limits.wip_limit)') }} as severity
    from work_items
    inner join ({{ team_wip_limits_relation() }}) as limits on work_items.team = limits.team
    group by work_items.team
    having count(*) > any_value(limits.wip_limit)
),

-- Reviews of each team's PRs in the rolling window, and who gave them.
team_reviews as (
    select pull_requests.team, reviews.reviewer_person_id, count(*) as reviews_given
    from counted_reviews as reviews
    inner join {{ ref('pull_requests') }} as pull_requests using (pull_request_key)
    where pull_requests.team is not null
        and not pull_requests.is_bot
        and reviews.reviewer_person_id is not null
        and reviews.submitted_at > {{ as_of() }} - to_days({{ var('review_window_days') }})
    group by all
),

team_review_shares as (
    select
        team,
        arg_max(reviewer_person_id, (reviews_given, reviewer_person_id)) as top_reviewer,
        max(reviews_given) / sum(reviews_given) as top_share,
        sum(reviews_given) as team_reviews
    from team_reviews
    group by team
),

review_concentration as (
    select
        'review_concentration' as kind, 'team' as subject_type, team as subject,
        null::VARCHAR as repository, null::INTEGER as number, team,
        top_reviewer as person_id, null::VARCHAR as metric,
        top_share as observed_value,
        {{ var('review_concentration_percent') }} / 100.0 as threshold_value,
        null::DOUBLE as baseline_value,
        team_reviews as sample_count,
        {{ severity('top_share * 100', var('review_concentration_percent')) }} as severity
    from team_review_shares
    where top_share * 100 > {{ var('review_concentration_percent') }}
        and team_reviews >= {{ var('review_concentration_min_reviews') }}
),

bus_factor_one as (
    select
        'bus_factor_one' as kind, 'repository' as subject_type, repository as subject,
        repository, null::INTEGER as number, null::VARCHAR as team,
        null::VARCHAR as person_id, null::VARCHAR as metric,
        top_author_commit_share as observed_value,
        0.5 as threshold_value,
        null::DOUBLE as baseline_value,
        commit_count as sample_count,
        -- One contributor in the whole window is severe; one holding the majority is a warning.
        case when commit_author_count = 1 then 'severe' else 'warning' end as severity
    from {{ ref('knowledge_concentration') }}
    where commit_bus_factor = 1
        and commit_count >= {{ var('bus_factor_min_commits') }}
),

signals as (
    select * from pr_awaiting_first_review
    union all
    select * from pr_idle
    union all
    select * from pr_too_large
    union all
    select * from wip_above_limit
    union all
    select * from team_wip_above_limit
    union all
    select * from review_concentration
    union all
    select * from bus_factor_one
    union all
    select * from {{ ref('int_insight_trend_signals') }}
)

select
    kind || ':' || subject as signal_key,
    kind,
    severity,
    subject_type,
    subject,
    repository,
    number,
    team,
    person_id,
    metric,
    observed_value,
    threshold_value,
    baseline_value,
    sample_count
from signals
