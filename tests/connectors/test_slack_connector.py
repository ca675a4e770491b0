"""The Slack connector through the real sync path, against the Slack emulator (tiny org).

Public channels only: the request log must show that nothing else was ever asked for."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from emulators.framework import ApiError
from resources.http import AuthenticationError
from resources.sources.slack import connector as slack_module
from resources.sources.slack.connector import PrivateConversationRefused, SlackConnector
from tests.harness import (
    FAULT_MODES,
    assert_reconnect_message,
    clean_sync_content,
    kill_fetch_after,
    sync_under_fault,
)

LIST = "GET /api/conversations.list"
HISTORY = "GET /api/conversations.history"
REPLIES = "GET /api/conversations.replies"
TABLES = list(SlackConnector.entities)


# -- what the emulator's org model says should land ---------------------------------------------


def public_channels(org):
    return [channel for channel in org.channels if not channel.is_private]


def private_channel_ids(org) -> set[str]:
    return {channel.channel_id for channel in org.channels if channel.is_private}


def top_level_messages(org, channel):
    return [org.message(channel, k) for k in range(1, org.message_count(channel) + 1)
            if org.message_exists(channel, k)]


def expected_counts(org) -> dict[str, int]:
    messages = sum(len(org.replies(channel, message.index))
                   for channel in public_channels(org)
                   for message in top_level_messages(org, channel))
    return {
        "slack_users": len(org.people) + 1,  # and Slackbot
        "slack_channels": len(public_channels(org)),
        "slack_messages": messages,
    }


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in TABLES}


def assert_public_only(emulator) -> None:
    """The request log holds no other conversation type and no private channel id."""
    private = private_channel_ids(emulator.org)
    listed_types = {r.query.get("types") for r in emulator.requests if r.endpoint == LIST}
    assert listed_types == {"public_channel"}
    assert not any(r.query.get("channel") in private for r in emulator.requests)
    assert all(not r.path.endswith(("conversations.open", "conversations.members"))
               for r in emulator.requests)


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few items, so the tiny org spans several pages of every listing."""
    monkeypatch.setattr(slack_module, "CONVERSATIONS_PAGE_SIZE", 5)
    monkeypatch.setattr(slack_module, "USERS_PAGE_SIZE", 6)


# -- tests ----------------------------------------------------------------------------------------


def test_first_sync_stores_public_channels_only_with_the_model_counts(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    [summary] = org.sync("slack")

    assert counts(org) == expected_counts(emulator.org)
    assert_public_only(emulator)
    stored_channels = {row[0] for row in org.query(
        "SELECT DISTINCT channel_id FROM metadata.slack_messages")}
    assert stored_channels == {c.channel_id for c in public_channels(emulator.org)}
    # Replies were asked for once per thread, never for a message without replies.
    threads = sum(1 for channel in public_channels(emulator.org)
                  for message in top_level_messages(emulator.org, channel) if message.reply_count)
    assert emulator.count_requests("slack", REPLIES) == threads
    conversation_requests = [r for r in emulator.requests if r.endpoint != "GET /api/users.list"]
    assert {r.query["limit"] for r in conversation_requests} == {"999"}
    assert summary.http["requests"] == len(emulator.requests)


def test_no_private_canary_and_no_forbidden_pii_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    org.sync("slack")
    stored = "\n".join(org.stored_strings())
    assert "CANARY-" not in stored
    assert [c for c in emulator.canaries() if c in stored] == []
    assert [p for p in emulator.forbidden_pii() if p in stored] == []
    # Public text is kept, scrubbed: most messages still have some.
    [(with_text,)] = org.query(
        "SELECT count(*) FROM metadata.slack_messages WHERE length(text) > 0")
    assert with_text > org.count("slack_messages") // 2


def test_a_private_channel_returned_anyway_is_skipped_and_never_read(
        sieve_org, emulator, monkeypatch):
    app = emulator.apps["slack"]
    [route] = [r for r in app.routes if r.endpoint == LIST]
    honest = route.handler
    served_private = []

    def ignores_types(request):
        # A copy, so the request log still shows what the connector sent.
        widened = {**request.query, "types": "public_channel,private_channel"}
        response = honest(dataclasses.replace(request, query=widened))
        served_private.extend(c["id"] for c in response.body["channels"] if c["is_private"])
        return response

    monkeypatch.setattr(route, "handler", ignores_types)
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    org.sync("slack")

    assert served_private
    assert_public_only(emulator)
    stored = {row[0] for row in org.query("SELECT id FROM metadata.slack_channels")}
    assert stored == {c.channel_id for c in public_channels(emulator.org)}
    assert "CANARY-" not in "\n".join(org.stored_strings())


@pytest.mark.parametrize("types", ["private_channel", "public_channel,private_channel", "im",
                                   "mpim", "public_channel,im", ""])
def test_asking_for_any_other_conversation_type_is_refused_before_a_request(
        sieve_org, emulator, types):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    api = SlackConnector(org.connector_context("slack")).api
    with pytest.raises(PrivateConversationRefused, match="public channels only"):
        next(api.public_channels(types))
    assert len(emulator.requests) == 0


def test_reading_a_channel_not_listed_as_public_is_refused_before_a_request(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    api = SlackConnector(org.connector_context("slack")).api
    [private_id] = private_channel_ids(emulator.org)
    for read in (lambda: api.history(private_id, None), lambda: api.replies(private_id, "1.2"),
                 lambda: api.history("D024BE91L", None)):
        with pytest.raises(PrivateConversationRefused, match="public channels only"):
            read()
    assert len(emulator.requests) == 0


def test_unchanged_second_sync_is_cursor_limited_and_changes_nothing(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    org.sync("slack")
    before = org.snapshot(TABLES)
    emulator.clear_requests()

    org.sync("slack")

    assert org.snapshot(TABLES) == before
    histories = [r for r in emulator.requests if r.endpoint == HISTORY]
    assert len(histories) == len(public_channels(emulator.org))
    state = org.connector_context("slack").state
    for request in histories:
        # A week before the newest stored ts: threads started then may have new replies.
        cursor = Decimal(state.cursor(f"messages:{request.query['channel']}"))
        assert Decimal(request.query["oldest"]) == cursor - 7 * 24 * 3600
    assert emulator.count_requests("slack", REPLIES) == 0
    assert_public_only(emulator)


def test_next_sync_picks_up_a_new_message(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    org.sync("slack")
    channel = public_channels(emulator.org)[0]
    ts = emulator.org.post_slack_message(channel.name)

    org.sync("slack")

    assert counts(org) == expected_counts(emulator.org)
    assert org.query("SELECT count(*) FROM metadata.slack_messages WHERE channel_id = ? AND ts = ?",
                     [channel.channel_id, ts]) == [(1,)]


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_sync_under_fault_equals_a_clean_sync(sieve_org, emulator, monkeypatch, small_pages, mode):
    expected = clean_sync_content(sieve_org, emulator, "slack", TABLES)
    org = sieve_org("faulty")
    org.connect_emulator(emulator, "slack")
    sync_under_fault(org, emulator, "slack", mode, r"conversations\.(history|replies)|users\.list",
                     monkeypatch)
    assert org.content(TABLES) == expected
    assert_public_only(emulator)


def test_killed_sync_rerun_converges(sieve_org, emulator, monkeypatch, small_pages):
    expected = clean_sync_content(sieve_org, emulator, "slack", TABLES)
    org = sieve_org("killed")
    org.connect_emulator(emulator, "slack")
    revive = kill_fetch_after(monkeypatch, SlackConnector, 20)
    with pytest.raises(KeyboardInterrupt):
        org.sync("slack")
    assert 0 < org.count("slack_messages") < expected_counts(emulator.org)["slack_messages"]
    revive()
    emulator.clear_requests()

    org.sync("slack")

    assert org.content(TABLES) == expected
    # The channel finished before the kill kept its cursor: the rerun reads only its window.
    assert any("oldest" in r.query for r in emulator.requests if r.endpoint == HISTORY)


def test_a_channel_the_bot_is_not_in_is_skipped_and_the_rest_synced(
        sieve_org, emulator, monkeypatch):
    app = emulator.apps["slack"]
    [route] = [r for r in app.routes if r.endpoint == HISTORY]
    outside = public_channels(emulator.org)[0]
    served = route.handler

    def not_a_member_of_the_first(request):
        if request.query.get("channel") == outside.channel_id:
            raise ApiError(200, {"ok": False, "error": "not_in_channel"})
        return served(request)

    monkeypatch.setattr(route, "handler", not_a_member_of_the_first)
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    org.sync("slack")

    assert org.count("slack_channels") == expected_counts(emulator.org)["slack_channels"]
    by_channel = dict(org.query(
        "SELECT channel_id, count(*) FROM metadata.slack_messages GROUP BY channel_id"))
    assert outside.channel_id not in by_channel
    assert set(by_channel) == {c.channel_id for c in public_channels(emulator.org)[1:]}


def test_bad_token_names_org_and_connection_and_says_reconnect(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("slack", {"base_url": emulator.base_url("slack")},
                             {"token": "xoxb-not-the-token"})
    error = org.sync_error("slack", AuthenticationError)
    assert_reconnect_message(error, org, connection, "xoxb-not-the-token")


def test_check_makes_one_request(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    assert "accepted" in SlackConnector(org.connector_context("slack")).check()
    assert [r.endpoint for r in emulator.requests] == ["GET /api/auth.test"]
