select
    connection_id,
    repository_uuid,
    number,
    title,
    state,
    coalesce(is_draft, false) as is_draft,
    author_account_id,
    source_branch,
    source_commit as head_sha,
    destination_branch,
    merge_commit_sha,
    created_at,
    updated_at
from {{ source('metadata', 'bitbucket_pull_requests') }}
