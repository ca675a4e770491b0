select
    connection_id,
    pull_request_id,
    repository_id,
    sha,
    author_email,
    authored_at,
    committer_email,
    committed_at
from {{ source('metadata', 'azuredevops_pr_commits') }}
