select
    connection_id,
    uuid as repository_uuid,
    full_name as repository_full_name,
    slug,
    default_branch,
    created_at,
    updated_at
from {{ source('metadata', 'bitbucket_repositories') }}
