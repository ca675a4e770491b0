"""The Bitbucket Cloud part of the demo organization: one workspace holding two repositories.

Their pull requests, commits, pipelines and deployments come from the shared repository
generator (``emulators/github/data.py``, ``Repo.host == "bitbucket"``), so every kind of pull
request, review and deployment outcome the other code hosts have appears here too. Reviews
become participants (a reviewer's last review decides ``approved`` and ``state``), commenters
participants without a role of reviewer; pipelines are the generator's CI runs and each
deployment train deploys to a staging and a production environment.

Canaries sit in every free text Sieve must drop: pull request descriptions and decline reasons,
comments (review bodies are comments on Bitbucket), commit message bodies and repository
descriptions.
Forbidden PII sits in pull request titles, as on the other hosts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from emulators.github.model import Commit, Deployment, PullRequest, WorkflowRun
from emulators.model import Person, Repo, stable_hex, stable_int

if TYPE_CHECKING:
    from emulators.org import Org

WORKSPACE = "sieve-demo-bb"
REPOSITORY_NAMES = ("partner-portal", "warehouse-sync")
# Repository indexes past any other host's, so the generator's items never coincide.
FIRST_INDEX = 1000
ENVIRONMENTS = (("staging", "Staging"), ("production", "Production"))


def bb_uuid(*parts: object) -> str:
    """A Bitbucket-looking UUID in curly braces, stable for ``parts``."""
    return "{" + str(uuid.UUID(stable_hex(32, "bitbucket", *parts))) + "}"


@dataclass(frozen=True)
class Participant:
    person: Person
    role: str  # REVIEWER or PARTICIPANT
    approved: bool
    state: str | None  # approved, changes_requested or None
    participated_on: datetime


# A first sync costs about two requests per pull request (detail and commits), and Bitbucket
# allows 1,000 an hour on repository data: the demo's slice stays inside one hour's budget, as a
# workspace a team connects on its first day would (larger workspaces: docs/sources/bitbucket.md).
ITEMS_PER_REPO_CAP = 150


class BitbucketData:
    """The workspace's repositories and everything in them, generated when asked for."""

    def __init__(self, org: Org):
        self.org = org
        self.workspace = WORKSPACE
        self.workspace_uuid = bb_uuid("workspace", org.seed)
        self.repos: tuple[Repo, ...] = tuple(
            Repo(FIRST_INDEX + i, "bitbucket", name, org.teams[i % len(org.teams)].name, ("",),
                 min(org.scale.items_per_repo, ITEMS_PER_REPO_CAP), 0, 40_000_000 + org.seed * 1000 + FIRST_INDEX + i,
                 org.created_at + timedelta(days=stable_int(org.seed, "bb-repo", i) % 300))
            for i, name in enumerate(REPOSITORY_NAMES))
        org.github.adopt(self.repos)

    # -- repositories ------------------------------------------------------------------------

    def live_repos(self) -> list[Repo]:
        return [repo for repo in self.repos
                if not self.org.mutations.is_deleted(("bitbucket-repo", repo.index))]

    def repo(self, slug: str) -> Repo | None:
        return next((repo for repo in self.live_repos() if repo.name == slug), None)

    def repo_uuid(self, repo: Repo) -> str:
        return bb_uuid("repo", repo.index)

    def delete_repository(self, slug: str) -> None:
        """Delete a repository upstream: gone from the listing, 404 below it."""
        repo = self.repo(slug)
        if repo is None:
            raise KeyError(f"no Bitbucket repository {slug!r} in workspace {self.workspace}")
        self.org.mutations.delete(("bitbucket-repo", repo.index))

    def description(self, repo: Repo) -> str:
        return f"Owned by {repo.team}. {self.org.canary('bitbucket-repo', repo.index)}"

    # -- pull requests -------------------------------------------------------------------------

    def pull_requests(self, repo: Repo) -> list[PullRequest]:
        github = self.org.github
        found = (github.pull_request(repo, k) for k in range(1, github.item_count(repo) + 1))
        return [pr for pr in found if pr is not None]

    def pull_request(self, repo: Repo, number: int) -> PullRequest | None:
        return self.org.github.pull_request(repo, number)

    def add_pull_request(self, slug: str) -> int:
        return self.org.github.add_pull_request(slug, host="bitbucket")

    def touch_pull_request(self, slug: str, number: int) -> datetime:
        return self.org.github.touch_pull_request(slug, number, host="bitbucket")

    def decline_reason(self, pr: PullRequest) -> str | None:
        if pr.closed_at is None or pr.merged_at is not None:
            return None
        return f"Superseded. {self.org.canary('bitbucket-reason', pr.repo.index, pr.number)}"

    def participants(self, pr: PullRequest) -> list[Participant]:
        """Reviewers (their last review decides approval) then commenters, once each."""
        last: dict[str, tuple[str, datetime]] = {}
        for review in pr.reviews:
            last[review.author.login] = (review.state, review.submitted_at)
        out = []
        for login, (state, at) in last.items():
            approved = state == "APPROVED"
            out.append(Participant(self.org.person(login), "REVIEWER", approved,
                                   "approved" if approved else
                                   "changes_requested" if state == "CHANGES_REQUESTED" else None,
                                   at))
        for comment in pr.comments:
            if comment.author.login not in last and comment.author is not pr.author:
                last[comment.author.login] = ("COMMENTED", comment.created_at)
                out.append(Participant(comment.author, "PARTICIPANT", False, None,
                                       comment.created_at))
        return out

    def comments(self, pr: PullRequest) -> list[tuple[int, Person, str, datetime]]:
        """(id, author, text, created) of the pull request's comments: review bodies too."""
        out = [(review.review_id, review.author, review.body, review.submitted_at)
               for review in pr.reviews if review.body]
        out += [(c.comment_id, c.author, c.body, c.created_at) for c in pr.comments]
        return sorted(out, key=lambda comment: (comment[3], comment[0]))

    # -- commits, pipelines, deployments -----------------------------------------------------

    def commits(self, repo: Repo) -> list[Commit]:
        """The main branch's commits, newest first."""
        github = self.org.github
        return [github.commit_by_sha(repo, sha)
                for _, sha, _ in github.default_branch_commits(repo)]

    def pipelines(self, repo: Repo) -> tuple[WorkflowRun, ...]:
        """Pipeline runs, newest first."""
        return self.org.github.workflow_runs(repo)

    def environment_uuid(self, repo: Repo, slug: str) -> str:
        return bb_uuid("environment", repo.index, slug)

    def deployments(self, repo: Repo) -> list[Deployment]:
        """Deployments, newest first."""
        return self.org.github.deployments(repo)

    # -- people and texts ----------------------------------------------------------------------

    def members(self) -> tuple[Person, ...]:
        return self.org.humans

    def user_uuid(self, person: Person) -> str:
        return bb_uuid("user", person.index)

    def canary_texts(self) -> Iterator[str]:
        """Every text holding a canary."""
        for repo in self.live_repos():
            yield self.description(repo)
            for pr in self.pull_requests(repo):
                yield pr.body
                yield self.decline_reason(pr) or ""
                yield from (text for _, _, text, _ in self.comments(pr))
                for commit in (*pr.commits, *pr.landed):
                    yield commit.message.split("\n\n", 1)[1]
