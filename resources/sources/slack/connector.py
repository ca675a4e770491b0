"""Slack connector: public channels, their messages and thread replies, and users.

Request plan, costs, cursors and known limits: docs/sources/slack.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from functools import cached_property

from resources.errors import SieveError
from resources.http import (
    BearerToken,
    HttpClient,
    Page,
    PaginationStyle,
    RequestRejectedError,
    RetryPolicy,
)
from resources.sources.connector import Connector, RawBatch
from resources.sources.slack.schema import is_private_conversation

log = logging.getLogger("sieve.connectors.slack")

DEFAULT_BASE_URL = "https://slack.com"
PUBLIC_CHANNEL = "public_channel"
CONVERSATIONS_PAGE_SIZE = 999  # Slack: "an integer under 1000" for conversations.*
USERS_PAGE_SIZE = 1000
THREAD_LOOKBACK_SECONDS = 7 * 24 * 3600
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)
# Slack ids of direct messages start with D; legacy private channels and group DMs with G.
PRIVATE_ID_PREFIXES = ("D", "G")


class PrivateConversationRefused(SieveError):
    """Something asked for a private channel, a DM or a group DM: Sieve never reads those."""


class PublicSlackApi:
    """The only door to Slack's conversation methods: public channels or nothing."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self._public_ids: set[str] = set()

    def public_channels(self, types: str = PUBLIC_CHANNEL) -> Iterator[list[dict]]:
        """Pages of public channels; channels the API marks private are left out."""
        asked = [part.strip() for part in types.split(",")]
        if asked != [PUBLIC_CHANNEL]:
            raise PrivateConversationRefused(
                f"refused to list Slack conversations of type(s) {types!r}: Sieve reads public "
                f"channels only (types={PUBLIC_CHANNEL}); private channels, DMs and group DMs "
                "are never requested"
            )
        params = {"types": PUBLIC_CHANNEL, "exclude_archived": "false",
                  "limit": CONVERSATIONS_PAGE_SIZE}
        for page in self.client.paginate("/api/conversations.list", params,
                                         style=PaginationStyle.SLACK, items_field="channels"):
            public = [channel for channel in page.items if is_public(channel)]
            self._public_ids.update(channel["id"] for channel in public)
            yield public

    def history(self, channel_id: str, oldest: str | None) -> Iterator[Page]:
        params = {"channel": self._public(channel_id), "limit": CONVERSATIONS_PAGE_SIZE}
        if oldest is not None:
            params["oldest"] = oldest
        return self.client.paginate("/api/conversations.history", params,
                                    style=PaginationStyle.SLACK, items_field="messages")

    def replies(self, channel_id: str, thread_ts: str) -> Iterator[Page]:
        params = {"channel": self._public(channel_id), "ts": thread_ts,
                  "limit": CONVERSATIONS_PAGE_SIZE}
        return self.client.paginate("/api/conversations.replies", params,
                                    style=PaginationStyle.SLACK, items_field="messages")

    def _public(self, channel_id: str) -> str:
        if channel_id not in self._public_ids or channel_id.startswith(PRIVATE_ID_PREFIXES):
            raise PrivateConversationRefused(
                f"refused to read Slack conversation {channel_id!r}: it was not listed as a "
                "public channel in this sync, and Sieve reads public channels only"
            )
        return channel_id


def is_public(channel: dict) -> bool:
    """A conversation that is a public channel by every flag and by its id."""
    return (channel.get("is_channel", True) is True
            and not is_private_conversation(channel, {})
            and not str(channel.get("id", "")).startswith(PRIVATE_ID_PREFIXES))


class SlackConnector(Connector):
    source = "slack"
    entities = ("slack_users", "slack_channels", "slack_messages")

    @cached_property
    def client(self) -> HttpClient:
        return self._new_client(RetryPolicy())

    def _new_client(self, retry: RetryPolicy) -> HttpClient:
        return self.http_client(self.context.settings.get("base_url") or DEFAULT_BASE_URL,
                                BearerToken(self.context.credentials["token"].reveal()),
                                retry=retry, ok_flag_errors=True)

    @cached_property
    def api(self) -> PublicSlackApi:
        return PublicSlackApi(self.client)

    def check(self) -> str:
        with self._new_client(CHECK_RETRY) as client:
            identity = client.get_json("/api/auth.test").data
        team = identity.get("team_id", "unknown") if isinstance(identity, dict) else "unknown"
        return f"Slack workspace {team} accepted the bot token"

    def fetch(self) -> Iterator[RawBatch]:
        for page in self.client.paginate("/api/users.list", {"limit": USERS_PAGE_SIZE},
                                         style=PaginationStyle.SLACK, items_field="members"):
            yield RawBatch("slack_users", page.items)
        channel_ids = []
        for channels in self.api.public_channels():
            channel_ids.extend(channel["id"] for channel in channels)
            yield RawBatch("slack_channels", channels)
        for channel_id in channel_ids:
            try:
                yield from self._messages(channel_id)
            except RequestRejectedError as error:
                # A bot token reads only the public channels its bot was added to.
                if error.api_message != "not_in_channel":
                    raise
                log.warning("Slack channel %s of %s skipped: the bot is not a member; invite "
                            "it to the channel to sync its messages", channel_id,
                            self.context.error_context().describe())

    def _messages(self, channel_id: str) -> Iterator[RawBatch]:
        stream = f"messages:{channel_id}"
        cursor = self.context.state.cursor(stream)
        previous = Decimal(cursor) if cursor is not None else None
        oldest = None if previous is None else str(previous - THREAD_LOOKBACK_SECONDS)
        parent = {"channel_id": channel_id}
        newest = previous
        active_threads: dict[str, None] = {}  # ordered, and once each if a page repeats
        for page in self.api.history(channel_id, oldest):
            yield RawBatch("slack_messages", page.items, parent=parent)
            for message in page.items:
                newest = _later(newest, message.get("ts"))
                latest_reply = message.get("latest_reply")
                if message.get("reply_count") and (
                        previous is None or Decimal(latest_reply or message["ts"]) > previous):
                    active_threads[message["ts"]] = None
                newest = _later(newest, latest_reply)
        for thread_ts in active_threads:
            for page in self.api.replies(channel_id, thread_ts):
                yield RawBatch("slack_messages", page.items, parent=parent)
                for message in page.items:
                    newest = _later(newest, message.get("ts"))
        if newest is not None and newest != previous:
            yield RawBatch("slack_messages", [], parent=parent, cursors={stream: str(newest)})


def _later(current: Decimal | None, ts: str | None) -> Decimal | None:
    if not ts:
        return current
    value = Decimal(ts)
    return value if current is None or value > current else current
