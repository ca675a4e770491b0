select
    connection_id,
    repository_uuid,
    pull_request_number,
    user_account_id,
    role,
    coalesce(is_approved, false) as is_approved,
    state,
    participated_at
from {{ source('metadata', 'bitbucket_pr_participants') }}
