select
    connection_id,
    id as incident_id,
    incident_number,
    service_id,
    status,
    urgency,
    priority,
    created_at,
    resolved_at
from {{ source('metadata', 'pagerduty_incidents') }}
