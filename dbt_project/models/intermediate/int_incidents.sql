-- Production incidents from one kind of source, never both (var incident_source; the rule is in
-- docs/metrics.md, "Incidents"):
--   issues: Jira issues of an incident type (var incident_issue_types) or carrying an incident
--           label (var incident_labels); labels name the services/repositories they concern.
--   tools:  PagerDuty incidents; each names its service, mapped to deployed services or
--           repositories by var incident_services, else by its own name.
--   auto:   the tools' incidents when an incident tool has reported any, else issues.
-- Started when created (triggered), acknowledged and recovered (resolved) when the tool says.
with issue_incidents as (
    select
        connection_id,
        issue_id as incident_id,
        'jira' as incident_source,
        issue_key,
        labels,
        false as names_its_service,
        created_at as started_at,
        null::TIMESTAMP as acknowledged_at,
        resolved_at
    from {{ ref('stg_jira__issues') }}
    where lower(issue_type) in (
            select lower(unnest({{ sql_string_list(var('incident_issue_types')) }}))
        )
        or {{ has_any_label('labels', var('incident_labels')) }}
),

pagerduty_timing as (
    select
        connection_id,
        incident_id,
        min(created_at) filter (where action = 'acknowledge') as acknowledged_at,
        min(created_at) filter (where action = 'resolve') as resolved_at
    from {{ ref('stg_pagerduty__log_entries') }}
    group by connection_id, incident_id
),

mapped_services as (
    select
        tool_service_name,
        list(scope order by scope) as scopes
    from ({{ incident_services_relation() }}) as incident_services
    group by tool_service_name
),

tool_incidents as (
    select
        incidents.connection_id,
        incidents.incident_id,
        'pagerduty' as incident_source,
        null::VARCHAR as issue_key,
        coalesce(mapped_services.scopes, [services.service_name]) as labels,
        true as names_its_service,
        incidents.created_at as started_at,
        timing.acknowledged_at,
        coalesce(incidents.resolved_at, timing.resolved_at) as resolved_at
    from {{ ref('stg_pagerduty__incidents') }} as incidents
    left join {{ ref('stg_pagerduty__services') }} as services
        on incidents.connection_id = services.connection_id
        and incidents.service_id = services.service_id
    left join mapped_services
        on lower(services.service_name) = lower(mapped_services.tool_service_name)
    left join pagerduty_timing as timing
        on incidents.connection_id = timing.connection_id
        and incidents.incident_id = timing.incident_id
),

chosen as (
    select case
        when {{ sql_string(var('incident_source')) }} != 'auto'
            then {{ sql_string(var('incident_source')) }}
        when exists (select 1 from tool_incidents) then 'tools'
        else 'issues'
    end as incident_source
),

incidents as (
    select * from issue_incidents
    where (select chosen.incident_source from chosen) = 'issues'
    union all
    select * from tool_incidents
    where (select chosen.incident_source from chosen) = 'tools'
)

select * from incidents
