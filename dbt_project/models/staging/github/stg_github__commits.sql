select
    connection_id,
    repository_id,
    sha,
    lower(author_email) as author_email,
    author_id,
    authored_at,
    committed_at,
    additions,
    deletions
from {{ source('metadata', 'github_commits') }}
