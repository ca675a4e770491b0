"""The Azure DevOps part of the demo organization: one project holding the org's Azure DevOps
Git repositories (generated like the GitHub ones: their pull requests, reviews, comments and
commits), each person as an Azure DevOps identity, and each review as a vote.

Canaries sit in every free text Sieve must drop (pull request descriptions, review and comment
threads, commit comments); forbidden PII in pull request titles (the shared title decorations).
"""

from __future__ import annotations

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
