select
    connection_id,
    id as log_entry_id,
    incident_id,
    replace(type, '_log_entry', '') as action,
    agent_user_id,
    created_at
from {{ source('metadata', 'pagerduty_log_entries') }}
