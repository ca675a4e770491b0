-- Production incidents from one kind of source, never both (var incident_source; the rule is in
-- docs/metrics.md, "Incidents"):
--   issues: Jira issues of an incident type (var incident_issue_types) or carrying an incident
--           label (var incident_labels); labels name the services/repositories they concern.
--   tools:  PagerDuty and Opsgenie incidents; each names its services, mapped to deployed
--           services or repositories by var incident_services, else by their own names.
--           Each tool's incidents are its own records, counted once each.
--   pagerduty, opsgenie: that tool's incidents alone (both tools paging the same services).
--   auto:   the tools' incidents when an incident tool has reported any, else issues.
-- Started when created (triggered), acknowledged and recovered (resolved) when the tool says:
-- PagerDuty in its log entries, Opsgenie in the reports of the incident's associated alerts.
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

pagerduty_incidents as (
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

-- An Opsgenie incident is acknowledged when its first alert was, and resolved when its last
-- alert closed (all of them closed); resolved with an alert still open, its last update is the
-- nearest time the API gives.
opsgenie_timing as (
    select
        links.connection_id,
        links.incident_id,
        min(alerts.acknowledged_at) as acknowledged_at,
        max(alerts.closed_at) as last_closed_at,
        bool_and(alerts.closed_at is not null) as all_closed
    from {{ ref('stg_opsgenie__incident_alerts') }} as links
    inner join {{ ref('stg_opsgenie__alerts') }} as alerts
        on links.connection_id = alerts.connection_id
        and links.alert_id = alerts.alert_id
    group by links.connection_id, links.incident_id
),

opsgenie_scopes as (
    select
        impacted.connection_id,
        impacted.incident_id,
        list(distinct scopes.scope order by scopes.scope) as labels
    from (
        select
            connection_id,
            incident_id,
            unnest(impacted_service_ids) as service_id
        from {{ ref('stg_opsgenie__incidents') }}
    ) as impacted
    inner join {{ ref('stg_opsgenie__services') }} as services
        on impacted.connection_id = services.connection_id
        and impacted.service_id = services.service_id
    left join mapped_services
        on lower(services.service_name) = lower(mapped_services.tool_service_name)
    cross join
        unnest(coalesce(mapped_services.scopes, [services.service_name])) as scopes (scope)
    group by impacted.connection_id, impacted.incident_id
),

opsgenie_incidents as (
    select
        incidents.connection_id,
        incidents.incident_id,
        'opsgenie' as incident_source,
        null::VARCHAR as issue_key,
        coalesce(scopes.labels, []::VARCHAR[]) as labels,
        -- Naming only services Sieve does not know (deleted ones) still names them: blamed on
        -- nothing, never on whichever service deployed last. Naming none (an empty or absent
        -- impactedServices) falls back like an unlabelled issue.
        coalesce(len(incidents.impacted_service_ids), 0) > 0 as names_its_service,
        incidents.created_at as started_at,
        timing.acknowledged_at,
        case
            when incidents.status in ('resolved', 'closed') and timing.all_closed
                then timing.last_closed_at
            when incidents.status in ('resolved', 'closed') then incidents.updated_at
        end as resolved_at
    from {{ ref('stg_opsgenie__incidents') }} as incidents
    left join opsgenie_scopes as scopes
        on incidents.connection_id = scopes.connection_id
        and incidents.incident_id = scopes.incident_id
    left join opsgenie_timing as timing
        on incidents.connection_id = timing.connection_id
        and incidents.incident_id = timing.incident_id
),

tool_incidents as (
    select * from pagerduty_incidents
    union all
    select * from opsgenie_incidents
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
    where (select chosen.incident_source from chosen) in ('tools', incident_source)
)

select * from incidents
