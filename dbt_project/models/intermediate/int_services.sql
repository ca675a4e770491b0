-- Configured services inside repositories (var `services`), matched to repository keys.
with services as (
    {{ services_relation() }}
)

select
    repositories.repository_key,
    services.service_name
from services
inner join {{ ref('int_repositories') }} as repositories
    on services.repository in (repositories.repository, repositories.repository_short_name)
