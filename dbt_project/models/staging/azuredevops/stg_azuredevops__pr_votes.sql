select
    connection_id,
    pull_request_id,
    repository_id,
    thread_id,
    reviewer_id,
    reviewer_unique_name,
    vote,
    voted_at
from {{ source('metadata', 'azuredevops_pr_votes') }}
