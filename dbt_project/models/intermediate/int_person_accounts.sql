-- Every source account with its person, team and bot flag: the one place facts meet identities.
select
    accounts.system,
    accounts.account_key,
    accounts.person_id,
    people.team,
    coalesce(people.is_bot, false) as is_bot
from {{ ref('stg_sieve__identity_accounts') }} as accounts
left join {{ ref('stg_sieve__people') }} as people using (person_id)
