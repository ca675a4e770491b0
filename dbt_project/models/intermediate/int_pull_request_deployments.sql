-- Each merged PR's first production deployment: the earliest deployment (of its service, or
-- of the whole repository) whose shipped changes reach the PR's merge. Only merges into a
-- production branch (default or release branch) are ever deployed.
with deployments as (
    select * from {{ ref('int_deployments') }}
),

-- Which PRs a deployment can ship, as (repository, service key) targets: a service's
-- deployment ships that service's PRs; any deployment ships PRs that belong to no service; a
-- whole-repository deployment ships every service's PRs.
targets as (
    select repository_key, service_name as service_key, deployment_key, deployed_at,
        includes_changes_until
    from deployments
    where service_name is not null
    union all
    select repository_key, '*' as service_key, deployment_key, deployed_at,
        includes_changes_until
    from deployments
    union all
    select deployments.repository_key, services.service_name, deployments.deployment_key,
        deployments.deployed_at, deployments.includes_changes_until
    from deployments
    inner join {{ ref('int_services') }} as services using (repository_key)
    where deployments.service_name is null
),

-- For each target row: the earliest deployment among those that include at least as much.
earliest_covering as (
    select
        repository_key,
        service_key,
        includes_changes_until,
        min(deployed_at) over covering as first_deployed_at,
        arg_min(deployment_key, deployed_at) over covering as first_deployment_key
    from targets
    window covering as (
        partition by repository_key, service_key
        order by includes_changes_until desc
        range between unbounded preceding and current row
    )
),

-- Deployments are known from a repository's first one on. A PR merged more than
-- first_deployment_lookback_days before it went out in deployments Sieve never saw: none of
-- the known ones ships it (else the first deployment would ship years of history).
deployments_known_since as (
    select
        repository_key,
        min(deployed_at) - to_days({{ var('first_deployment_lookback_days') }}) as known_since
    from deployments
    group by all
),

merged as (
    select
        prs.pull_request_key,
        prs.repository_key,
        coalesce(prs.service_name, '*') as service_key,
        prs.merged_at
    from {{ ref('int_pull_requests') }} as prs
    inner join deployments_known_since using (repository_key)
    where prs.merged_at is not null
        and prs.is_production_branch
        and prs.merged_at >= deployments_known_since.known_since
)

select
    merged.pull_request_key,
    earliest_covering.first_deployment_key as deployment_key,
    earliest_covering.first_deployed_at as deployed_at
from merged
asof inner join earliest_covering
    on merged.repository_key = earliest_covering.repository_key
    and merged.service_key = earliest_covering.service_key
    and merged.merged_at <= earliest_covering.includes_changes_until
