select
    connection_id,
    channel_id,
    ts as message_ts,
    posted_at,
    thread_ts,
    user_id,
    bot_id,
    subtype,
    coalesce(reply_count, 0) as reply_count
from {{ source('metadata', 'slack_messages') }}
