"""The Jira part of the demo organization: projects, their issues with status changelogs
(back-flow included) and sprints. The first project rolls its stalled issues into its running
sprint, which puts that sprint at risk. The operations project's incidents each follow a failed
production deployment of the GitHub part.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from emulators.jira.model import (
    JIRA_STATUSES,
    ChangeItem,
    FixVersion,
    History,
    JiraIssue,
    JiraProject,
    Sprint,
)
from emulators.model import (
    TEAM_NAMES,
    TITLE_DECORATIONS,
    TITLE_OBJECTS,
    TITLE_VERBS,
    Comment,
    rng,
    stable_int,
)

if TYPE_CHECKING:
    from emulators.org import Org

DELIVERY_TYPES = ("Epic", "Story", "Story", "Bug", "Story", "Task", "Story", "Bug", "Story", "Task")
OPS_TYPES = ("Incident", "Incident", "Task", "Incident")
JIRA_PROJECT_KEYS = ("PAY", "PLAT", "MOB", "GRO", "DATA", "IDN", "SRCH", "BILL", "CHK")
SPRINT_DAYS = 14
# Each delivery project releases a version every eight weeks; three issues in four are planned
# into the version whose weeks they were created in.
VERSION_WEEKS = 8


class JiraData:
    """Jira projects, issues and sprints, generated when asked for."""

    def __init__(self, org: Org):
        self.org = org
        self.seed = org.seed
        self.mutations = org.mutations
        self._build_projects()

    def _build_projects(self) -> None:
        s = self.org.scale
        projects = []
        for i in range(s.jira_projects):
            is_ops = i == s.jira_projects - 1
            key = "OPS" if is_ops else JIRA_PROJECT_KEYS[i % len(JIRA_PROJECT_KEYS)] + (
                "" if i < len(JIRA_PROJECT_KEYS) else str(i // len(JIRA_PROJECT_KEYS)))
            name = "Operations" if is_ops else f"{TEAM_NAMES[i % len(TEAM_NAMES)]} delivery"
            projects.append(JiraProject(i, key, name, str(10000 + i), self.org.humans[i % len(self.org.humans)],
                                        s.issues_per_project, 1 + i, is_ops))
        self.projects: tuple[JiraProject, ...] = tuple(projects)
        self._projects_by_key = {p.key: p for p in projects}
        n_sprints = int((self.org.anchor_at - self.org.start_at).days // SPRINT_DAYS) + 2
        self._sprints_by_board: dict[int, tuple[Sprint, ...]] = {}
        for p in projects:
            if p.is_ops:
                continue
            sprints = tuple(
                Sprint(p.board_id * 1000 + j + 1, p.board_id, f"{p.key} Sprint {j + 1}",
                       self.org.start_at + timedelta(days=SPRINT_DAYS * j, hours=8),
                       self.org.start_at + timedelta(days=SPRINT_DAYS * (j + 1), hours=8),
                       f"Ship {TITLE_OBJECTS[(j + p.index) % len(TITLE_OBJECTS)]}")
                for j in range(n_sprints))
            self._sprints_by_board[p.board_id] = sprints

    def fix_versions(self, project: JiraProject) -> tuple[FixVersion, ...]:
        """The project's versions, the last ones not released yet (operations has none)."""
        if project.is_ops:
            return ()
        span = timedelta(weeks=VERSION_WEEKS)
        count = int((self.org.anchor_at - self.org.start_at) / span) + 2
        return tuple(
            FixVersion(str(20000 + project.index * 100 + j), project.key,
                       f"{project.key} {j + 1}.0", (self.org.start_at + span * (j + 1)).date(),
                       self.org.start_at + span * (j + 1) < self.org.anchor_at)
            for j in range(count))

    def _fix_versions_of(self, project: JiraProject, number: int, issue_type: str,
                         created: datetime) -> tuple[FixVersion, ...]:
        if project.is_ops or issue_type == "Epic" or number % 4 == 3:
            return ()
        versions = self.fix_versions(project)
        index = int((created - self.org.start_at) / timedelta(weeks=VERSION_WEEKS))
        return (versions[min(index, len(versions) - 1)],)

    def _carried_into(self, project: JiraProject, number: int, chosen: Sprint) -> Sprint | None:
        """The first project carries every stalled issue (those that never finish) into its
        running sprint, as teams roll unfinished work over: that sprint is at risk."""
        if project.index != 0 or number % 6 != 5:
            return None
        running = next((s for s in self.sprints(project.board_id)
                        if s.start <= self.org.anchor_at < s.end), None)
        return running if running is not None and chosen.start < running.start else None

    def project(self, key: str) -> JiraProject | None:
        return self._projects_by_key.get(key)

    def sprints(self, board_id: int) -> tuple[Sprint, ...]:
        return self._sprints_by_board.get(board_id, ())

    def sprint(self, sprint_id: int) -> Sprint | None:
        return next((s for s in self.sprints(sprint_id // 1000) if s.sprint_id == sprint_id), None)

    def touch_issue(self, key: str) -> datetime:
        project, number = self._parse_key(key)
        return self.mutations.touch(("jira", project.index, number))

    def add_issue(self, project_key: str) -> str:
        project = self.project(project_key)
        if project is None:
            raise KeyError(f"no Jira project {project_key!r} in the {self.org.scale.name} org")
        return f"{project.key}-{self.mutations.add('jira', project.index, project.issues)}"

    def delete_issue(self, key: str) -> None:
        project, number = self._parse_key(key)
        self.mutations.delete(("jira", project.index, number))

    def _parse_key(self, key: str) -> tuple[JiraProject, int]:
        project_key, _, number = key.rpartition("-")
        project = self.project(project_key)
        if project is None or not number.isdigit() or self.issue(project, int(number)) is None:
            raise KeyError(f"no Jira issue {key!r} in the {self.org.scale.name} org")
        return project, int(number)

    def issue_count(self, project: JiraProject) -> int:
        return project.issues + self.mutations.added_count("jira", project.index)

    def issue(self, project: JiraProject, number: int) -> JiraIssue | None:
        if not 1 <= number <= self.issue_count(project):
            return None
        if self.mutations.is_deleted(("jira", project.index, number)):
            return None
        issue = self._issue_base(project, number, self.mutations.added_at("jira", project.index, number))
        return self.mutations.with_touch(issue, ("jira", project.index, number), "updated")

    def issue_by_key(self, key: str) -> JiraIssue | None:
        try:
            project, number = self._parse_key(key)
        except KeyError:
            return None
        return self.issue(project, number)

    def created(self, project: JiraProject, number: int) -> datetime:
        """Creation time alone (cheap: searches filter and sort on it without building issues)."""
        added = self.mutations.added_at("jira", project.index, number)
        if added is not None:
            return added
        if self.issue_type(project, number) == "Incident":
            repo, train = self.org.github.incident_cause(number)
            delay = rng(self.seed, "incident", number).uniform(10, 50)
            return self.org.github.train_time(repo, train) + timedelta(hours=2, minutes=delay)
        span = (self.org.anchor_at - self.org.start_at).total_seconds() - 2 * 86400
        jitter = rng(self.seed, "jira-created", project.index, number).uniform(0.05, 0.9)
        return self.org.start_at + timedelta(seconds=span * (number - 1 + jitter) / project.issues)

    def issue_type(self, project: JiraProject, number: int) -> str:
        if self.mutations.added_at("jira", project.index, number) is not None:
            return "Task" if project.is_ops else "Story"
        types = OPS_TYPES if project.is_ops else DELIVERY_TYPES
        return types[(number - 1) % len(types)]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - bounded, and the org outlives it
    def _issue_base(self, project: JiraProject, number: int,
                         added_at: datetime | None) -> JiraIssue:
        gen = rng(self.seed, "jira", project.index, number)
        created = self.created(project, number)
        issue_type = self.issue_type(project, number)
        reporter = self.org.random_human(gen)
        assignee = None if number % 9 == 0 else self.org.random_human(gen)
        if number % 23 == 7:
            assignee = self.org.former
        base = f"{gen.choice(TITLE_VERBS)} {gen.choice(TITLE_OBJECTS)}"
        if issue_type == "Incident":
            repo, train = self.org.github.incident_cause(number)
            base = f"Incident: {repo.name} v1.{train}.0 production deploy failed"
        elif issue_type == "Epic":
            base = f"Epic: {gen.choice(TITLE_OBJECTS)}"
        decoration = TITLE_DECORATIONS[(number + project.index) % len(TITLE_DECORATIONS)]
        summary = self.org.decorated_title(base, decoration, self.org.humans[number % len(self.org.humans)],
                                       "jira", project.index, number)
        # Workflow walk, with back-flow (In Review -> In Progress) for every 4th issue.
        path = ["To Do", "In Progress", "In Review", "Done"]
        if number % 4 == 2:
            path = ["To Do", "In Progress", "In Review", "In Progress", "In Review", "Done"]
        steps = len(path) - 1
        if added_at is None:
            steps = min(steps, int((self.org.anchor_at - created).total_seconds() // (3600 * 30)))
            if number % 6 == 5:
                steps = min(steps, 1 + number % 2)
        else:
            steps = 0
        histories = []
        at = created
        actor = assignee or reporter
        sprints: tuple[Sprint, ...] = ()
        carried: Sprint | None = None
        if not project.is_ops and issue_type != "Epic" and added_at is None:
            board = self.sprints(project.board_id)
            idx = min(len(board) - 1, max(0, int((created - self.org.start_at).days // SPRINT_DAYS)))
            if number % 3 == 0:  # added scope: put into the running sprint after it started
                chosen = board[idx]
                set_at = created + timedelta(hours=1)
            else:  # committed scope: planned into the next sprint before it starts
                chosen = board[min(idx + 1, len(board) - 1)]
                set_at = min(created + timedelta(hours=1), chosen.start - timedelta(hours=1))
                set_at = max(set_at, created)
            sprints = (chosen,)
            histories.append(History(
                str(stable_int(self.seed, "hist", project.index, number, "sprint") % 10**8), actor,
                set_at, (ChangeItem("Sprint", "customfield_10020", None, None, str(chosen.sprint_id),
                                    chosen.name),)))
            at = max(at, set_at)
            carried = self._carried_into(project, number, chosen)
        for s in range(steps):
            at = at + timedelta(hours=gen.uniform(2, 60))
            if at >= self.org.anchor_at:
                break
            frm, to = path[s], path[s + 1]
            histories.append(History(
                str(stable_int(self.seed, "hist", project.index, number, s) % 10**8), actor, at,
                (ChangeItem("status", "status", JIRA_STATUSES[frm][0], frm, JIRA_STATUSES[to][0], to),)))
            if s == 0 and number % 5 == 1:
                histories.append(History(
                    str(stable_int(self.seed, "hist", project.index, number, "assign") % 10**8), actor,
                    at, (ChangeItem("assignee", "assignee", None, None, actor.jira_account_id,
                                    actor.jira_display_name),)))
        if carried is not None:
            # Jira's sprint field lists every sprint the issue has been in, comma-separated.
            chosen = sprints[0]
            sprints = (chosen, carried)
            histories.append(History(
                str(stable_int(self.seed, "hist", project.index, number, "carry") % 10**8), actor,
                carried.start, (ChangeItem("Sprint", "customfield_10020", str(chosen.sprint_id),
                                           chosen.name, f"{chosen.sprint_id}, {carried.sprint_id}",
                                           f"{chosen.name}, {carried.name}"),)))
            histories.sort(key=lambda history: history.created)
        status_changes = [h for h in histories if h.items[0].field == "status"]
        status = status_changes[-1].items[0].to_string if status_changes else "To Do"
        comments = tuple(
            Comment(stable_int(self.seed, "jcomment", project.index, number, j) % 10**6,
                    self.org.random_human(gen), f"Update: {self.org.canary('jira-comment', project.index, number, j)}",
                    created + timedelta(hours=5 * (j + 1)), created + timedelta(hours=5 * (j + 1)))
            for j in range(gen.randrange(0, 3)))
        updated = max([created, *(h.created for h in histories), *(c.updated_at for c in comments)])
        parent = None
        if not project.is_ops and issue_type != "Epic":
            parent = number - (number - 1) % len(DELIVERY_TYPES)
        points = None if issue_type in ("Epic", "Incident") else float((1, 2, 3, 5, 8)[number % 5])
        # Two epics in three have a due date, six to sixteen weeks after they were opened.
        due = None
        if issue_type == "Epic" and number % 3 != 0:
            weeks = rng(self.seed, "jira-due", project.index, number).uniform(6, 16)
            due = (created + timedelta(weeks=weeks)).date()
        return JiraIssue(
            project=project, number=number,
            issue_id=str(10000 + project.index * 1_000_000 + number), issue_type=issue_type,
            summary=summary,
            description=f"Context and acceptance criteria. {self.org.canary('jira-description', project.index, number)}",
            status=status, reporter=reporter, assignee=assignee, created=created, updated=updated,
            resolution_date=status_changes[-1].created if status == "Done" else None,
            priority=("Medium", "High", "Low", "Highest")[number % 4] if issue_type != "Incident" else "Highest",
            labels=("incident", "sev2") if issue_type == "Incident" else (),
            story_points=points, parent_number=parent, sprints=sprints,
            histories=tuple(histories), comments=comments, due_date=due,
            fix_versions=self._fix_versions_of(project, number, issue_type, created))

    def updated_index(self, project: JiraProject) -> tuple[tuple[datetime, int], ...]:
        return self._updated_index(project, self.org.version)

    @functools.lru_cache(maxsize=128)  # noqa: B019 - bounded, and the org outlives it
    def _updated_index(self, project: JiraProject, _version: int) -> tuple[tuple[datetime, int], ...]:
        rows = []
        for k in range(1, self.issue_count(project) + 1):
            issue = self.issue(project, k)
            if issue is not None:
                rows.append((issue.updated, k))
        return tuple(rows)

    def canary_texts(self) -> Iterator[str]:
        """Every text holding a canary: issue descriptions and comments."""
        for project in self.projects:
            for k in range(1, self.issue_count(project) + 1):
                issue = self.issue(project, k)
                if issue is not None:
                    yield issue.description
                    yield from (c.body for c in issue.comments)
