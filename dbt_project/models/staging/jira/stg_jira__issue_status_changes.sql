select
    connection_id,
    history_id,
    issue_id,
    author_account_id,
    changed_at,
    from_status_id,
    from_status,
    to_status_id,
    to_status
from {{ source('metadata', 'jira_issue_status_changes') }}
