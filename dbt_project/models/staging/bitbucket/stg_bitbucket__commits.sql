select
    connection_id,
    repository_uuid,
    sha,
    author_email,
    author_account_id,
    committed_at
from {{ source('metadata', 'bitbucket_commits') }}
