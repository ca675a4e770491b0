-- The alert's report gives its acknowledge and close times as milliseconds after creation.
select
    connection_id,
    id as alert_id,
    status,
    is_acknowledged,
    priority,
    created_at,
    created_at + to_milliseconds(ack_time_ms) as acknowledged_at,
    created_at + to_milliseconds(close_time_ms) as closed_at
from {{ source('metadata', 'opsgenie_alerts') }}
