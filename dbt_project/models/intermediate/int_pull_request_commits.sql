-- Commits of each pull/merge request, keyed to the unified PR.
with github as (
    select
        'github:' || connection_id || ':' || repository_id as repository_key,
        pull_number as number,
        sha,
        authored_at,
        committed_at
    from {{ ref('stg_github__pull_request_commits') }}
),

gitlab as (
    select
        'gitlab:' || connection_id || ':' || project_id as repository_key,
        merge_request_iid as number,
        sha,
        authored_at,
        committed_at
    from {{ ref('stg_gitlab__mr_commits') }}
),

-- Bitbucket Cloud gives one time per commit.
bitbucket as (
    select
        'bitbucket:' || connection_id || ':' || repository_uuid as repository_key,
        pull_request_number as number,
        sha,
        committed_at as authored_at,
        committed_at
    from {{ ref('stg_bitbucket__pr_commits') }}
),

azuredevops as (
    select
        'azuredevops:' || connection_id || ':' || repository_id as repository_key,
        pull_request_id as number,
        sha,
        authored_at,
        committed_at
    from {{ ref('stg_azuredevops__pr_commits') }}
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
    prs.pull_request_key,
    unioned.sha,
    unioned.authored_at,
    unioned.committed_at
from unioned
inner join {{ ref('int_pull_requests') }} as prs using (repository_key, number)
