select
    connection_id,
    sha,
    lower(author_email) as author_email,
    authored_at,
    committed_at,
    insertions as additions,
    deletions,
    len(parent_shas) > 1 as is_merge
from {{ source('metadata', 'git_commits') }}
