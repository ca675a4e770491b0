-- Commits from GitHub, GitLab and local clones, with the author's person. A commit seen through
-- two connections of the same repository is one row per repository key.
with github as (
    select
        'github:' || connection_id || ':' || repository_id as repository_key,
        sha,
        'github' as system,
        cast(author_id as VARCHAR) as account_key,
        author_email,
        authored_at
    from {{ ref('stg_github__commits') }}
),

gitlab as (
    select
        'gitlab:' || connection_id || ':' || project_id as repository_key,
        sha,
        'email' as system,
        author_email as account_key,
        author_email,
        authored_at
    from {{ ref('stg_gitlab__commits') }}
),

git as (
    select
        'git:' || connection_id as repository_key,
        sha,
        'email' as system,
        author_email as account_key,
        author_email,
        authored_at
    from {{ ref('stg_git__commits') }}
    where not is_merge
),

-- Bitbucket Cloud: the Atlassian account Bitbucket maps the commit to, else its email.
bitbucket as (
    select
        'bitbucket:' || connection_id || ':' || repository_uuid as repository_key,
        sha,
        'bitbucket' as system,
        author_account_id as account_key,
        author_email,
        committed_at as authored_at
    from {{ ref('stg_bitbucket__commits') }}
),

unioned as (
    select * from github
    union all
    select * from gitlab
    union all
    select * from git
    union all
    select * from bitbucket
)

select
    unioned.repository_key,
    coalesce(repositories.repository, unioned.repository_key) as repository,
    unioned.sha,
    coalesce(by_account.person_id, by_email.person_id) as author_person_id,
    -- Who wrote it, as one key per contributor: the person, else a hash of the unmatched
    -- author's email (or account), so an unmatched author's commits are one contributor.
    coalesce(
        by_account.person_id,
        by_email.person_id,
        'unmatched:' || sha256(coalesce(
            lower(unioned.author_email),
            unioned.system || ':' || unioned.account_key,
            unioned.sha
        ))
    ) as contributor_key,
    coalesce(by_account.is_bot, by_email.is_bot, false) as is_bot,
    unioned.authored_at
from unioned
left join {{ ref('int_repositories') }} as repositories using (repository_key)
left join {{ ref('int_person_accounts') }} as by_account
    on by_account.system = unioned.system
    and by_account.account_key = unioned.account_key
left join {{ ref('int_person_accounts') }} as by_email
    on by_email.system = 'email'
    and by_email.account_key = unioned.author_email
