select
    connection_id,
    project_id,
    merge_request_iid,
    sha,
    lower(author_email) as author_email,
    authored_at,
    committed_at
from {{ source('metadata', 'gitlab_mr_commits') }}
