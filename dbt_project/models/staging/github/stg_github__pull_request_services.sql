select
    connection_id,
    repository_id,
    pull_number,
    service as service_name,
    files_changed,
    additions,
    deletions
from {{ source('metadata', 'github_pull_request_services') }}
