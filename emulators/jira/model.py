"""The entities the Jira emulator serves: projects, issues with their changelog, sprints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from emulators.model import Comment, Person

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
class FixVersion:
    version_id: str
    project_key: str
    name: str
    release_date: date
    released: bool


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
    due_date: date | None = None
    fix_versions: tuple[FixVersion, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"
