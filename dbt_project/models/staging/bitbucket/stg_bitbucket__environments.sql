select
    connection_id,
    uuid as environment_uuid,
    repository_uuid,
    name as environment_name,
    environment_type
from {{ source('metadata', 'bitbucket_environments') }}
