-- Production incidents from Jira: issues of an incident type (var incident_issue_types) or
-- carrying an incident label (var incident_labels). Started when created, recovered when
-- resolved.
select
    connection_id,
    issue_id,
    issue_key,
    labels,
    created_at as started_at,
    resolved_at
from {{ ref('stg_jira__issues') }}
where lower(issue_type) in (
        select lower(unnest({{ sql_string_list(var('incident_issue_types')) }}))
    )
    or {{ has_any_label('labels', var('incident_labels')) }}
