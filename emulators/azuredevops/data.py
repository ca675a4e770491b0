"""The Azure DevOps part of the demo organization: one project holding the org's Azure DevOps
Git repositories (generated like the GitHub ones: their pull requests, reviews, comments and
commits), each person as an Azure DevOps identity, and each review as a vote.

Boards: the first Jira delivery project's issues are the project's work items (its sprints the
iterations, its workflow walks the state transitions), in an Agile process.

Canaries sit in every free text Sieve must drop (pull request descriptions, review and comment
threads, commit comments, work item descriptions, acceptance criteria and discussion); forbidden
PII in pull request and work item titles (the shared title decorations).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from emulators.model import stable_hex

if TYPE_CHECKING:
    from emulators.github.model import PullRequest, Review
    from emulators.model import Person, Repo
    from emulators.org import Org

PROJECT_NAME = "sieve-demo-apps"
# GitHub review states as Azure DevOps votes: approve 10, wait for author -5, reset 0.
VOTES = {"APPROVED": 10, "CHANGES_REQUESTED": -5, "DISMISSED": 0}
# Pull request ids are unique in an organization: each repository gets its own range.
IDS_PER_REPO = 100_000


# Build ids: a range per repository, CI runs first, then the deployment pipelines' runs.
BUILDS_PER_REPO = 1_000_000
DEPLOY_BUILDS = 500_000
RESULTS = {"success": "succeeded", "failure": "failed", "error": "failed",
           "cancelled": "canceled",
           "skipped": "canceled"}


@dataclass(frozen=True)
class AdoBuild:
    """A pipeline run: CI for a pull request or a merge, or a deployment pipeline's run."""

    build_id: int
    repo: Repo
    definition: str
    reason: str  # pullRequest, individualCI
    branch: str
    sha: str
    result: str | None  # None while in progress
    queued_at: datetime
    finished_at: datetime | None
    requested_for: Person


def ado_id(*parts: object) -> str:
    """An Azure DevOps-looking id (a GUID), stable for ``parts``."""
    return str(uuid.UUID(stable_hex(32, "azuredevops", *parts)))


class AzureDevOpsData:
    """The project, its repositories, pull requests and identities, generated when asked for."""

    def __init__(self, org: Org):
        self.org = org
        self.project_name = PROJECT_NAME
        self.project_id = ado_id("project", PROJECT_NAME)
        self.boards = AzureBoardsData(org, PROJECT_NAME)

    @property
    def repos(self) -> tuple[Repo, ...]:
        return self.org.github.azuredevops_repos

    def repo_id(self, repo: Repo) -> str:
        return ado_id("repo", repo.index)

    def repo(self, id_or_name: str) -> Repo | None:
        wanted = id_or_name.lower()
        return next((r for r in self.repos
                     if self.repo_id(r) == wanted or r.name.lower() == wanted), None)

    def identity_id(self, person: Person) -> str:
        return ado_id("identity", person.index)

    # -- pull requests ------------------------------------------------------------------------

    def pull_request_id(self, repo: Repo, number: int) -> int:
        return (self.repos.index(repo) + 1) * IDS_PER_REPO + number

    def pull_requests(self, repo: Repo) -> list[PullRequest]:
        """Every pull request of the repository, newest first (as Azure DevOps lists them)."""
        found = (self.org.github.pull_request(repo, k)
                 for k in range(1, self.org.github.item_count(repo) + 1))
        return sorted((pr for pr in found if pr is not None),
                      key=lambda pr: (pr.created_at, pr.number), reverse=True)

    def pull_request(self, pull_request_id: int) -> PullRequest | None:
        position, number = divmod(pull_request_id, IDS_PER_REPO)
        if not 1 <= position <= len(self.repos):
            return None
        return self.org.github.pull_request(self.repos[position - 1], number)

    @staticmethod
    def status(pr: PullRequest) -> str:
        if pr.merged_at is not None:
            return "completed"
        return "abandoned" if pr.closed_at is not None else "active"

    @staticmethod
    def votes(pr: PullRequest) -> list[tuple[Review, int]]:
        """Each review that cast a vote, with the vote, oldest first."""
        return [(review, VOTES[review.state]) for review in pr.reviews if review.state in VOTES]

    def reviewers(self, pr: PullRequest) -> list[tuple[Person, int]]:
        """Each reviewer with their latest vote (0 for one asked who has not voted)."""
        latest: dict[int, tuple[Person, int]] = {}
        for person in pr.requested_reviewers:
            latest[person.index] = (person, 0)
        for review, vote in self.votes(pr):
            latest[review.author.index] = (review.author, vote)
        return [latest[index] for index in sorted(latest)]

    # -- builds -------------------------------------------------------------------------------

    def builds(self) -> list[AdoBuild]:
        """Every build of the project, oldest queued first."""
        builds = []
        for position, repo in enumerate(self.repos, start=1):
            base = position * BUILDS_PER_REPO
            for k, run in enumerate(reversed(self.org.github.workflow_runs(repo)), start=1):
                done = run.status == "completed"
                builds.append(AdoBuild(
                    base + k, repo, "CI",
                    "pullRequest" if run.event == "pull_request" else "individualCI",
                    run.head_branch, run.head_sha,
                    RESULTS.get(run.conclusion or "", "failed") if done else None,
                    run.created_at, run.updated_at if done else None, run.actor))
            for deployment in self.org.github.deployments(repo):
                train_index = deployment.deployment_id - repo.repo_id * 10_000
                builds.append(AdoBuild(
                    base + DEPLOY_BUILDS + train_index, repo,
                    f"deploy-{deployment.environment}", "individualCI", deployment.ref,
                    deployment.sha, RESULTS.get(deployment.outcome, "failed"),
                    deployment.created_at, deployment.updated_at, deployment.creator))
        return sorted(builds, key=lambda b: (b.queued_at, b.build_id))

    # -- texts ----------------------------------------------------------------------------------

    def build_message(self, build: AdoBuild) -> str:
        """The triggering commit's message, as a build's trigger info shows it."""
        return f"Merge {build.branch}\n\n{self.org.canary('ado-build', build.build_id)}"

    def canary_texts(self) -> Iterator[str]:
        """Every text holding a canary: descriptions, review and comment threads, commit
        comments."""
        for repo in self.repos:
            for pr in self.pull_requests(repo):
                yield pr.body
                yield from (review.body for review in pr.reviews if review.body)
                yield from (comment.body for comment in pr.comments)
                yield from (commit.message for commit in pr.commits)
        yield from (self.build_message(build) for build in self.builds())
        yield from self.boards.canary_texts()


# -- Boards -------------------------------------------------------------------------------------
# The project's work items are the first Jira delivery project's issues as an Agile-process
# project would hold them: the same people, sprints (as iterations) and workflow walks.
WORK_ITEM_TYPES = {"Story": "User Story", "Bug": "Bug", "Task": "Task", "Epic": "Epic"}
STATES = {"To Do": "New", "In Progress": "Active", "In Review": "Resolved", "Done": "Closed"}
TEAM_SUFFIX = " Team"  # a project's default team is named "<project> Team"


@dataclass(frozen=True)
class WorkItemUpdate:
    """One revision of a work item: when, by whom, and the fields it changed (old, new)."""

    rev: int
    changed_at: datetime
    revised_by: Person
    fields: dict


class AzureBoardsData:
    """Work items, their updates and the project's iterations, from the Jira model."""

    def __init__(self, org: Org, project_name: str):
        self.org = org
        self.project_name = project_name

    @property
    def _project(self):
        return self.org.jira.projects[0]

    @property
    def team_name(self) -> str:
        return self.project_name + TEAM_SUFFIX

    def iterations(self):
        """Every iteration (sprint) of the project."""
        return self.org.jira.sprints(self._project.board_id)

    def team_iterations(self):
        """The iterations the default team has selected (all of them here; a project with
        several teams has each select its own)."""
        return self.iterations()

    def iteration_path(self, sprint) -> str:
        return f"{self.project_name}\\{sprint.name}"

    def iteration_id(self, sprint) -> str:
        return ado_id("iteration", sprint.sprint_id)

    def work_item_ids(self) -> list[int]:
        return [number for number in range(1, self.org.jira.issue_count(self._project) + 1)
                if self.work_item(number) is not None]

    def work_item(self, work_item_id: int):
        """The Jira issue behind the work item (None when there is none)."""
        if work_item_id < 1:
            return None
        issue = self.org.jira.issue(self._project, work_item_id)
        return issue if issue is not None and issue.issue_type in WORK_ITEM_TYPES else None

    def updates(self, issue) -> list[WorkItemUpdate]:
        """Creation (rev 1), then one revision per sprint move, transition and comment."""
        root = self.project_name
        revisions: list[tuple[datetime, Person, dict]] = [(issue.created, issue.reporter, {
            "System.State": {"newValue": "New"}, "System.IterationPath": {"newValue": root},
            "System.Title": {"newValue": issue.summary},
            "System.Description": {"newValue": issue.description},
            "Microsoft.VSTS.Common.AcceptanceCriteria": {"newValue": self.acceptance(issue)}})]
        path = root
        for history in issue.histories:
            item = history.items[0]
            if item.field == "status":
                fields = {"System.State": {"oldValue": STATES[item.from_string],
                                           "newValue": STATES[item.to_string]}}
            elif item.field == "Sprint":
                sprint = self.org.jira.sprint(int(item.to_id.split(",")[-1]))
                new_path = self.iteration_path(sprint)
                fields = {"System.IterationPath": {"oldValue": path, "newValue": new_path}}
                path = new_path
            else:
                continue
            revisions.append((history.created, history.author, fields))
        for comment in issue.comments:
            revisions.append((comment.created_at, comment.author,
                              {"System.History": {"newValue": comment.body}}))
        revisions.sort(key=lambda r: r[0])
        # ChangedDate is the newest revision's: a later change (an edit, a touch) is one more.
        if issue.updated > revisions[-1][0]:
            revisions.append((issue.updated, issue.assignee or issue.reporter, {}))
        return [WorkItemUpdate(k, at, person, fields)
                for k, (at, person, fields) in enumerate(revisions, start=1)]

    def revision_index(self) -> tuple[tuple[datetime, int, int], ...]:
        """Every revision of the project's work items as (changed, work item, rev), in the
        order the reporting API streams them (its watermark order)."""
        return self._revision_index(self.org.version)

    @functools.lru_cache(maxsize=32)  # noqa: B019 - bounded, and the org outlives it
    def _revision_index(self, _version: int) -> tuple[tuple[datetime, int, int], ...]:
        found = [(update.changed_at, number, update.rev) for number in self.work_item_ids()
                 for update in self.updates(self.work_item(number))]
        return tuple(sorted(found))

    def acceptance(self, issue) -> str:
        return f"Given the change ships. {self.org.canary('ado-acceptance', issue.number)}"

    def canary_texts(self) -> Iterator[str]:
        """Descriptions, acceptance criteria and discussion (System.History) entries."""
        for number in self.work_item_ids():
            issue = self.work_item(number)
            yield issue.description
            yield self.acceptance(issue)
            yield from (comment.body for comment in issue.comments)
