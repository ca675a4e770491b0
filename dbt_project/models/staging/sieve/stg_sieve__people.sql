select
    person_id,
    team,
    coalesce(is_bot, false) as is_bot
from {{ source('metadata', 'people') }}
