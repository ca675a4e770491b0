select
    connection_id,
    id as review_id,
    repository_id,
    pull_number,
    reviewer_id,
    reviewer_login,
    upper(state) as state,
    submitted_at
from {{ source('metadata', 'github_pull_request_reviews') }}
