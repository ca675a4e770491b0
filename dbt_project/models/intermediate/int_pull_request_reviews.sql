-- Submitted reviews (GitHub) and approvals (GitLab) on each PR, with the reviewer's person,
-- and whether the review counts: a human who is not the PR's author.
with github as (
    select
        'github:' || connection_id || ':' || repository_id as repository_key,
        pull_number as number,
        'github:' || connection_id || ':' || review_id as review_key,
        'github' as system,
        cast(reviewer_id as VARCHAR) as reviewer_account_key,
        reviewer_login as reviewer_handle,
        state,
        submitted_at
    from {{ ref('stg_github__pull_request_reviews') }}
    -- Pending reviews are drafts nobody else has seen.
    where state != 'PENDING' and submitted_at is not null
),

gitlab as (
    select
        'gitlab:' || connection_id || ':' || project_id as repository_key,
        merge_request_iid as number,
        concat_ws(':', 'gitlab', connection_id, project_id, merge_request_iid, approver_id)
            as review_key,
        'gitlab' as system,
        cast(approver_id as VARCHAR) as reviewer_account_key,
        approver_username as reviewer_handle,
        'APPROVED' as state,
        approved_at as submitted_at
    from {{ ref('stg_gitlab__mr_approvals') }}
),

-- Bitbucket Cloud: each participant who approved or asked for changes, and each reviewer who
-- took part, as one review at the time they last took part.
bitbucket as (
    select
        'bitbucket:' || connection_id || ':' || repository_uuid as repository_key,
        pull_request_number as number,
        concat_ws(':', 'bitbucket', connection_id, repository_uuid, pull_request_number,
                  user_account_id) as review_key,
        'bitbucket' as system,
        user_account_id as reviewer_account_key,
        null::VARCHAR as reviewer_handle,
        case
            when is_approved then 'APPROVED'
            when state = 'changes_requested' then 'CHANGES_REQUESTED'
            else 'COMMENTED'
        end as state,
        participated_at as submitted_at
    from {{ ref('stg_bitbucket__pr_participants') }}
    where participated_at is not null
        and (is_approved or state is not null or role = 'REVIEWER')
),

-- Azure DevOps votes with their times: approving votes (10, 5) approve, rejecting ones
-- (-5, -10) ask for changes; a vote reset to 0 is no review.
azuredevops as (
    select
        'azuredevops:' || connection_id || ':' || repository_id as repository_key,
        pull_request_id as number,
        concat_ws(':', 'azuredevops', connection_id, pull_request_id, thread_id) as review_key,
        'azuredevops' as system,
        reviewer_id as reviewer_account_key,
        reviewer_unique_name as reviewer_handle,
        case when vote > 0 then 'APPROVED' else 'CHANGES_REQUESTED' end as state,
        voted_at as submitted_at
    from {{ ref('stg_azuredevops__pr_votes') }}
    where vote != 0
),

unioned as (
    select * from github
    union all
    select * from gitlab
    union all
    select * from bitbucket
    union all
    select * from azuredevops
)

select
    unioned.review_key,
    prs.pull_request_key,
    accounts.person_id as reviewer_person_id,
    accounts.team as reviewer_team,
    unioned.state,
    unioned.submitted_at,
    coalesce(accounts.is_bot, false)
        or {{ matches_any('unioned.reviewer_handle', var('bot_patterns')) }} as is_bot,
    coalesce(accounts.person_id = prs.author_person_id, false) as is_by_author
from unioned
inner join {{ ref('int_pull_requests') }} as prs using (repository_key, number)
left join {{ ref('int_person_accounts') }} as accounts
    on accounts.system = unioned.system
    and accounts.account_key = unioned.reviewer_account_key
