"""The entities of the demo organization: plain frozen dataclasses, plus the deterministic
randomness every generator draws from (never Python's per-process ``hash``).

``emulators.org`` builds them; the API modules render them in each service's JSON shape.
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


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


@functools.lru_cache(maxsize=None)
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
class Review:
    review_id: int
    author: Person
    state: str
    body: str
    submitted_at: datetime
    commit_id: str


@dataclass(frozen=True)
class Comment:
    comment_id: int
    author: Person
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str
    additions: int
    deletions: int
    patch: str
    sha: str


@dataclass(frozen=True)
class Commit:
    sha: str
    author: Person
    committer: Person | None  # None: committed through the web UI ("GitHub" <noreply@github.com>)
    authored_at: datetime
    committed_at: datetime
    message: str
    parents: tuple[str, ...]
    files: tuple[FileChange, ...]

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)


@dataclass(frozen=True)
class PullRequest:
    repo: Repo
    number: int
    kind: str
    title: str
    body: str
    author: Person
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    merged_by: Person | None
    draft: bool
    head_ref: str
    base_ref: str
    labels: tuple[str, ...]
    commits: tuple[Commit, ...]
    merge_commit_sha: str | None
    landed: tuple[Commit, ...]  # what reached the default branch when merged
    reviews: tuple[Review, ...]
    comments: tuple[Comment, ...]
    requested_reviewers: tuple[Person, ...]

    @property
    def state(self) -> str:
        return "closed" if self.closed_at else "open"

    @property
    def files(self) -> tuple[FileChange, ...]:
        return tuple(f for c in self.commits for f in c.files)

    @property
    def additions(self) -> int:
        return sum(c.additions for c in self.commits)

    @property
    def deletions(self) -> int:
        return sum(c.deletions for c in self.commits)

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha


@dataclass(frozen=True)
class Issue:
    repo: Repo
    number: int
    title: str
    body: str
    author: Person
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    labels: tuple[str, ...]
    comments: tuple[Comment, ...]
    assignee: Person | None

    @property
    def state(self) -> str:
        return "closed" if self.closed_at else "open"


@dataclass(frozen=True)
class DeploymentStatus:
    status_id: int
    state: str
    created_at: datetime
    description: str


@dataclass(frozen=True)
class Deployment:
    repo: Repo
    deployment_id: int
    train: int
    environment: str
    sha: str
    ref: str
    creator: Person
    created_at: datetime
    statuses: tuple[DeploymentStatus, ...]  # oldest first

    @property
    def updated_at(self) -> datetime:
        return self.statuses[-1].created_at

    @property
    def outcome(self) -> str:
        return self.statuses[-1].state


@dataclass(frozen=True)
class Release:
    repo: Repo
    release_id: int
    tag: str
    sha: str
    author: Person
    created_at: datetime
    published_at: datetime


@dataclass(frozen=True)
class WorkflowRun:
    repo: Repo
    run_id: int
    name: str
    event: str
    head_branch: str
    head_sha: str
    status: str
    conclusion: str | None
    actor: Person
    run_number: int
    created_at: datetime
    updated_at: datetime
    pr_number: int | None


JIRA_STATUSES = {  # name -> (id, status category key)
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10001", "indeterminate"),
    "Done": ("10002", "done"),
}


JIRA_ISSUE_TYPES = {  # name -> (id, hierarchy level)
    "Epic": ("10000", 1), "Story": ("10001", 0), "Task": ("10002", 0), "Bug": ("10004", 0),
    "Incident": ("10005", 0),
}


@dataclass(frozen=True)
class JiraProject:
    index: int
    key: str
    name: str
    project_id: str
    lead: Person
    issues: int
    board_id: int
    is_ops: bool


@dataclass(frozen=True)
class Sprint:
    sprint_id: int
    board_id: int
    name: str
    start: datetime
    end: datetime
    goal: str

    def state(self, now: datetime) -> str:
        if now >= self.end:
            return "closed"
        return "active" if now >= self.start else "future"


@dataclass(frozen=True)
class ChangeItem:
    field: str
    field_id: str
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None


@dataclass(frozen=True)
class History:
    history_id: str
    author: Person
    created: datetime
    items: tuple[ChangeItem, ...]


@dataclass(frozen=True)
class JiraIssue:
    project: JiraProject
    number: int
    issue_id: str
    issue_type: str
    summary: str
    description: str
    status: str
    reporter: Person
    assignee: Person | None
    created: datetime
    updated: datetime
    resolution_date: datetime | None
    priority: str
    labels: tuple[str, ...]
    story_points: float | None
    parent_number: int | None
    sprints: tuple[Sprint, ...]
    histories: tuple[History, ...]
    comments: tuple[Comment, ...]

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"


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
