-- Public-channel activity per ISO week: human messages (bots and join/leave notices left out),
-- threads, people taking part, and how quickly a top-level message gets its first reply from
-- someone else (attributed to the week the message was posted).
with channels as (
    select * from {{ ref('stg_slack__channels') }}
),

messages as (
    select
        messages.*,
        messages.thread_ts is not null and messages.thread_ts != messages.message_ts as is_reply,
        {{ iso_week_start('messages.posted_at') }} as week_start
    from {{ ref('stg_slack__messages') }} as messages
    left join {{ ref('int_person_accounts') }} as accounts
        on accounts.system = 'slack'
        and accounts.account_key = messages.user_id
    where messages.bot_id is null
        and coalesce(messages.subtype, '') not in (
            'bot_message', 'channel_join', 'channel_leave', 'channel_topic', 'channel_purpose',
            'channel_name', 'channel_archive', 'channel_unarchive'
        )
        and not coalesce(accounts.is_bot, false)
),

first_replies as (
    select
        parents.connection_id,
        parents.channel_id,
        parents.week_start,
        {{ hours_between('parents.posted_at', 'min(replies.posted_at)') }} as first_reply_hours
    from messages as parents
    inner join messages as replies
        on replies.connection_id = parents.connection_id
        and replies.channel_id = parents.channel_id
        and replies.thread_ts = parents.message_ts
        and replies.is_reply
        and replies.user_id is distinct from parents.user_id
        -- A reply cannot precede its thread (Slack guarantees it; bad data must not make the
        -- reply time negative).
        and replies.posted_at > parents.posted_at
    where not parents.is_reply
    group by parents.connection_id, parents.channel_id, parents.message_ts, parents.week_start,
        parents.posted_at
),

activity as (
    select
        connection_id,
        channel_id,
        week_start,
        count(*) as messages,
        count(*) filter (where not is_reply) as top_level_messages,
        count(*) filter (where is_reply) as replies,
        count(*) filter (where not is_reply and reply_count > 0) as threads_started,
        count(distinct user_id) as active_members
    from messages
    group by all
),

reply_times as (
    select
        connection_id,
        channel_id,
        week_start,
        {{ median('first_reply_hours') }} as first_reply_median_hours
    from first_replies
    group by all
)

select
    activity.week_start,
    activity.channel_id,
    channels.channel_name,
    activity.messages,
    activity.top_level_messages,
    activity.replies,
    activity.threads_started,
    activity.active_members,
    reply_times.first_reply_median_hours
from activity
left join reply_times using (connection_id, channel_id, week_start)
left join channels using (connection_id, channel_id)
