-- Iterations (sprints). Their id is a GUID; sprint_id is a BIGINT made of its first 15 hex
-- digits (60 bits), so Azure DevOps sprints sit beside Jira's in sprint_outcomes. finishDate is
-- the sprint's last day: it ends at the following midnight.
select
    connection_id,
    id as iteration_id,
    ('0x' || substr(replace(id, '-', ''), 1, 15))::BIGINT as sprint_id,
    name as sprint_name,
    path as iteration_path,
    case time_frame when 'past' then 'closed' when 'current' then 'active' else 'future' end
        as state,
    start_at,
    finish_at + interval 1 day as end_at
from {{ source('metadata', 'azuredevops_iterations') }}
