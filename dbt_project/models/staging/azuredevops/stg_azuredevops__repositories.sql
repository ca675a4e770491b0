select
    connection_id,
    id as repository_id,
    name as repository_name,
    project_id,
    project_name,
    default_branch,
    coalesce(is_disabled, false) as is_disabled
from {{ source('metadata', 'azuredevops_repositories') }}
