select
    connection_id,
    node_id as deployment_status_id,
    repository_id,
    deployment_id,
    lower(state) as state,
    created_at
from {{ source('metadata', 'github_deployment_statuses') }}
