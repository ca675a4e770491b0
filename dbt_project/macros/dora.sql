{#- The five DORA software delivery metrics per period ('week' or 'month'), for the whole
    organization, each team and each service; see docs/metrics.md for definitions and limits. -#}
{% macro dora_metrics(period) %}
with deployments as (
    select * from {{ ref('deployments') }}
),

-- Human changes that reached production, with the deployment that first shipped them.
changes as (
    select
        prs.team,
        prs.cycle_hours as lead_time_hours,
        deployments.service,
        deployments.deployed_at
    from {{ ref('pull_requests') }} as prs
    inner join deployments using (deployment_key)
    where not prs.is_bot
),

-- A deployment counts for every team whose (human) changes it shipped.
deployment_teams as (
    select distinct prs.deployment_key, prs.team
    from {{ ref('pull_requests') }} as prs
    where prs.deployment_key is not null and prs.team is not null and not prs.is_bot
),

scoped_deployments as (
    select 'organization' as grouping_level, null::VARCHAR as team, null::VARCHAR as service,
        deployments.*
    from deployments
    union all
    select 'team', deployment_teams.team, null, deployments.*
    from deployments
    inner join deployment_teams using (deployment_key)
    union all
    select 'service', null, deployments.service, deployments.*
    from deployments
),

scoped_changes as (
    select 'organization' as grouping_level, null::VARCHAR as team, null::VARCHAR as service,
        lead_time_hours, deployed_at
    from changes
    union all
    select 'team', team, null, lead_time_hours, deployed_at
    from changes
    where team is not null
    union all
    select 'service', null, service, lead_time_hours, deployed_at
    from changes
),

period_starts as (
    select cast(unnest(generate_series(
        date_trunc('{{ period }}', min(deployed_at)),
        date_trunc('{{ period }}', greatest(max(deployed_at), {{ as_of() }})),
        interval 1 {{ period }}
    )) as date) as period_start
    from deployments
),

-- The period of as_of is partial: rates divide by the days of it that have begun by as_of.
periods as (
    select
        period_start,
        {{ as_of() }} < period_start + interval 1 {{ period }} as is_partial_period,
        greatest(1, cast(ceil({{ hours_between(
            'period_start',
            'least(period_start + interval 1 ' ~ period ~ ', ' ~ as_of() ~ ')'
        ) }} / 24) as INTEGER)) as elapsed_days
    from period_starts
),

spine as (
    select
        groups.grouping_level,
        groups.team,
        groups.service,
        periods.period_start,
        periods.is_partial_period,
        periods.elapsed_days
    from (select distinct grouping_level, team, service from scoped_deployments) as groups
    cross join periods
),

deployment_stats as (
    select
        grouping_level,
        team,
        service,
        cast(date_trunc('{{ period }}', deployed_at) as date) as period_start,
        count(*) as deployment_count,
        count(distinct cast(deployed_at as date)) as deployment_days,
        count(*) filter (where is_failed) as failed_deployment_count,
        count(*) filter (where is_rework) as rework_deployment_count,
        {{ median('recovery_hours') }} filter (where is_failed) as recovery_median_hours
    from scoped_deployments
    group by all
),

lead_time_stats as (
    select
        grouping_level,
        team,
        service,
        cast(date_trunc('{{ period }}', deployed_at) as date) as period_start,
        count(*) as change_count,
        {{ median('lead_time_hours') }} as lead_time_median_hours,
        {{ percentile('lead_time_hours', 0.75) }} as lead_time_p75_hours
    from scoped_changes
    group by all
),

metrics as (
    select
        spine.period_start,
        spine.grouping_level,
        spine.team,
        spine.service,
        spine.is_partial_period,
        spine.elapsed_days,
        coalesce(deployment_stats.deployment_count, 0) as deployment_count,
        coalesce(deployment_stats.deployment_days, 0) as deployment_days,
        coalesce(deployment_stats.deployment_count, 0) / spine.elapsed_days
            as deployments_per_day,
        coalesce(lead_time_stats.change_count, 0) as change_count,
        lead_time_stats.lead_time_median_hours,
        lead_time_stats.lead_time_p75_hours,
        coalesce(deployment_stats.failed_deployment_count, 0) as failed_deployment_count,
        deployment_stats.failed_deployment_count / deployment_stats.deployment_count
            as change_fail_rate,
        deployment_stats.recovery_median_hours as failed_deployment_recovery_median_hours,
        coalesce(deployment_stats.rework_deployment_count, 0) as rework_deployment_count,
        deployment_stats.rework_deployment_count / deployment_stats.deployment_count
            as deployment_rework_rate
    from spine
    left join deployment_stats
        on spine.grouping_level = deployment_stats.grouping_level
        and spine.team is not distinct from deployment_stats.team
        and spine.service is not distinct from deployment_stats.service
        and spine.period_start = deployment_stats.period_start
    left join lead_time_stats
        on spine.grouping_level = lead_time_stats.grouping_level
        and spine.team is not distinct from lead_time_stats.team
        and spine.service is not distinct from lead_time_stats.service
        and spine.period_start = lead_time_stats.period_start
)

select
    *,
    {{ dora_band_deployment_frequency('deployment_days', 'elapsed_days') }}
        as deployment_frequency_band,
    {{ dora_band_lead_time('lead_time_median_hours') }} as lead_time_band,
    {{ dora_band_change_fail_rate('change_fail_rate') }} as change_fail_rate_band,
    {{ dora_band_recovery_time('failed_deployment_recovery_median_hours') }} as recovery_time_band
from metrics
{% endmacro %}

{#- DORA performance bands (2023 Accelerate State of DevOps report; sources in
    docs/metrics.md). Null when the period has nothing to judge. -#}

{#- How often the team deploys, as DORA asks it: deployment days, not deployments, per 7 elapsed
    days — elite on demand (≥ 5, every working day), high between daily and weekly (≥ 1), medium
    between weekly and monthly (any deployment day in a period of at most a month), else low. -#}
{% macro dora_band_deployment_frequency(deployment_days, elapsed_days) -%}
    case
        when {{ deployment_days }} * 7 >= 5 * {{ elapsed_days }} then 'elite'
        when {{ deployment_days }} * 7 >= {{ elapsed_days }} then 'high'
        when {{ deployment_days }} >= 1 then 'medium'
        else 'low'
    end
{%- endmacro %}

{% macro dora_band_lead_time(hours) -%}
    case
        when {{ hours }} is null then null
        when {{ hours }} < 24 then 'elite'
        when {{ hours }} < 24 * 7 then 'high'
        when {{ hours }} < 24 * 30 then 'medium'
        else 'low'
    end
{%- endmacro %}

{% macro dora_band_change_fail_rate(rate) -%}
    case
        when {{ rate }} is null then null
        when {{ rate }} <= 0.05 then 'elite'
        when {{ rate }} <= 0.10 then 'high'
        when {{ rate }} <= 0.15 then 'medium'
        else 'low'
    end
{%- endmacro %}

{% macro dora_band_recovery_time(hours) -%}
    case
        when {{ hours }} is null then null
        when {{ hours }} < 1 then 'elite'
        when {{ hours }} < 24 then 'high'
        when {{ hours }} < 24 * 7 then 'medium'
        else 'low'
    end
{%- endmacro %}
