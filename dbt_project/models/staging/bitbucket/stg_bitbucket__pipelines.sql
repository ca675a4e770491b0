select
    connection_id,
    uuid as pipeline_uuid,
    repository_uuid,
    build_number,
    state,
    result,
    ref_type,
    ref_name,
    commit_sha,
    created_at,
    completed_at
from {{ source('metadata', 'bitbucket_pipelines') }}
