select
    connection_id,
    id as team_id,
    name as team_name
from {{ source('metadata', 'opsgenie_teams') }}
