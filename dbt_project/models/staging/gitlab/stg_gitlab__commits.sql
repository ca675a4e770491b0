select
    connection_id,
    project_id,
    sha,
    lower(author_email) as author_email,
    authored_at,
    committed_at,
    additions,
    deletions
from {{ source('metadata', 'gitlab_commits') }}
