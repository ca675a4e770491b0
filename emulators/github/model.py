"""The entities the GitHub and GitLab emulators serve: pull requests (GitLab merge requests),
issues, commits, reviews, deployments, releases and CI runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from emulators.model import Comment, Person, Repo


@dataclass(frozen=True)
class Review:
    review_id: int
    author: Person
    state: str
    body: str
    submitted_at: datetime
    commit_id: str


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
class Workflow:
    workflow_id: int
    name: str
    path: str


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
