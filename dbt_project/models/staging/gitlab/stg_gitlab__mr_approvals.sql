select
    connection_id,
    project_id,
    merge_request_iid,
    approver_id,
    approver_username,
    approved_at
from {{ source('metadata', 'gitlab_mr_approvals') }}
