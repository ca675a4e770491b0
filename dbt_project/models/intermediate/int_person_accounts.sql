-- Every source account with its person, team and bot flag: the one place facts meet identities.
with accounts as (
    select * from {{ ref('stg_sieve__identity_accounts') }}
    -- Bitbucket Cloud names people by Atlassian account id, the key of the 'jira' accounts.
    union all
    select * replace ('bitbucket' as system)
    from {{ ref('stg_sieve__identity_accounts') }}
    where system = 'jira'
)

select
    accounts.system,
    accounts.account_key,
    accounts.person_id,
    people.team,
    coalesce(people.is_bot, false) as is_bot
from accounts
left join {{ ref('stg_sieve__people') }} as people using (person_id)
