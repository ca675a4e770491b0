select
    connection_id,
    repository_id,
    name as tag_name,
    commit_sha
from {{ source('metadata', 'github_tags') }}
