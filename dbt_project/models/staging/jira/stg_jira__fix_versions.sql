select
    connection_id,
    id as fix_version_id,
    project_key,
    name as fix_version_name,
    release_date,
    coalesce(is_released, false) as is_released,
    coalesce(is_archived, false) as is_archived
from {{ source('metadata', 'jira_fix_versions') }}
