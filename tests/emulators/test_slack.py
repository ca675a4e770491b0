"""The Slack Web API emulator, driven with plain ``requests``."""

from __future__ import annotations

import requests

from emulators.org import CANARY_PREFIX


def slack(emulator, method, token="xoxb-demo-token", post=False, **params):
    url = f"{emulator.base_url('slack')}/api/{method}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if post:
        return requests.post(url, data=params, headers=headers, timeout=10)
    return requests.get(url, params=params, headers=headers, timeout=10)


def channel_id(emulator, name):
    return next(c.channel_id for c in emulator.org.channels if c.name == name)


def test_conversations_list_honours_types_and_records_the_ask(emulator):
    public = slack(emulator, "conversations.list").json()
    assert public["ok"] and all(not c["is_private"] for c in public["channels"])
    assert len(public["channels"]) == sum(not c.is_private for c in emulator.org.channels)
    both = slack(emulator, "conversations.list", types="public_channel,private_channel").json()
    assert any(c["is_private"] for c in both["channels"])
    asked = [r.query.get("types", "public_channel") for r in emulator.requests
             if r.endpoint == "GET /api/conversations.list"]
    assert asked == ["public_channel", "public_channel,private_channel"]


def test_cursor_pagination_walks_history_once_newest_first(emulator):
    general = channel_id(emulator, "general")
    seen, cursor = [], None
    while True:
        params = {"channel": general, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = slack(emulator, "conversations.history", **params).json()
        seen.extend(m["ts"] for m in page["messages"])
        cursor = page.get("response_metadata", {}).get("next_cursor")
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen)) == emulator.org.scale.messages_per_channel
    assert seen == sorted(seen, reverse=True)


def test_history_oldest_filter_threads_and_reactions(emulator):
    general = channel_id(emulator, "general")
    everything = slack(emulator, "conversations.history", channel=general, limit=200).json()["messages"]
    cutoff = everything[len(everything) // 2]["ts"]
    newer = slack(emulator, "conversations.history", channel=general, oldest=cutoff, limit=200).json()
    assert [m["ts"] for m in newer["messages"]] == [m["ts"] for m in everything if m["ts"] > cutoff]
    parent = next(m for m in everything if m.get("reply_count"))
    assert any(m.get("reactions") for m in everything)
    thread = slack(emulator, "conversations.replies", channel=general, ts=parent["ts"]).json()
    assert thread["messages"][0]["ts"] == parent["ts"]
    assert len(thread["messages"]) == parent["reply_count"] + 1
    assert all(m["thread_ts"] == parent["ts"] for m in thread["messages"])


def test_post_form_and_users_list(emulator):
    users = slack(emulator, "users.list", post=True, limit=5).json()
    assert users["ok"] and len(users["members"]) == 5 and users["response_metadata"]["next_cursor"]
    rest = slack(emulator, "users.list", cursor=users["response_metadata"]["next_cursor"]).json()
    members = users["members"] + rest["members"]
    assert len({m["id"] for m in members}) == len(emulator.org.people) + 1  # + slackbot
    assert any(m["deleted"] for m in members) and any(m["is_bot"] for m in members)


def test_private_messages_carry_canaries_public_ones_carry_pii(emulator):
    canaries = set(emulator.canaries())
    private = next(c for c in emulator.org.channels if c.is_private)
    messages = slack(emulator, "conversations.history", channel=private.channel_id, limit=200).json()["messages"]
    assert all(any(c in m["text"] for c in canaries) for m in messages)
    public_text = " ".join(
        m["text"] for c in emulator.org.channels if not c.is_private
        for m in slack(emulator, "conversations.history", channel=c.channel_id, limit=200).json()["messages"])
    assert CANARY_PREFIX not in public_text
    assert any(v in public_text for v in emulator.forbidden_pii())


def test_auth_errors_are_200_with_ok_false(emulator):
    assert slack(emulator, "auth.test", token=None).json() == {"ok": False, "error": "not_authed"}
    assert slack(emulator, "auth.test", token="xoxb-wrong").json() == {"ok": False, "error": "invalid_auth"}
    assert slack(emulator, "conversations.history", channel="C_NOPE").json()["error"] == "channel_not_found"


def test_rate_limit_429_with_retry_after(emulator):
    emulator.faults.rate_limit("slack", limit=1, window_seconds=20)
    assert slack(emulator, "auth.test").json()["ok"]
    refused = slack(emulator, "auth.test")
    assert refused.status_code == 429 and refused.json()["error"] == "ratelimited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20


def test_posted_and_deleted_messages(emulator):
    ts = emulator.org.post_slack_message("engineering")
    engineering = channel_id(emulator, "engineering")
    newest = slack(emulator, "conversations.history", channel=engineering, limit=1).json()["messages"][0]
    assert newest["ts"] == ts
    emulator.org.delete_slack_message("engineering", ts)
    after = slack(emulator, "conversations.history", channel=engineering, oldest=ts, inclusive="1").json()
    assert after["messages"] == []


def test_every_forbidden_pii_value_is_planted_in_public_messages(emulator):
    public_text = " ".join(
        m["text"] for c in emulator.org.channels if not c.is_private
        for m in slack(emulator, "conversations.history", channel=c.channel_id, limit=200).json()["messages"])
    assert all(value in public_text for value in emulator.forbidden_pii())
    kinds = {kind for kind, _, _ in emulator.org.pii_catalogue}
    assert {"phone", "ipv4", "ipv6", "credit_card", "us_ssn", "es_dni", "iban", "date_of_birth",
            "street_address"} == kinds


def test_direct_messages_only_when_asked_and_full_of_canaries(emulator):
    listed = slack(emulator, "conversations.list", types="public_channel,private_channel").json()
    assert not any(c.get("is_im") for c in listed["channels"])
    ims = slack(emulator, "conversations.list", types="im").json()["channels"]
    assert len(ims) == len(emulator.org.direct_messages) and all(c["is_im"] for c in ims)
    canaries = set(emulator.canaries())
    messages = slack(emulator, "conversations.history", channel=ims[0]["id"]).json()["messages"]
    assert messages and all(any(c in m["text"] for c in canaries) for m in messages)
