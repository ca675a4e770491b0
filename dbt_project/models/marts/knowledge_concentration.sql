-- How concentrated each repository's knowledge is over the last knowledge_window_days before
-- as_of: the share of commits and of reviews by the top contributor, and the bus factor (the
-- fewest people who together account for more than half of them). Bots are left out; commit
-- authors without a person are one contributor per (hashed) email.
with window_bounds as (
    select {{ as_of() }} - to_days({{ var('knowledge_window_days') }}) as starts_at,
        {{ as_of() }} as ends_at
),

commits as (
    select
        commits.repository,
        commits.contributor_key as contributor
    from {{ ref('int_commits') }} as commits, window_bounds
    where not commits.is_bot
        and commits.authored_at >= window_bounds.starts_at
        and commits.authored_at < window_bounds.ends_at
),

reviews as (
    select
        prs.repository,
        reviews.reviewer_person_id as contributor
    from {{ ref('int_pull_request_reviews') }} as reviews
    inner join {{ ref('pull_requests') }} as prs using (pull_request_key), window_bounds
    where not reviews.is_bot
        and not reviews.is_by_author
        and reviews.reviewer_person_id is not null
        and reviews.submitted_at >= window_bounds.starts_at
        and reviews.submitted_at < window_bounds.ends_at
),

contributions as (
    select 'commit' as activity, repository, contributor, count(*) as amount
    from commits
    group by all
    union all
    select 'review' as activity, repository, contributor, count(*) as amount
    from reviews
    group by all
),

ranked as (
    select
        activity,
        repository,
        amount,
        sum(amount) over (partition by activity, repository) as total,
        count(*) over (partition by activity, repository) as contributors,
        row_number() over (partition by activity, repository order by amount desc) as rank,
        sum(amount) over (partition by activity, repository order by amount desc
                          rows between unbounded preceding and current row) as running_total
    from contributions
),

concentration as (
    select
        activity,
        repository,
        any_value(total) as total,
        any_value(contributors) as contributors,
        max(amount) / any_value(total) as top_share,
        min(rank) filter (where running_total * 2 > total) as bus_factor
    from ranked
    group by all
),

repositories as (
    select distinct repository from concentration
)

select
    repositories.repository,
    coalesce(commit_stats.total, 0) as commit_count,
    coalesce(commit_stats.contributors, 0) as commit_author_count,
    commit_stats.top_share as top_author_commit_share,
    commit_stats.bus_factor as commit_bus_factor,
    coalesce(review_stats.total, 0) as review_count,
    coalesce(review_stats.contributors, 0) as reviewer_count,
    review_stats.top_share as top_reviewer_review_share,
    review_stats.bus_factor as review_bus_factor
from repositories
left join concentration as commit_stats
    on commit_stats.repository = repositories.repository
    and commit_stats.activity = 'commit'
left join concentration as review_stats
    on review_stats.repository = repositories.repository
    and review_stats.activity = 'review'
