select
    connection_id,
    id as workflow_run_id,
    repository_id,
    workflow_id,
    name as workflow_name,
    event,
    lower(status) as status,
    lower(conclusion) as conclusion,
    head_branch,
    head_sha,
    run_attempt,
    actor_id,
    created_at,
    updated_at,
    run_started_at
from {{ source('metadata', 'github_workflow_runs') }}
