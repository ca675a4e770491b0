select
    connection_id,
    id as repository_id,
    name as repository_name,
    full_name as repository_full_name,
    default_branch,
    coalesce(is_archived, false) as is_archived,
    coalesce(is_fork, false) as is_fork
from {{ source('metadata', 'github_repositories') }}
