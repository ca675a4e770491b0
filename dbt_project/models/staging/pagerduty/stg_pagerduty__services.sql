select
    connection_id,
    id as service_id,
    name as service_name,
    status,
    created_at
from {{ source('metadata', 'pagerduty_services') }}
