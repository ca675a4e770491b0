-- Why a production deployment failed (required immediate intervention), and when it was
-- recovered. Three signals, each bounded in time:
--   incident: an incident (int_incidents: a labelled Jira issue or a tool's) is blamed on
--             the last production deployment that finished at most
--             incident_attribution_hours before it started, among the services /
--             repositories its labels name; an incident naming none is blamed only if a single
--             service or repository deployed in that window, unless it names its service (a
--             tool's incident: blamed on nothing when its service deployed nothing). Recovered
--             when it is resolved.
--   revert:   a merged PR titled like revert_title_pattern reverts the latest earlier-merged PR
--             of the same repository with the quoted title; if that PR was deployed before the
--             revert merged, the deployment that shipped it failed; recovered when the revert is
--             deployed (or merged, until deployed). A change reverted before it ever shipped
--             failed nothing.
--   hotfix:   a merged PR with a hotfix label remediates the last deployment of its repository
--             (and service) that finished at most incident_attribution_hours before the PR was
--             opened; recovered when the hotfix is deployed (or merged, until deployed).
with deployments as (
    select * from {{ ref('int_deployments') }}
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
    select connection_id || ':' || incident_id as incident_uid, *
    from {{ ref('int_incidents') }}
),

-- Incidents whose labels name a deployed service (by name) or repository (by short name) are
-- blamed on that one's deployments only.
incident_labels as (
    select incident_uid, lower(unnest(labels)) as label
    from incidents
),

named as (
    select distinct incident_labels.incident_uid, deployments.deployment_key
    from incident_labels
    inner join deployments
        on incident_labels.label = lower(deployments.service_name)
        or incident_labels.label = lower(split_part(deployments.repository, '/', -1))
),

-- The deployments that finished at most incident_attribution_hours before each incident
-- started: those it names, or, when it names none, every deployment of the organization.
candidates as (
    select
        incidents.incident_uid,
        incidents.started_at,
        incidents.resolved_at,
        deployments.deployment_key,
        deployments.deployed_at,
        coalesce(deployments.service_name, deployments.repository_key) as deployed_scope,
        named.deployment_key is not null as is_named
    from incidents
    inner join deployments
        on deployments.deployed_at <= incidents.started_at
        and deployments.deployed_at
            >= incidents.started_at - to_hours({{ var('incident_attribution_hours') }})
    left join named
        on named.incident_uid = incidents.incident_uid
        and named.deployment_key = deployments.deployment_key
    where named.deployment_key is not null
        or (not incidents.names_its_service
            and incidents.incident_uid not in (
                select named_incidents.incident_uid from named as named_incidents
            ))
),

-- The last candidate is blamed. An incident that names nothing is blamed only when one
-- service (or repository) alone deployed in the window: otherwise nothing says which broke.
incident_failures as (
    select
        arg_max(deployment_key, deployed_at) as deployment_key,
        'incident' as failure_kind,
        any_value(started_at) as detected_at,
        any_value(resolved_at) as recovered_at,
        null::VARCHAR as remediation_pull_request_key
    from candidates
    group by incident_uid
    having bool_or(is_named) or count(distinct deployed_scope) = 1
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
        any_value(reverts.remediated_at) as recovered_at,
        reverts.pull_request_key as remediation_pull_request_key
    from reverts
    inner join prs as reverted
        on reverted.repository_key = reverts.repository_key
        and reverted.title = reverts.reverted_title
        and reverted.merged_at < reverts.merged_at
    where reverted.deployed_at < reverts.merged_at
    group by reverts.pull_request_key
),

hotfix_failures as (
    select
        arg_max(deployments.deployment_key, deployments.deployed_at) as deployment_key,
        'hotfix' as failure_kind,
        any_value(hotfixes.created_at) as detected_at,
        any_value(coalesce(hotfixes.deployed_at, hotfixes.merged_at)) as recovered_at,
        hotfixes.pull_request_key as remediation_pull_request_key
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
