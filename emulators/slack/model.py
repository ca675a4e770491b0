"""The entities the Slack emulator serves: channels (direct messages included) and messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from emulators.model import Person, stable_int


@dataclass(frozen=True)
class Channel:
    index: int
    channel_id: str
    name: str
    is_private: bool
    created: datetime
    creator: Person
    messages: int
    topic: str
    purpose: str
    peer: Person | None = None  # set for a direct message (creator <-> peer)

    @property
    def is_im(self) -> bool:
        return self.peer is not None


@dataclass(frozen=True)
class Reaction:
    name: str
    users: tuple[Person, ...]


@dataclass(frozen=True)
class Message:
    channel: Channel
    index: int
    reply_index: int  # 0: a top-level message; n >= 1: the n-th reply of its thread
    ts: str
    at: datetime
    author: Person
    text: str
    reply_count: int
    reactions: tuple[Reaction, ...]
    thread_ts: str | None
    is_bot: bool


def slack_ts(at: datetime, unique: int) -> str:
    return f"{int(at.timestamp())}.{unique % 1_000_000:06d}"


def slack_id(prefix: str, *parts: object) -> str:
    """A Slack-style id (``U0…`` user, ``C0…`` channel, ``D0…`` direct message, ``T0…`` team)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    n = stable_int(*parts)
    chars = []
    for _ in range(9):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return prefix + "0" + "".join(chars)
