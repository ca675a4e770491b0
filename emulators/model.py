"""What every source's part of the demo organization shares: the deterministic randomness
each generator draws from (never Python's per-process ``hash``), the org's timeline, the
vocabulary of generated text, and the entities several sources use (people, teams,
repositories, comments).

Each source's own entities live in ``emulators/<source>/model.py``; ``emulators.org`` and the
``emulators/<source>/data.py`` modules build them; the API modules render them as JSON.
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CANARY_PREFIX = "CANARY-"
# The day the org is generated up to, unless told otherwise (tests and benchmarks rely on it;
# `sieve demo` and `sieve emulate` pass today). With it, the window spans the EU (2026-10-25),
# US (2026-11-01) and Australian (2026-10-04) DST changes.
DEFAULT_ANCHOR = date(2026, 11, 16)
ORG_SPAN = timedelta(days=183)  # ~6 months of history before the anchor


def org_window(anchor: date) -> tuple[datetime, datetime]:
    """(start, now) of an org anchored on ``anchor``: every generated timestamp lies between;
    mutations advance a logical clock from "now", so bodies never depend on the wall clock."""
    now = datetime.combine(anchor, time(12, 0), tzinfo=UTC)
    return now - ORG_SPAN, now


ORG_START, ORG_NOW = org_window(DEFAULT_ANCHOR)

TEAM_NAMES = (
    "Payments", "Platform", "Mobile", "Growth", "Data", "Identity", "Search", "Billing",
    "Infra", "Checkout", "Messaging", "Developer Experience",
)
# Kept text (titles, summaries, public messages) cycles through these decorations.
TITLE_DECORATIONS = ("plain", "emoji", "rtl", "forbidden_pii", "zero_width", "long",
                     "permitted_pii", "plain", "forbidden_pii", "plain", "emoji", "plain")
TITLE_VERBS = ("Add", "Fix", "Refactor", "Remove", "Speed up", "Document", "Harden", "Migrate")
TITLE_OBJECTS = (
    "retry logic in webhook consumer", "currency rounding in invoices", "flaky login test",
    "feature flag for new checkout", "pagination of audit log", "cache invalidation on deploy",
    "dark mode tokens", "idempotency keys for refunds", "CSV export of ledger entries",
    "push notification batching", "rate limiter for public API", "schema migration for accounts",
)


def stable_int(*parts: object) -> int:
    """A 64-bit integer that depends only on ``parts`` (never on the process's hash seed)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stable_hex(length: int, *parts: object) -> str:
    """``length`` hex digits (at most 64) that depend only on ``parts``."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=(length + 1) // 2)
    return digest.hexdigest()[:length]


def rng(*parts: object) -> random.Random:
    return random.Random(stable_int(*parts))


@dataclass(frozen=True)
class Person:
    """One human or bot, with the identity each tool knows them by.

    Most people share one email everywhere; some deliberately differ (Jira email, Slack display
    name, an unlinked commit email) so identity matching has real work to do.
    """

    index: int
    login: str
    name: str
    email: str
    tz: str
    team: str | None
    kind: str  # "human", "bot" or "former" (deleted account: GitHub shows it as "ghost")
    github_id: int
    gitlab_id: int
    gitlab_username: str
    commit_email: str
    commit_linked: bool  # False: GitHub cannot map the commit email, so commit.author is null
    jira_account_id: str
    jira_email: str
    jira_display_name: str
    slack_id: str
    slack_email: str
    slack_display_name: str

    @property
    def is_bot(self) -> bool:
        return self.kind == "bot"

    @property
    def is_deleted(self) -> bool:
        return self.kind == "former"

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.tz)


@dataclass(frozen=True)
class Team:
    slug: str
    name: str
    members: tuple[str, ...]  # logins


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Repo:
    index: int
    host: str  # "github" or "gitlab"
    name: str
    team: str
    services: tuple[str, ...]  # path prefixes; more than one marks the monorepo
    items: int  # numbers 1..items exist before any mutation
    issue_every: int  # every n-th number is an issue rather than a PR (0: none)
    repo_id: int
    created_at: datetime

    @property
    def is_monorepo(self) -> bool:
        return len(self.services) > 1

    def is_issue_number(self, number: int) -> bool:
        return bool(self.issue_every) and number % self.issue_every == 0


@dataclass(frozen=True)
class Comment:
    comment_id: int
    author: Person
    body: str
    created_at: datetime
    updated_at: datetime
