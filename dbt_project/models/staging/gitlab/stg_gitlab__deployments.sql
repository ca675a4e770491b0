select
    connection_id,
    id as deployment_id,
    project_id,
    sha,
    ref,
    lower(status) as status,
    environment_name,
    lower(deployable_status) as deployable_status,
    user_id,
    created_at,
    updated_at,
    finished_at
from {{ source('metadata', 'gitlab_deployments') }}
