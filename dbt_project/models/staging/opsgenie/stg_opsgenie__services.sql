select
    connection_id,
    id as service_id,
    name as service_name,
    team_id
from {{ source('metadata', 'opsgenie_services') }}
