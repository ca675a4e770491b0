select
    connection_id,
    id as deployment_id,
    repository_id,
    sha,
    ref,
    environment,
    is_production_environment,
    creator_id,
    created_at,
    updated_at
from {{ source('metadata', 'github_deployments') }}
