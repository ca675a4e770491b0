select
    connection_id,
    repository_uuid,
    pull_request_number,
    sha,
    author_email,
    author_account_id,
    committed_at
from {{ source('metadata', 'bitbucket_pr_commits') }}
