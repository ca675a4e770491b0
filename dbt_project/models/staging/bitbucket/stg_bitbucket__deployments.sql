select
    connection_id,
    uuid as deployment_uuid,
    repository_uuid,
    environment_uuid,
    state,
    status,
    commit_sha,
    started_at,
    completed_at
from {{ source('metadata', 'bitbucket_deployments') }}
