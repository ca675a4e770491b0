select
    system,
    account_key,
    person_id
from {{ source('metadata', 'identity_accounts') }}
