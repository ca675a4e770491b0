select
    connection_id,
    id as sprint_id,
    name as sprint_name,
    lower(state) as state,
    origin_board_id as board_id,
    start_at,
    end_at,
    completed_at
from {{ source('metadata', 'jira_sprints') }}
