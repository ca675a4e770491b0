select
    connection_id,
    id as build_id,
    build_number,
    status,
    result,
    reason,
    definition_id,
    definition_name,
    project_id,
    repository_id,
    repository_type,
    source_branch,
    source_version,
    queued_at,
    started_at,
    finished_at
from {{ source('metadata', 'azuredevops_builds') }}
