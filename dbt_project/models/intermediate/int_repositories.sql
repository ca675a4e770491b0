-- GitHub repositories, GitLab projects and Azure DevOps repositories under one key, with
-- the service rules that apply.
with github as (
    select
        'github' as source,
        connection_id,
        repository_id,
        repository_full_name as repository,
        default_branch
    from {{ ref('stg_github__repositories') }}
),

gitlab as (
    select
        'gitlab' as source,
        connection_id,
        project_id as repository_id,
        path_with_namespace as repository,
        default_branch
    from {{ ref('stg_gitlab__projects') }}
),

-- Bitbucket Cloud repositories, keyed by their uuid.
bitbucket as (
    select
        'bitbucket' as source,
        connection_id,
        repository_uuid as repository_id,
        repository_full_name as repository,
        default_branch
    from {{ ref('stg_bitbucket__repositories') }}
),

-- Azure DevOps: one block, named by project and repository.
azuredevops as (
    select
        'azuredevops' as source,
        connection_id,
        repository_id,
        project_name || '/' || repository_name as repository,
        default_branch
    from {{ ref('stg_azuredevops__repositories') }}
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
    source || ':' || connection_id || ':' || repository_id as repository_key,
    source,
    connection_id,
    repository_id,
    repository,
    default_branch,
    -- The last path segment: service rules may name a repository either way.
    split_part(repository, '/', -1) as repository_short_name
from unioned
