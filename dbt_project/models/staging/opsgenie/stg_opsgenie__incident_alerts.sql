select
    connection_id,
    incident_id,
    alert_id
from {{ source('metadata', 'opsgenie_incident_alerts') }}
