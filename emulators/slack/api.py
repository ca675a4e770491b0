"""Slack Web API emulator: conversations.list/history/replies/info, users.list, auth.test.

Shapes follow api.slack.com/methods (conversation and user objects, message objects with
threads and reactions, cursor pagination through ``response_metadata.next_cursor``). Like Slack,
errors are HTTP 200 with ``{"ok": false, "error": ...}`` except rate limiting (HTTP 429 with
``Retry-After``). Methods accept GET query parameters or a POSTed form.

Private channels exist and their history is served in full, but ``conversations.list`` only
returns them when ``types`` names ``private_channel``; the request log shows whether anyone asked.
"""

from __future__ import annotations

import base64
from typing import ClassVar

from emulators.framework import ApiApp, ApiError, RateLimitState, Request, Response, page_window
from emulators.model import Person, stable_hex
from emulators.org import Org
from emulators.slack.model import Channel, Message

CONVERSATION_TYPES = ("public_channel", "private_channel", "mpim", "im")


def _ok(body: dict) -> Response:
    return Response(body={"ok": True, **body})


def _fail(error: str, **extra) -> ApiError:
    return ApiError(200, {"ok": False, "error": error, **extra})


def _cursor(prefix: str, value: str) -> str:
    return base64.b64encode(f"{prefix}:{value}".encode()).decode()


def _read_cursor(cursor: str, prefix: str) -> str:
    try:
        kind, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except ValueError:
        raise _fail("invalid_cursor") from None
    if kind != prefix or not value:
        raise _fail("invalid_cursor")
    return value


class SlackApp(ApiApp):
    name = "slack"
    credentials: ClassVar[dict[str, str]] = {"token": "xoxb-demo-token"}
    supports_conditional = False  # no ETag or 304 on the real service either

    def __init__(self, org: Org, token: str):
        super().__init__()
        self.org = org
        self.data = org.slack
        self.token = token
        self.bot_user_id = "U0SIEVEBOT1"
        for method, handler in (("auth.test", self.auth_test),
                                ("conversations.list", self.conversations_list),
                                ("conversations.info", self.conversations_info),
                                ("conversations.history", self.conversations_history),
                                ("conversations.replies", self.conversations_replies),
                                ("users.list", self.users_list)):
            self.route("GET", f"/api/{method}", handler)
            self.route("POST", f"/api/{method}", handler)

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        return "", path

    def authenticate(self, request: Request) -> ApiError | None:
        header = request.header("authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.query.get("token")
        if not token:
            return _fail("not_authed")
        if token != self.token:
            return _fail("invalid_auth")
        return None

    def not_found(self, request: Request) -> ApiError:
        return ApiError(404, {"ok": False, "error": "unknown_method",
                              "req_method": request.path.rsplit("/", 1)[-1]})

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        return self.rate_limited_retry_after(state.seconds_to_reset(self.rate_limits.now()), request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        return ApiError(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})

    def server_error(self, status: int) -> ApiError:
        return ApiError(status, {"ok": False, "error": "internal_error"})

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"x-slack-req-id": stable_hex(32, "req", request_number),
                "x-oauth-scopes": "channels:read,channels:history,users:read,users:read.email",
                "x-accepted-oauth-scopes": "channels:read", "access-control-allow-origin": "*"}

    # -- JSON --------------------------------------------------------------------------------

    def channel_json(self, channel: Channel) -> dict:
        created = int(channel.created.timestamp())
        if channel.is_im:
            return {"id": channel.channel_id, "created": created, "is_archived": False, "is_im": True,
                    "is_org_shared": False, "context_team_id": self.data.team_id,
                    "updated": created * 1000, "user": channel.peer.slack_id,
                    "is_user_deleted": False, "priority": 0}
        return {
            "id": channel.channel_id, "name": channel.name, "is_channel": True, "is_group": False,
            "is_im": False, "is_mpim": False, "is_private": channel.is_private, "created": created,
            "is_archived": False, "is_general": channel.name == "general", "unlinked": 0,
            "name_normalized": channel.name, "is_shared": False, "is_org_shared": False,
            "is_pending_ext_shared": False, "pending_shared": [], "context_team_id": self.data.team_id,
            "updated": created * 1000, "parent_conversation": None, "creator": channel.creator.slack_id,
            "is_ext_shared": False, "shared_team_ids": [self.data.team_id],
            "pending_connected_team_ids": [], "is_member": True,
            "topic": {"value": channel.topic, "creator": channel.creator.slack_id, "last_set": created},
            "purpose": {"value": channel.purpose, "creator": channel.creator.slack_id, "last_set": created},
            "previous_names": [], "num_members": len(self.org.humans),
        }

    def message_json(self, message: Message) -> dict:
        if message.is_bot:
            body = {"subtype": "bot_message", "text": message.text, "ts": message.ts,
                    "username": message.author.name, "bot_id": "B0SIEVECI01", "type": "message"}
        else:
            body = {"user": message.author.slack_id, "type": "message", "ts": message.ts,
                    "client_msg_id": _uuid(message.ts, message.channel.channel_id),
                    "text": message.text, "team": self.data.team_id}
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
            if message.reply_index == 0:
                replies = self.data.replies(message.channel, message.index)[1:]
                users = sorted({r.author.slack_id for r in replies})
                body.update({"reply_count": message.reply_count, "reply_users_count": len(users),
                             "latest_reply": replies[-1].ts, "reply_users": users,
                             "is_locked": False, "subscribed": False})
            else:
                parent = self.data.message(message.channel, message.index)
                body["parent_user_id"] = parent.author.slack_id
        if message.reactions:
            body["reactions"] = [{"name": r.name, "users": [p.slack_id for p in r.users],
                                  "count": len(r.users)} for r in message.reactions]
        return body

    def user_json(self, person: Person) -> dict:
        offset = int(person.zone.utcoffset(self.org.now).total_seconds())
        first, _, last = person.name.partition(" ")
        profile = {"title": "", "phone": "", "skype": "", "real_name": person.name,
                   "real_name_normalized": person.name, "display_name": person.slack_display_name,
                   "display_name_normalized": person.slack_display_name, "fields": None,
                   "status_text": "", "status_emoji": "", "status_expiration": 0,
                   "avatar_hash": stable_hex(12, "avatar", person.slack_id),
                   "first_name": first, "last_name": last,
                   "image_72": f"https://avatars.slack.sieve-demo.example/{person.slack_id}_72.png",
                   "team": self.data.team_id}
        if person.slack_email:
            profile["email"] = person.slack_email
        if person.is_bot:
            profile["bot_id"] = "B0SIEVECI01"
        return {
            "id": person.slack_id, "team_id": self.data.team_id,
            "name": person.login.replace("[bot]", ""), "deleted": person.is_deleted,
            "color": stable_hex(6, "colour", person.slack_id), "real_name": person.name,
            "tz": person.tz, "tz_label": person.zone.tzname(self.org.now), "tz_offset": offset,
            "profile": profile, "is_admin": person.index == 0, "is_owner": person.index == 0,
            "is_primary_owner": person.index == 0, "is_restricted": False,
            "is_ultra_restricted": False, "is_bot": person.is_bot, "is_app_user": False,
            "updated": int(self.org.created_at.timestamp()),
            "is_email_confirmed": not person.is_bot, "who_can_share_contact_card": "EVERYONE",
        }

    def _slackbot(self) -> dict:
        return {"id": "USLACKBOT", "team_id": self.data.team_id, "name": "slackbot",
                "deleted": False, "color": "757575", "real_name": "Slackbot", "tz": "America/Los_Angeles",
                "tz_label": "Pacific Standard Time", "tz_offset": -28800,
                "profile": {"real_name": "Slackbot", "display_name": "Slackbot", "first_name": "slackbot",
                            "last_name": "", "team": self.data.team_id},
                "is_admin": False, "is_owner": False, "is_primary_owner": False,
                "is_restricted": False, "is_ultra_restricted": False, "is_bot": False,
                "is_app_user": False, "updated": 0, "is_email_confirmed": False,
                "who_can_share_contact_card": "EVERYONE"}

    # -- helpers -----------------------------------------------------------------------------

    def _limit(self, request: Request, default: int, maximum: int) -> int:
        raw = request.query.get("limit")
        if not raw:
            return default
        if not raw.isdigit():
            raise _fail("invalid_limit")
        return max(1, min(int(raw), maximum))

    def _channel(self, request: Request) -> Channel:
        channel_id = request.query.get("channel")
        if not channel_id:
            raise _fail("invalid_arguments", response_metadata={
                "messages": ["[ERROR] missing required field: channel"]})
        channel = self.data.channel(channel_id)
        if channel is None:
            raise _fail("channel_not_found")
        return channel

    def _cursor_page(self, request: Request, items: list, key_of, prefix: str, default: int,
                     maximum: int) -> tuple[list, str]:
        """Slack cursor pagination: the cursor names the first item of the next page."""
        start = 0
        cursor = request.query.get("cursor")
        if cursor:
            after = _read_cursor(cursor, prefix)
            start = next((i for i, item in enumerate(items) if key_of(item) == after), None)
            if start is None:
                raise _fail("invalid_cursor")
        size = self._limit(request, default, maximum)
        window = page_window(len(items), start, size, request.repeat_page)
        more = start + size < len(items)
        return [items[i] for i in window], _cursor(prefix, key_of(items[start + size])) if more else ""

    # -- methods -----------------------------------------------------------------------------

    def auth_test(self, request: Request) -> Response:
        return _ok({"url": "https://sieve-demo.slack.example/", "team": "Sieve Demo",
                    "user": "sieve-reader", "team_id": self.data.team_id,
                    "user_id": self.bot_user_id, "bot_id": "B0SIEVERDR1", "is_enterprise_install": False})

    def conversations_list(self, request: Request) -> Response:
        types = [t.strip() for t in request.query.get("types", "public_channel").split(",") if t.strip()]
        unknown = [t for t in types if t not in CONVERSATION_TYPES]
        if unknown:
            raise _fail("invalid_types", response_metadata={"messages": [f"[ERROR] invalid type: {unknown[0]}"]})
        channels = [c for c in self.data.channels
                    if ("private_channel" if c.is_private else "public_channel") in types]
        if "im" in types:
            channels += self.data.direct_messages
        page, next_cursor = self._cursor_page(request, channels, lambda c: c.channel_id, "channel",
                                              100, 1000)
        return _ok({"channels": [self.channel_json(c) for c in page],
                    "response_metadata": {"next_cursor": next_cursor}})

    def conversations_info(self, request: Request) -> Response:
        return _ok({"channel": self.channel_json(self._channel(request))})

    def conversations_history(self, request: Request) -> Response:
        """Top-level messages (and thread parents), newest first, between oldest and latest."""
        channel = self._channel(request)
        oldest = request.query.get("oldest") or "0"
        latest = request.query.get("latest")
        inclusive = request.query.get("inclusive") in ("1", "true")
        # (ts, index) rows: only the page's messages are generated.
        rows = [(ts, k) for k, ts in reversed(list(enumerate(self.data.message_times(channel), 1)))
                if self.data.message_exists(channel, k) and _after(ts, oldest, inclusive)
                and (latest is None or _before(ts, latest, inclusive))]
        page, next_cursor = self._cursor_page(request, rows, lambda row: row[0], "next_ts", 100, 999)
        body = {"messages": [self.message_json(self.data.message(channel, k)) for _, k in page],
                "has_more": bool(next_cursor),
                "pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0}
        if next_cursor:
            body["response_metadata"] = {"next_cursor": next_cursor}
        return _ok(body)

    def conversations_replies(self, request: Request) -> Response:
        channel = self._channel(request)
        ts = request.query.get("ts")
        if not ts:
            raise _fail("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: ts"]})
        index = self.data.message_by_ts(channel, ts)
        if index is None:
            raise _fail("thread_not_found")
        thread = self.data.replies(channel, index)
        page, next_cursor = self._cursor_page(request, thread, lambda m: m.ts, "next_ts", 1000, 1000)
        return _ok({"messages": [self.message_json(m) for m in page], "has_more": bool(next_cursor),
                    "response_metadata": {"next_cursor": next_cursor}})

    def users_list(self, request: Request) -> Response:
        members = [*(self.user_json(p) for p in self.org.people), self._slackbot()]
        page, next_cursor = self._cursor_page(request, members, lambda m: m["id"], "user",
                                              len(members), 1000)
        return _ok({"members": page, "cache_ts": int(self.org.now.timestamp()),
                    "response_metadata": {"next_cursor": next_cursor}})


def _ts_key(ts: str) -> tuple[int, int]:
    whole, _, frac = ts.partition(".")
    try:
        return int(whole or 0), int((frac + "000000")[:6])
    except ValueError:
        raise _fail("invalid_ts_oldest") from None


def _after(ts: str, oldest: str, inclusive: bool) -> bool:
    return _ts_key(ts) >= _ts_key(oldest) if inclusive else _ts_key(ts) > _ts_key(oldest)


def _before(ts: str, latest: str, inclusive: bool) -> bool:
    return _ts_key(ts) <= _ts_key(latest) if inclusive else _ts_key(ts) < _ts_key(latest)


def _uuid(*parts: str) -> str:
    h = stable_hex(32, "client-msg", *parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
