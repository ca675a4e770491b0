-- One row per pull/merge request with its timeline and the cycle-time breakdown.
--
-- cycle = coding + pickup + review + deploy, always, in hours:
--   starts_at   = the earlier of the first commit and the PR's creation
--   coding      = starts_at → created_at
--   pickup      = created_at → first review (or merge, when nobody reviewed)
--   review      = first review → merge (0 when nobody reviewed before the merge)
--   deploy      = merge → first production deployment (null until deployed)
--   cycle       = starts_at → deployed_at, or → merged_at while not deployed
-- Components exist for merged PRs only. A review submitted before the PR was opened (of its
-- branch, or of a draft elsewhere) starts the review at the PR's creation: never a negative
-- pickup. Reviews count when a human other than the author submitted them, at a known time:
-- bots and self-reviews never start the pickup clock, and GitLab approvals without a time
-- are counted apart (untimed_approval_count) — a PR whose only reviews are those has no
-- pickup / review split (null), and is not "merged without review" either.
with prs as (
    select * from {{ ref('int_pull_requests') }}
),

first_commits as (
    select pull_request_key, min(authored_at) as first_commit_at
    from {{ ref('int_pull_request_commits') }}
    group by all
),

reviews as (
    select
        pull_request_key,
        min(submitted_at) as first_review_at,
        min(submitted_at) filter (where state = 'APPROVED') as approved_at,
        count(*) filter (where submitted_at is not null) as review_count,
        count(distinct reviewer_person_id) filter (where submitted_at is not null)
            as reviewer_count,
        count(*) filter (where submitted_at is null) as untimed_approval_count
    from {{ ref('int_pull_request_reviews') }}
    where not is_bot and not is_by_author
    group by all
),

timeline as (
    select
        prs.*,
        first_commits.first_commit_at,
        reviews.first_review_at,
        reviews.approved_at,
        coalesce(reviews.review_count, 0) as review_count,
        coalesce(reviews.reviewer_count, 0) as reviewer_count,
        coalesce(reviews.untimed_approval_count, 0) as untimed_approval_count,
        deployments.deployment_key,
        deployments.deployed_at,
        least(coalesce(first_commits.first_commit_at, prs.created_at), prs.created_at)
            as starts_at,
        -- The moment review began, for merged PRs: clamped to the PR's creation (a review
        -- before the PR was opened) and to the merge (a review after merging is late, not
        -- negative review time); unknown when the only reviews have no time. (DuckDB's least
        -- and greatest skip nulls, so the unmerged case is spelled out.)
        case
            when prs.merged_at is null then null
            when reviews.first_review_at is null and reviews.untimed_approval_count > 0 then null
            else greatest(
                least(coalesce(reviews.first_review_at, prs.merged_at), prs.merged_at),
                prs.created_at
            )
        end as review_starts_at
    from prs
    left join first_commits using (pull_request_key)
    left join reviews using (pull_request_key)
    left join {{ ref('int_pull_request_deployments') }} as deployments using (pull_request_key)
)

select
    pull_request_key,
    source,
    repository,
    service_name,
    number,
    author_person_id,
    team,
    is_bot,
    created_at,
    first_commit_at,
    first_review_at,
    approved_at,
    merged_at,
    closed_at,
    deployed_at,
    deployment_key,
    additions,
    deletions,
    changed_files,
    review_count,
    reviewer_count,
    untimed_approval_count,
    case when merged_at is not null
        then {{ hours_between('starts_at', 'created_at') }} end as coding_hours,
    {{ hours_between('created_at', 'review_starts_at') }} as pickup_hours,
    {{ hours_between('review_starts_at', 'merged_at') }} as review_hours,
    {{ hours_between('merged_at', 'deployed_at') }} as deploy_hours,
    {{ hours_between('starts_at', 'coalesce(deployed_at, merged_at)') }} as cycle_hours,
    merged_at is not null and review_count = 0 and untimed_approval_count = 0
        as is_merged_without_review,
    is_revert,
    is_hotfix,
    is_production_branch
from timeline
