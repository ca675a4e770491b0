select
    connection_id,
    id as channel_id,
    name as channel_name,
    coalesce(is_archived, false) as is_archived
from {{ source('metadata', 'slack_channels') }}
