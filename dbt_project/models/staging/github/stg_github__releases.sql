select
    connection_id,
    id as release_id,
    repository_id,
    tag_name,
    target_commitish,
    coalesce(is_draft, false) as is_draft,
    coalesce(is_prerelease, false) as is_prerelease,
    author_id,
    created_at,
    published_at
from {{ source('metadata', 'github_releases') }}
