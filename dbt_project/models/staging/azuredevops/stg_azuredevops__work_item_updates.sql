select
    connection_id,
    work_item_id,
    rev,
    changed_at,
    from_state,
    to_state,
    from_iteration_path,
    to_iteration_path
from {{ source('metadata', 'azuredevops_work_item_updates') }}
