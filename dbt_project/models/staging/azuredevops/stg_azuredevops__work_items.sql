-- Azure DevOps work items with the category of their state: the Agile, Scrum, Basic and CMMI
-- processes' state names mapped onto Jira's categories (new / indeterminate / done).
select
    connection_id,
    id as work_item_id,
    project_name,
    work_item_type,
    state,
    case
        when lower(state) in ('closed', 'done', 'removed', 'completed') then 'done'
        when lower(state) in ('new', 'proposed', 'to do', 'approved') then 'new'
        else 'indeterminate'
    end as state_category,
    iteration_path,
    assigned_to_id,
    assigned_to_unique_name,
    coalesce(story_points, effort) as story_points,
    created_at,
    changed_at,
    closed_at
from {{ source('metadata', 'azuredevops_work_items') }}
