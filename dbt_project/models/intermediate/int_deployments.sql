-- Successful production deployments from every source the organization uses, one row each.
--
-- What counts (vars production_environments / production_workflow_names /
-- production_tag_patterns): a GitHub or GitLab deployment to a production environment that
-- reached "success" (failed, errored, skipped, cancelled or still running ones never count); a
-- successful run of a production deploy workflow; a published, non-draft, non-prerelease
-- release (or a successful tag pipeline on GitLab) whose tag is a production tag. Once a
-- repository reports deployments through the deployments API, it is counted from those only,
-- else (once it has deploy workflow runs) from those, else from release tags, so one
-- deployment is never counted twice — and a repository that switches source keeps the
-- deployments it made before the switch.
with github_succeeded as (
    select
        connection_id,
        deployment_id,
        min(created_at) filter (where state = 'success') as succeeded_at
    from {{ ref('stg_github__deployment_statuses') }}
    group by all
),

github_deployments as (
    select
        'github:' || deployments.connection_id || ':deployment:' || deployments.deployment_id
            as deployment_key,
        'github' as source,
        'deployment' as kind,
        1 as source_priority,
        'github:' || deployments.connection_id || ':' || deployments.repository_id
            as repository_key,
        deployments.environment,
        deployments.ref,
        null::VARCHAR as workflow_name,
        deployments.sha,
        succeeded.succeeded_at as deployed_at
    from {{ ref('stg_github__deployments') }} as deployments
    inner join github_succeeded as succeeded using (connection_id, deployment_id)
    where succeeded.succeeded_at is not null
        and ({{ matches_any('deployments.environment', var('production_environments')) }}
            or coalesce(deployments.is_production_environment, false))
),

github_workflow_runs as (
    select
        'github:' || connection_id || ':workflow_run:' || workflow_run_id as deployment_key,
        'github' as source,
        'workflow_run' as kind,
        2 as source_priority,
        'github:' || connection_id || ':' || repository_id as repository_key,
        null::VARCHAR as environment,
        head_branch as ref,
        workflow_name,
        head_sha as sha,
        updated_at as deployed_at
    from {{ ref('stg_github__workflow_runs') }}
    where status = 'completed'
        and conclusion = 'success'
        and {{ matches_any('workflow_name', var('production_workflow_names')) }}
),

github_releases as (
    select
        'github:' || releases.connection_id || ':release:' || releases.release_id
            as deployment_key,
        'github' as source,
        'release' as kind,
        3 as source_priority,
        'github:' || releases.connection_id || ':' || releases.repository_id as repository_key,
        null::VARCHAR as environment,
        releases.tag_name as ref,
        null::VARCHAR as workflow_name,
        tags.commit_sha as sha,
        releases.published_at as deployed_at
    from {{ ref('stg_github__releases') }} as releases
    left join {{ ref('stg_github__tags') }} as tags using (connection_id, repository_id, tag_name)
    where not releases.is_draft
        and not releases.is_prerelease
        and releases.published_at is not null
        and {{ matches_any('releases.tag_name', var('production_tag_patterns')) }}
),

gitlab_deployments as (
    select
        'gitlab:' || connection_id || ':deployment:' || deployment_id as deployment_key,
        'gitlab' as source,
        'deployment' as kind,
        1 as source_priority,
        'gitlab:' || connection_id || ':' || project_id as repository_key,
        environment_name as environment,
        ref,
        null::VARCHAR as workflow_name,
        sha,
        coalesce(finished_at, updated_at) as deployed_at
    from {{ ref('stg_gitlab__deployments') }}
    where status = 'success'
        and {{ matches_any('environment_name', var('production_environments')) }}
),

gitlab_tag_pipelines as (
    select
        'gitlab:' || connection_id || ':pipeline:' || pipeline_id as deployment_key,
        'gitlab' as source,
        'tag_pipeline' as kind,
        3 as source_priority,
        'gitlab:' || connection_id || ':' || project_id as repository_key,
        null::VARCHAR as environment,
        ref,
        null::VARCHAR as workflow_name,
        sha,
        coalesce(finished_at, created_at) as deployed_at
    from {{ ref('stg_gitlab__pipelines') }}
    where is_tag
        and status = 'success'
        and {{ matches_any('ref', var('production_tag_patterns')) }}
),

-- Bitbucket Cloud: a completed, successful deployment to a production environment (by name,
-- or of Bitbucket's Production type).
bitbucket_deployments as (
    select
        'bitbucket:' || deployments.connection_id || ':deployment:' || deployments.deployment_uuid
            as deployment_key,
        'bitbucket' as source,
        'deployment' as kind,
        1 as source_priority,
        'bitbucket:' || deployments.connection_id || ':' || deployments.repository_uuid
            as repository_key,
        environments.environment_name as environment,
        null::VARCHAR as ref,
        null::VARCHAR as workflow_name,
        deployments.commit_sha as sha,
        deployments.completed_at as deployed_at
    from {{ ref('stg_bitbucket__deployments') }} as deployments
    left join {{ ref('stg_bitbucket__environments') }} as environments
        using (connection_id, environment_uuid)
    where deployments.state = 'COMPLETED'
        and deployments.status = 'SUCCESSFUL'
        and deployments.completed_at is not null
        and ({{ matches_any('environments.environment_name', var('production_environments')) }}
            or environments.environment_type = 'Production')
),

-- Azure DevOps: a succeeded run of a production deploy pipeline (var
-- production_workflow_names) that built an Azure Repos repository: a workflow run, as GitHub
-- Actions runs are.
azuredevops_pipeline_runs as (
    select
        'azuredevops:' || connection_id || ':build:' || build_id as deployment_key,
        'azuredevops' as source,
        'workflow_run' as kind,
        2 as source_priority,
        'azuredevops:' || connection_id || ':' || repository_id as repository_key,
        null::VARCHAR as environment,
        source_branch as ref,
        definition_name as workflow_name,
        source_version as sha,
        finished_at as deployed_at
    from {{ ref('stg_azuredevops__builds') }}
    where repository_type = 'TfsGit'
        and result = 'succeeded'
        and finished_at is not null
        and {{ matches_any('definition_name', var('production_workflow_names')) }}
),

unioned as (
    select * from github_deployments
    union all
    select * from github_workflow_runs
    union all
    select * from github_releases
    union all
    select * from gitlab_deployments
    union all
    select * from gitlab_tag_pipelines
    union all
    select * from bitbucket_deployments
    union all
    select * from azuredevops_pipeline_runs
),

source_starts as (
    select repository_key, source_priority, min(deployed_at) as first_deployed_at
    from unioned
    group by all
),

-- A source is superseded by a preferred one from that one's first deployment on.
superseded as (
    select distinct unioned.deployment_key
    from unioned
    inner join source_starts
        on unioned.repository_key = source_starts.repository_key
        and unioned.source_priority > source_starts.source_priority
        and unioned.deployed_at >= source_starts.first_deployed_at
),

preferred as (
    select unioned.*
    from unioned
    left join superseded using (deployment_key)
    where superseded.deployment_key is null
),

-- A deployment belongs to a configured service of its repository when the service's name
-- appears in its environment, ref/tag or workflow name; otherwise to the whole repository.
service_matches as (
    select
        preferred.deployment_key,
        min(services.service_name) as service_name
    from preferred
    inner join {{ ref('int_services') }} as services using (repository_key)
    where contains(
        lower(concat_ws(' ', preferred.environment, preferred.ref, preferred.workflow_name)),
        lower(services.service_name)
    )
    group by all
),

-- When the deployed sha is known, changes merged up to the moment that commit landed are in
-- the deployment: the merge commit of a PR (squash and rebase merges included), else the
-- commit's own time. Without a sha, everything merged before the deployment is.
landed_shas as (
    select repository_key, merge_commit_sha as sha, merged_at from {{ ref('int_pull_requests') }}
    where merged_at is not null and is_production_branch and merge_commit_sha is not null
    union all
    select repository_key, squash_commit_sha, merged_at from {{ ref('int_pull_requests') }}
    where merged_at is not null and is_production_branch and squash_commit_sha is not null
    union all
    select repository_key, head_sha, merged_at from {{ ref('int_pull_requests') }}
    where merged_at is not null and is_production_branch and head_sha is not null
),

landed as (
    select repository_key, sha, max(merged_at) as landed_at
    from landed_shas
    group by all
),

commit_times as (
    select
        'github:' || connection_id || ':' || repository_id as repository_key,
        sha,
        max(committed_at) as committed_at
    from {{ ref('stg_github__commits') }}
    group by all
    union all
    select
        'gitlab:' || connection_id || ':' || project_id as repository_key,
        sha,
        max(committed_at) as committed_at
    from {{ ref('stg_gitlab__commits') }}
    group by all
    union all
    -- Bitbucket Cloud: its main branch's commits (pull request branches are not read).
    select
        'bitbucket:' || connection_id || ':' || repository_uuid as repository_key,
        sha,
        max(committed_at) as committed_at
    from {{ ref('stg_bitbucket__commits') }}
    group by all
)

select
    preferred.deployment_key,
    preferred.source,
    preferred.kind,
    preferred.repository_key,
    repositories.repository,
    service_matches.service_name,
    preferred.environment,
    preferred.sha,
    preferred.deployed_at,
    least(coalesce(landed.landed_at, commit_times.committed_at, preferred.deployed_at),
          preferred.deployed_at) as includes_changes_until
from preferred
left join {{ ref('int_repositories') }} as repositories using (repository_key)
left join service_matches using (deployment_key)
left join landed using (repository_key, sha)
left join commit_times using (repository_key, sha)
