"""Slack's allow-list (Web API entities, public channels only): what Sieve keeps."""

from __future__ import annotations

from collections.abc import Mapping

from resources.sources.allow_list import (
    Entity,
    PersonColumns,
    col,
    epoch_timestamp,
    parent,
    reaction_total,
    text_length,
)


def is_private_conversation(raw: Mapping, parent: Mapping) -> bool:
    """Private channels, DMs and group DMs are private communication: never stored."""
    return bool(
        raw.get("is_private") or raw.get("is_im") or raw.get("is_mpim") or raw.get("is_group")
    )


# Slack ids starting with D are direct messages, G legacy private channels and group DMs.
_PRIVATE_CHANNEL_ID_PREFIXES = ("D", "G")
_PRIVATE_CHANNEL_TYPES = frozenset({"im", "mpim", "group", "private_channel"})


def is_private_message(raw: Mapping, parent: Mapping) -> bool:
    return (
        str(parent.get("channel_id", "")).startswith(_PRIVATE_CHANNEL_ID_PREFIXES)
        or raw.get("channel_type") in _PRIVATE_CHANNEL_TYPES
        or bool(parent.get("channel_is_private"))
    )


SLACK_CHANNELS = Entity(
    "slack_channels", "slack", "conversations.list?types=public_channel",
    (
        col("id", "VARCHAR"), col("name", "VARCHAR"),
        col("is_archived", "BOOLEAN"), col("is_general", "BOOLEAN"),
        col("creator_id", "VARCHAR", "creator"), col("num_members", "INTEGER"),
        col("created_at", "TIMESTAMP", "created", epoch_timestamp),
    ),
    ("id",),
    refuse=is_private_conversation,
    description="Public channels only: a record flagged is_private, is_im, is_mpim or is_group "
    "is refused. Topic and purpose are dropped.",
)

SLACK_MESSAGES = Entity(
    "slack_messages", "slack", "conversations.history, conversations.replies (public channels)",
    (
        parent("channel_id", "VARCHAR"), col("ts", "VARCHAR"),
        col("posted_at", "TIMESTAMP", "ts", epoch_timestamp),
        col("thread_ts", "VARCHAR"), col("user_id", "VARCHAR", "user"),
        col("bot_id", "VARCHAR"), col("subtype", "VARCHAR"),
        col("reply_count", "INTEGER"), col("reply_users_count", "INTEGER"),
        col("reactions_count", "INTEGER", "reactions", reaction_total),
        col("text", "VARCHAR", scrub=True),
        col("text_length", "INTEGER", "text", text_length),
    ),
    ("channel_id", "ts"),
    refuse=is_private_message,
    description="Messages of public channels, text scrubbed; files, attachments and blocks are "
    "dropped. Refused when the channel is a DM/private (id prefix D or G, a non-public "
    "channel_type, or parent channel_is_private).",
)

SLACK_USERS = Entity(
    "slack_users", "slack", "users.list",
    (
        col("id", "VARCHAR"), col("team_id", "VARCHAR"), col("name", "VARCHAR"),
        col("real_name", "VARCHAR", "profile.real_name", scrub=True),
        col("display_name", "VARCHAR", "profile.display_name", scrub=True),
        col("email", "VARCHAR", "profile.email"), col("is_bot", "BOOLEAN"),
        col("is_app_user", "BOOLEAN"), col("is_deleted", "BOOLEAN", "deleted"),
        col("updated_at", "TIMESTAMP", "updated", epoch_timestamp),
    ),
    ("id",),
    description="Users; phone, title (job position), time zone, status and avatars are dropped.",
)

ENTITIES = (
    SLACK_CHANNELS, SLACK_MESSAGES, SLACK_USERS,
)

USER_DIRECTORY = PersonColumns("slack_users", "slack", "id", "name", "email",
                                "coalesce(nullif(display_name, ''), real_name)",
                                "coalesce(is_bot, false) OR coalesce(is_app_user, false)")
# Slack references cannot be told apart by naming convention.
PERSON_REFERENCES = (
    PersonColumns("slack_messages", "slack", "user_id"),
    PersonColumns("slack_channels", "slack", "creator_id"),
)
