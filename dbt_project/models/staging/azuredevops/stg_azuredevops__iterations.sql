-- Iterations (sprints). Their id is a GUID; sprint_id is a BIGINT made of its first 15 hex
-- digits (60 bits), so Azure DevOps sprints sit beside Jira's in sprint_outcomes. finishDate is
-- the sprint's last day: it ends at the following midnight. Every team's iterations are here
-- (the project's iteration tree); those the default team selected carry its time frame.
select
    connection_id,
    id as iteration_id,
    ('0x' || substr(replace(id, '-', ''), 1, 15))::BIGINT as sprint_id,
    name as sprint_name,
    path as iteration_path,
    -- The default team's time frame; another team's iteration (none given) by its dates.
    case
        when time_frame = 'past' then 'closed'
        when time_frame = 'current' then 'active'
        when time_frame is not null then 'future'
        when finish_at + interval 1 day <= {{ as_of() }} then 'closed'
        when start_at <= {{ as_of() }} then 'active'
        else 'future'
    end as state,
    start_at,
    finish_at + interval 1 day as end_at
from {{ source('metadata', 'azuredevops_iterations') }}
