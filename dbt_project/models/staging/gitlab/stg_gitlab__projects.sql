select
    connection_id,
    id as project_id,
    path as project_path,
    path_with_namespace,
    default_branch,
    coalesce(is_archived, false) as is_archived
from {{ source('metadata', 'gitlab_projects') }}
