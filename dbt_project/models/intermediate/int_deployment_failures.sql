-- Why a production deployment failed (required immediate intervention), and when it was
-- recovered. Three signals, each bounded in time:
--   incident: a Jira incident is blamed on the last production deployment that finished at
--             most incident_attribution_hours before it started (restricted to the services /
--             repositories its labels name, if any); recovered when the incident is resolved.
--   revert:   a merged PR titled like revert_title_pattern reverts the latest earlier-merged PR
--             of the same repository with the quoted title; the deployment that shipped that PR
--             failed; recovered when the revert is deployed (or merged, until deployed).
--   hotfix:   a merged PR with a hotfix label remediates the last deployment of its repository
--             (and service) that finished at most incident_attribution_hours before the PR was
--             opened; recovered when the hotfix is deployed (or merged, until deployed).
with deployments as (
    select
        *,
        coalesce(service_name, split_part(repository, '/', -1)) as service_label
    from {{ ref('int_deployments') }}
),

prs as (
    select
        prs.*,
        shipped.deployment_key,
        shipped.deployed_at
    from {{ ref('int_pull_requests') }} as prs
    left join {{ ref('int_pull_request_deployments') }} as shipped using (pull_request_key)
),

incidents as (
    select connection_id || ':' || issue_id as incident_uid, *
    from {{ ref('int_incidents') }}
),

-- Incidents whose labels name a deployed service or repository are blamed on that one only.
incident_services as (
    select distinct incidents.incident_uid, services.service_label
    from (select incident_uid, lower(unnest(labels)) as label from incidents) as incidents
    inner join (select distinct lower(service_label) as service_label from deployments)
        as services
        on services.service_label = incidents.label
),

blamed_by_name as (
    select incidents.incident_uid, incidents.started_at, incidents.resolved_at,
        deployments.deployment_key, deployments.deployed_at
    from (
        select incidents.*, incident_services.service_label
        from incidents
        inner join incident_services using (incident_uid)
    ) as incidents
    asof inner join (select *, lower(service_label) as label from deployments) as deployments
        on incidents.service_label = deployments.label
        and incidents.started_at >= deployments.deployed_at
),

blamed_by_time as (
    select incidents.incident_uid, incidents.started_at, incidents.resolved_at,
        deployments.deployment_key, deployments.deployed_at
    from (
        select * from incidents
        where incident_uid not in (select incident_services.incident_uid from incident_services)
    ) as incidents
    asof inner join deployments
        on incidents.started_at >= deployments.deployed_at
),

incident_failures as (
    select
        arg_max(deployment_key, deployed_at) as deployment_key,
        'incident' as failure_kind,
        any_value(started_at) as detected_at,
        any_value(resolved_at) as recovered_at
    from (
        select * from blamed_by_name
        union all
        select * from blamed_by_time
    ) as blamed
    -- The last deployment before the incident, and only if recent enough to be the cause.
    where deployed_at >= started_at - to_hours({{ var('incident_attribution_hours') }})
    group by incident_uid
),

reverts as (
    select
        pull_request_key,
        repository_key,
        merged_at,
        coalesce(deployed_at, merged_at) as remediated_at,
        regexp_extract(title, '^Revert "(.*)"$', 1) as reverted_title
    from prs
    where is_revert and merged_at is not null
),

revert_failures as (
    select
        arg_max(reverted.deployment_key, reverted.merged_at) as deployment_key,
        'revert' as failure_kind,
        any_value(reverts.merged_at) as detected_at,
        any_value(reverts.remediated_at) as recovered_at
    from reverts
    inner join prs as reverted
        on reverted.repository_key = reverts.repository_key
        and reverted.title = reverts.reverted_title
        and reverted.merged_at < reverts.merged_at
    where reverted.deployment_key is not null
    group by reverts.pull_request_key
),

hotfix_failures as (
    select
        arg_max(deployments.deployment_key, deployments.deployed_at) as deployment_key,
        'hotfix' as failure_kind,
        any_value(hotfixes.created_at) as detected_at,
        any_value(coalesce(hotfixes.deployed_at, hotfixes.merged_at)) as recovered_at
    from prs as hotfixes
    inner join deployments
        on deployments.repository_key = hotfixes.repository_key
        and (hotfixes.service_name is null
            or deployments.service_name is null
            or deployments.service_name = hotfixes.service_name)
        and deployments.deployed_at <= hotfixes.created_at
        and deployments.deployed_at
            >= hotfixes.created_at - to_hours({{ var('incident_attribution_hours') }})
    where hotfixes.is_hotfix and hotfixes.merged_at is not null
    group by hotfixes.pull_request_key
)

select * from incident_failures
union all
select * from revert_failures
union all
select * from hotfix_failures
