select
    connection_id,
    id as pipeline_id,
    project_id,
    sha,
    ref,
    coalesce(is_tag, false) as is_tag,
    lower(status) as status,
    source,
    user_id,
    created_at,
    started_at,
    finished_at
from {{ source('metadata', 'gitlab_pipelines') }}
