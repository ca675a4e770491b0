-- One row per successful production deployment: what it shipped, how long those changes
-- took to reach production, whether it failed (required immediate intervention) and when it
-- was recovered, and whether it was itself rework (shipped a revert or a hotfix).
with deployments as (
    select * from {{ ref('int_deployments') }}
),

-- PRs that remediated a failed deployment (a revert of a deployed change, a hotfix).
remediations as (
    select distinct remediation_pull_request_key as pull_request_key
    from {{ ref('int_deployment_failures') }}
    where remediation_pull_request_key is not null
),

changes as (
    select
        shipped.deployment_key,
        count(*) as change_count,
        count(*) filter (where prs.is_bot) as bot_change_count,
        -- Change lead time (DORA): first commit → running in production; bots' changes
        -- (dependency bumps merged in seconds) are left out.
        {{ median('prs.cycle_hours') }} filter (where not prs.is_bot) as lead_time_median_hours,
        max(prs.cycle_hours) filter (where not prs.is_bot) as lead_time_max_hours,
        -- A revert is rework when it remediated a deployed change, a hotfix always.
        bool_or(prs.is_hotfix or remediations.pull_request_key is not null) as ships_remediation
    from {{ ref('int_pull_request_deployments') }} as shipped
    inner join {{ ref('pull_requests') }} as prs using (pull_request_key)
    left join remediations using (pull_request_key)
    group by all
),

failures as (
    select
        deployment_key,
        list(distinct failure_kind order by failure_kind) as failure_kinds,
        min(detected_at) as failure_detected_at,
        -- Recovered when its first remediation landed: later signals (a second incident, a
        -- ticket left open) do not extend the recovery of the one failed deployment.
        min(recovered_at) as recovered_at
    from {{ ref('int_deployment_failures') }}
    group by all
)

select
    deployments.deployment_key,
    deployments.source,
    deployments.kind,
    deployments.repository,
    coalesce(deployments.service_name, deployments.repository) as service,
    deployments.environment,
    deployments.deployed_at,
    coalesce(changes.change_count, 0) as change_count,
    coalesce(changes.bot_change_count, 0) as bot_change_count,
    changes.lead_time_median_hours,
    changes.lead_time_max_hours,
    failures.deployment_key is not null as is_failed,
    coalesce(failures.failure_kinds, []::VARCHAR[]) as failure_kinds,
    failures.failure_detected_at,
    failures.recovered_at,
    {{ hours_between('deployments.deployed_at', 'failures.recovered_at') }} as recovery_hours,
    coalesce(changes.ships_remediation, false) as is_rework
from deployments
left join changes using (deployment_key)
left join failures using (deployment_key)
