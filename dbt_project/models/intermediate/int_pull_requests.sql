-- GitHub pull requests and GitLab merge requests as one relation, with author, size, the
-- shas that land on the base branch, whether that branch is a production branch, and the PR's
-- service when the repository has several.
with github as (
    select
        'github' as source,
        pr.connection_id,
        'github:' || pr.connection_id || ':' || pr.pull_request_id as pull_request_key,
        'github:' || pr.connection_id || ':' || pr.repository_id as repository_key,
        pr.repository_id,
        pr.number,
        pr.title,
        pr.labels,
        pr.head_ref,
        pr.base_ref,
        cast(pr.author_id as VARCHAR) as author_account_key,
        pr.author_login as author_handle,
        coalesce(pr.author_type = 'Bot', false) as is_source_bot,
        pr.head_sha,
        -- Squash and rebase merges: the commit GitHub put on the base branch.
        pr.merge_commit_sha,
        null::VARCHAR as squash_commit_sha,
        pr.additions,
        pr.deletions,
        pr.changed_files,
        pr.created_at,
        -- A reopened PR is open again: the source may keep its last closing time.
        case when pr.state != 'open' then pr.closed_at end as closed_at,
        case when pr.is_merged then pr.merged_at end as merged_at
    from {{ ref('stg_github__pull_requests') }} as pr
),

gitlab_commit_sizes as (
    select
        mr_commits.connection_id,
        mr_commits.project_id,
        mr_commits.merge_request_iid,
        sum(commits.additions) as additions,
        sum(commits.deletions) as deletions
    from {{ ref('stg_gitlab__mr_commits') }} as mr_commits
    inner join {{ ref('stg_gitlab__commits') }} as commits
        using (connection_id, project_id, sha)
    group by all
),

gitlab as (
    select
        'gitlab' as source,
        mr.connection_id,
        'gitlab:' || mr.connection_id || ':' || mr.merge_request_id as pull_request_key,
        'gitlab:' || mr.connection_id || ':' || mr.project_id as repository_key,
        mr.project_id as repository_id,
        mr.iid as number,
        mr.title,
        mr.labels,
        mr.source_branch as head_ref,
        mr.target_branch as base_ref,
        cast(mr.author_id as VARCHAR) as author_account_key,
        mr.author_username as author_handle,
        false as is_source_bot,
        mr.head_sha,
        mr.merge_commit_sha,
        mr.squash_commit_sha,
        sizes.additions,
        sizes.deletions,
        mr.changes_count as changed_files,
        mr.created_at,
        case when mr.state != 'opened' then mr.closed_at end as closed_at,
        case when mr.state = 'merged' or mr.merged_at is not null then mr.merged_at end as merged_at
    from {{ ref('stg_gitlab__merge_requests') }} as mr
    left join gitlab_commit_sizes as sizes
        on mr.connection_id = sizes.connection_id
        and mr.project_id = sizes.project_id
        and mr.iid = sizes.merge_request_iid
),

-- Bitbucket Cloud pull requests. The API abbreviates head and merge shas: they are resolved
-- against the commits read. It gives no merge or close time: the merge commit's time, else the
-- last update, stands for it. No line counts (they would cost a diffstat request per PR).
bitbucket as (
    select
        'bitbucket' as source,
        pr.connection_id,
        'bitbucket:' || pr.connection_id || ':' || pr.repository_uuid || ':' || pr.number
            as pull_request_key,
        'bitbucket:' || pr.connection_id || ':' || pr.repository_uuid as repository_key,
        pr.repository_uuid as repository_id,
        pr.number,
        pr.title,
        []::VARCHAR[] as labels,
        pr.source_branch as head_ref,
        pr.destination_branch as base_ref,
        pr.author_account_id as author_account_key,
        null::VARCHAR as author_handle,
        false as is_source_bot,
        coalesce(head.sha, pr.head_sha) as head_sha,
        coalesce(merge.sha, pr.merge_commit_sha) as merge_commit_sha,
        null::VARCHAR as squash_commit_sha,
        null::INTEGER as additions,
        null::INTEGER as deletions,
        null::INTEGER as changed_files,
        pr.created_at,
        case when pr.state != 'OPEN' then coalesce(merge.committed_at, pr.updated_at) end
            as closed_at,
        case when pr.state = 'MERGED' then coalesce(merge.committed_at, pr.updated_at) end
            as merged_at
    from {{ ref('stg_bitbucket__pull_requests') }} as pr
    left join {{ ref('stg_bitbucket__pr_commits') }} as head
        on pr.connection_id = head.connection_id
        and pr.repository_uuid = head.repository_uuid
        and pr.number = head.pull_request_number
        and starts_with(head.sha, pr.head_sha)
    left join {{ ref('stg_bitbucket__commits') }} as merge
        on pr.connection_id = merge.connection_id
        and pr.repository_uuid = merge.repository_uuid
        and starts_with(merge.sha, pr.merge_commit_sha)
),

-- Azure DevOps: a completed pull request is merged when it closes; sizes are not read.
azuredevops as (
    select
        'azuredevops' as source,
        pr.connection_id,
        'azuredevops:' || pr.connection_id || ':' || pr.pull_request_id as pull_request_key,
        'azuredevops:' || pr.connection_id || ':' || pr.repository_id as repository_key,
        pr.repository_id,
        pr.pull_request_id as number,
        pr.title,
        pr.labels,
        pr.source_branch as head_ref,
        pr.target_branch as base_ref,
        pr.author_id as author_account_key,
        pr.author_unique_name as author_handle,
        false as is_source_bot,
        pr.source_commit_id as head_sha,
        -- What the completion put on the target branch, whatever the merge strategy.
        pr.merge_commit_id as merge_commit_sha,
        null::VARCHAR as squash_commit_sha,
        null::BIGINT as additions,
        null::BIGINT as deletions,
        null::INTEGER as changed_files,
        pr.created_at,
        case when pr.status != 'active' then pr.closed_at end as closed_at,
        case when pr.status = 'completed' then pr.closed_at end as merged_at
    from {{ ref('stg_azuredevops__pull_requests') }} as pr
),

unioned as (
    select * from github
    union all
    select * from gitlab
    union all
    select * from bitbucket
    union all
    select * from azuredevops
),

-- The service whose paths a GitHub PR changed most (files, then lines; ties by name), from
-- the changed files reduced to counts per service at extraction (the org's path rules).
service_by_paths as (
    select
        'github:' || connection_id || ':' || repository_id || ':' || pull_number as pr_ref,
        arg_min(
            service_name,
            (-files_changed, -(additions + deletions), service_name)
        ) as service_name
    from {{ ref('stg_github__pull_request_services') }}
    group by all
),

-- Otherwise a PR belongs to a configured service of its repository when it carries the
-- service's name (or "service:<name>") as a label, or its branch starts with "<name>/".
service_by_labels as (
    select
        unioned.pull_request_key,
        min(services.service_name) as service_name
    from unioned
    inner join {{ ref('int_services') }} as services using (repository_key)
    where list_has_any(
            list_transform(unioned.labels, l -> lower(l)),
            [lower(services.service_name), 'service:' || lower(services.service_name)]
        )
        or starts_with(lower(unioned.head_ref), lower(services.service_name) || '/')
    group by all
),

service_matches as (
    select
        unioned.pull_request_key,
        coalesce(by_paths.service_name, by_labels.service_name) as service_name
    from unioned
    left join service_by_paths as by_paths
        on by_paths.pr_ref = unioned.source || ':' || unioned.connection_id || ':'
        || unioned.repository_id || ':' || unioned.number
    left join service_by_labels as by_labels using (pull_request_key)
    where coalesce(by_paths.service_name, by_labels.service_name) is not null
)

select
    unioned.pull_request_key,
    unioned.source,
    unioned.connection_id,
    unioned.repository_key,
    coalesce(repositories.repository, cast(unioned.repository_id as VARCHAR)) as repository,
    service_matches.service_name,
    unioned.number,
    unioned.title,
    unioned.labels,
    accounts.person_id as author_person_id,
    accounts.team,
    coalesce(accounts.is_bot, false)
        or unioned.is_source_bot
        or {{ matches_any('unioned.author_handle', var('bot_patterns')) }} as is_bot,
    {{ matches_any('unioned.title', [var('revert_title_pattern')]) }} as is_revert,
    {{ has_any_label('unioned.labels', var('hotfix_labels')) }} as is_hotfix,
    -- A merge is a change to production when it lands on the default branch or a release
    -- branch (var release_branch_patterns); an unknown branch counts as production.
    coalesce(unioned.base_ref = repositories.default_branch, true)
        or {{ matches_any('unioned.base_ref', var('release_branch_patterns')) }}
        as is_production_branch,
    unioned.head_sha,
    unioned.merge_commit_sha,
    unioned.squash_commit_sha,
    unioned.additions,
    unioned.deletions,
    unioned.changed_files,
    unioned.created_at,
    unioned.closed_at,
    unioned.merged_at
from unioned
left join {{ ref('int_repositories') }} as repositories using (repository_key)
left join {{ ref('int_person_accounts') }} as accounts
    on accounts.system = unioned.source
    and accounts.account_key = unioned.author_account_key
left join service_matches using (pull_request_key)
