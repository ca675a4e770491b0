select
    connection_id,
    id as incident_id,
    tiny_id,
    status,
    priority,
    owner_team_id,
    impacted_service_ids,
    created_at,
    updated_at
from {{ source('metadata', 'opsgenie_incidents') }}
