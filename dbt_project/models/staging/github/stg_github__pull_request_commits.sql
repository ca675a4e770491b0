select
    connection_id,
    repository_id,
    pull_number,
    sha,
    lower(author_email) as author_email,
    author_id,
    authored_at,
    committed_at
from {{ source('metadata', 'github_pull_request_commits') }}
