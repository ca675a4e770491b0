"""The GitHub part of the demo organization: repositories with their pull requests, issues,
commits, deployments, releases and CI runs. GitLab projects and Azure DevOps repositories come
from the same generator (``Repo.host`` says which; a merge request is a ``PullRequest`` here).

Item ``k`` of repository ``r`` is a pure function of ``(seed, r, k)`` plus the org's mutations,
so listing a page generates only the items on it. A few hot spots make every insight kind
fire on the demo-scale org: the last repository has a single maintainer, the first team's PRs
are reviewed by one of its members, some open PRs are over 1,000 lines, and the PRs merged in
the last whole week were coded for a week longer.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import replace as _replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from emulators.github.model import (
    Commit,
    Deployment,
    DeploymentStatus,
    FileChange,
    Issue,
    PullRequest,
    Release,
    Review,
    Workflow,
    WorkflowRun,
)
from emulators.model import (
    TITLE_DECORATIONS,
    TITLE_OBJECTS,
    TITLE_VERBS,
    Comment,
    Person,
    Repo,
    rng,
    stable_hex,
    stable_int,
)

if TYPE_CHECKING:
    from emulators.org import Org

REPO_NAMES = (
    "payments-api", "web-app", "mobile-ios", "mobile-android", "ledger", "search-indexer",
    "notifications", "identity", "infra-terraform", "data-pipelines", "checkout", "design-system",
)
# The production deploy workflow of every repository: its name matches the default
# ``production_workflow_names`` (``(?i)deploy.*prod``).
DEPLOY_WORKFLOW = "Deploy to production"
RELEASE_IDS_FROM = 180_000_000
MONOREPO_SERVICES = ("services/payments", "services/ledger", "services/notifications", "web/app")
# One full cycle per tiny repository: every kind is present in the tiny org.
PR_KINDS = ("squash", "merge", "open", "squash", "bot", "closed", "rebase", "revert", "stale",
            "hotfix", "draft", "long")
# Lines added to each file of a large PR's commits, so that it passes the default 1,000 lines.
LARGE_FILE_LINES = 1_000
REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "APPROVED", "DISMISSED")


class GitHubData:
    """Repositories (GitHub and GitLab) and everything in them, generated when asked for."""

    def __init__(self, org: Org):
        self.org = org
        self.seed = org.seed
        self.mutations = org.mutations
        self._build_repos()

    def _build_repos(self) -> None:
        s = self.org.scale
        repos = []
        for i in range(s.github_repos + s.gitlab_projects + s.azuredevops_repos):
            host = ("github" if i < s.github_repos
                    else "gitlab" if i < s.github_repos + s.gitlab_projects else "azuredevops")
            if i == 0:
                name, services = "core-monorepo", MONOREPO_SERVICES
            else:
                base = REPO_NAMES[(i - 1) % len(REPO_NAMES)]
                name = base if i - 1 < len(REPO_NAMES) else f"{base}-{(i - 1) // len(REPO_NAMES) + 1}"
                services = ("",)
            team = self.org.teams[i % len(self.org.teams)].name
            created = self.org.created_at + timedelta(days=stable_int(self.seed, "repo", i) % 300)
            repos.append(Repo(i, host, name, team, services, s.items_per_repo,
                              5 if host == "github" else 0, 40_000_000 + self.seed * 1000 + i,
                              created))
        self.repos: tuple[Repo, ...] = tuple(r for r in repos if r.host == "github")
        self.gitlab_projects: tuple[Repo, ...] = tuple(r for r in repos if r.host == "gitlab")
        self.azuredevops_repos: tuple[Repo, ...] = tuple(
            r for r in repos if r.host == "azuredevops")
        self._repos_by_name = {(r.host, r.name): r for r in repos}
        self._repos_by_id = {r.repo_id: r for r in repos}

    def adopt(self, repos: tuple[Repo, ...]) -> None:
        """Generate another host's repositories too (Bitbucket's), so its items, mutations and
        deployments come from the same generator."""
        for repo in repos:
            self._repos_by_name[(repo.host, repo.name)] = repo
            self._repos_by_id[repo.repo_id] = repo

    def repo(self, name: str, host: str = "github") -> Repo | None:
        return self._repos_by_name.get((host, name))

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return self._repos_by_id.get(repo_id)

    def _repo_or_error(self, name: str, host: str) -> Repo:
        repo = self.repo(name, host)
        if repo is None:
            raise KeyError(f"no {host} repository named {name!r} in the {self.org.scale.name} org")
        return repo

    def _existing(self, repo: str, number: int, host: str, wants_pr: bool) -> tuple:
        """The mutation key of an existing PR/MR (or issue), or a KeyError naming it."""
        r = self._repo_or_error(repo, host)
        item = self.pull_request(r, number) if wants_pr else self.issue(r, number)
        if item is None:
            kind = "pull request" if wants_pr else "issue"
            raise KeyError(f"no {kind} #{number} in {host} repository {repo!r}")
        return ("gh", r.index, number)

    def touch_pull_request(self, repo: str, number: int, host: str = "github") -> datetime:
        """Mark a PR (or GitLab MR) updated now: its updated_at and ETag change."""
        return self.mutations.touch(self._existing(repo, number, host, wants_pr=True))

    def touch_merge_request(self, project: str, iid: int) -> datetime:
        return self.touch_pull_request(project, iid, host="gitlab")

    def touch_issue(self, repo: str, number: int) -> datetime:
        return self.mutations.touch(self._existing(repo, number, "github", wants_pr=False))

    def add_pull_request(self, repo: str, host: str = "github") -> int:
        """Open a new PR (or GitLab MR) created now; returns its number."""
        r = self._repo_or_error(repo, host)
        k = self.mutations.add("gh", r.index, r.items)
        while r.is_issue_number(k):
            # The number belongs to an issue slot: consume it as an issue opened and deleted
            # (GitHub numbers PRs and issues in one sequence, so gaps are real).
            self.mutations.delete(("gh", r.index, k))
            k = self.mutations.add("gh", r.index, r.items)
        return k

    def delete_issue(self, repo: str, number: int) -> None:
        """Delete an issue upstream: 404 afterwards, gone from every list."""
        self.mutations.delete(self._existing(repo, number, "github", wants_pr=False))

    def delete_pull_request(self, repo: str, number: int, host: str = "github") -> None:
        """Make a PR/MR disappear upstream (as after a repository purge), for deletion tests."""
        self.mutations.delete(self._existing(repo, number, host, wants_pr=True))

    def disable_issues(self, repo: str) -> None:
        """Switch a GitHub repository's issues off: ``has_issues`` false, the issue endpoints
        answer 410 "Issues are disabled for this repo"."""
        r = self._repo_or_error(repo, "github")
        self.mutations.disable_issues(r.index)

    def issues_enabled(self, repo: Repo) -> bool:
        return repo.index not in self.mutations.issues_disabled

    def item_count(self, repo: Repo) -> int:
        """Highest number in use (PRs and issues share one sequence, like on GitHub)."""
        return repo.items + self.mutations.added_count("gh", repo.index)

    # -- GitHub/GitLab items ------------------------------------------------------------------

    def _slot(self, repo: Repo, k: int) -> datetime:
        added = self.mutations.added_at("gh", repo.index, k)
        if added is not None:
            return added
        span = (self.org.anchor_at - self.org.start_at).total_seconds() - 86400
        jitter = rng(self.seed, "slot", repo.index, k).uniform(0.05, 0.45)
        return self.org.start_at + timedelta(seconds=span * (k - 1 + jitter) / repo.items)

    def item_exists(self, repo: Repo, number: int) -> bool:
        return 1 <= number <= self.item_count(repo) and not self.mutations.is_deleted(("gh", repo.index, number))

    def pull_request(self, repo: Repo, number: int) -> PullRequest | None:
        if not self.item_exists(repo, number) or repo.is_issue_number(number):
            return None
        pr = self._pull_request_base(repo, number, self.mutations.added_at("gh", repo.index, number))
        return self.mutations.with_touch(pr, ("gh", repo.index, number), "updated_at")

    def issue(self, repo: Repo, number: int) -> Issue | None:
        if not self.item_exists(repo, number) or not repo.is_issue_number(number):
            return None
        return self.mutations.with_touch(self._issue_base(repo, number), ("gh", repo.index, number), "updated_at")

    def item_updated_at(self, repo: Repo, number: int) -> datetime:
        item = self.pull_request(repo, number) or self.issue(repo, number)
        return item.updated_at

    def _pr_kind(self, repo: Repo, number: int) -> str:
        ordinal = number - (number // repo.issue_every if repo.issue_every else 0)
        return PR_KINDS[(ordinal - 1 + repo.index * 3) % len(PR_KINDS)]

    # -- the demo's hot spots: each makes one insight kind fire (docs/metrics.md, "insights") --

    @functools.cached_property
    def _single_maintainer_repo(self) -> Repo:
        """The last repository has one maintainer: bus factor one, and their work piles up."""
        return self.repos[-1]

    @functools.cached_property
    def _maintainer(self) -> Person:
        team = next(t for t in self.org.teams if t.name == self._single_maintainer_repo.team)
        return next(p for p in self.org.humans if p.login == team.members[0])

    @functools.cached_property
    def _gatekept_team(self):
        """The first team's PRs are all reviewed by its first member: review concentration."""
        return self.org.teams[0]

    def _gatekeeper(self, author: Person) -> Person:
        members = self._gatekept_team.members
        login = members[1] if author.login == members[0] and len(members) > 1 else members[0]
        return next(p for p in self.org.humans if p.login == login)

    def _slow_week_coding(self, merged: datetime | None) -> timedelta:
        """PRs merged in the last whole week before "now" were coded for a week longer: that
        week's cycle time is out of its trailing band."""
        monday = (self.org.anchor_at - timedelta(days=self.org.anchor_at.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0)
        if merged is not None and monday - timedelta(weeks=1) <= merged < monday:
            return timedelta(weeks=1)
        return timedelta(0)

    def _is_large(self, repo: Repo, number: int) -> bool:
        """Open PRs of every other round of kinds are large (over 1,000 changed lines)."""
        ordinal = number - (number // repo.issue_every if repo.issue_every else 0)
        return (self._pr_kind(repo, number) == "open"
                and (ordinal - 1) // len(PR_KINDS) % 2 == 0)

    def _pr_title(self, repo: Repo, number: int, kind: str, author: Person) -> str:
        gen = rng(self.seed, "title", repo.index, number)
        base = f"{gen.choice(TITLE_VERBS)} {gen.choice(TITLE_OBJECTS)}"
        if repo.is_monorepo:
            base = f"[{repo.services[number % len(repo.services)].split('/')[-1]}] {base}"
        if kind == "bot":
            return (f"Bump requests from 2.31.{number % 7} to 2.32.{number % 5} "
                    f"in /{repo.services[number % len(repo.services)]}")
        if kind == "revert":
            return f'Revert "{base}"'
        if kind == "hotfix":
            base = f"Hotfix: {base}"
        ordinal = number - (number // repo.issue_every if repo.issue_every else 0)
        decoration = TITLE_DECORATIONS[(ordinal - 1 + repo.index) % len(TITLE_DECORATIONS)]
        mention = self.org.humans[(number + 1) % len(self.org.humans)]
        return self.org.decorated_title(base, decoration, mention, "pr", repo.index, number)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - bounded, and the org outlives it
    def _pull_request_base(self, repo: Repo, number: int, added_at: datetime | None) -> PullRequest:
        gen = rng(self.seed, "pr", repo.index, number)
        created = self._slot(repo, number)
        kind = "open" if added_at is not None else self._pr_kind(repo, number)
        # A PR of a deleted account shows as "ghost"; every 17th human PR belongs to the former
        # employee so tiny has at least a few.
        if kind == "bot":
            author = self.org.dependabot
        elif number % 17 == 4:
            author = self.org.former
        else:
            author = self.org.random_human(gen)
            if repo is self._single_maintainer_repo:
                author = self._maintainer
        title = self._pr_title(repo, number, kind, author)
        body = (f"## Summary\n{gen.choice(TITLE_OBJECTS)} for {repo.name}.\n\n"
                f"{self.org.canary('pr-body', repo.index, number)}\n")
        duration = {
            "squash": gen.uniform(2, 72), "merge": gen.uniform(4, 120), "rebase": gen.uniform(1, 48),
            "closed": gen.uniform(24, 300), "bot": gen.uniform(0.5, 30), "revert": gen.uniform(0.2, 3),
            "hotfix": gen.uniform(0.3, 4), "long": gen.uniform(500, 1400),
        }.get(kind)
        finished = created + timedelta(hours=duration) if duration is not None else None
        if finished is not None and finished > self.org.anchor_at - timedelta(hours=1):
            kind, finished = "open", None
        merged = finished if kind in ("squash", "merge", "rebase", "bot", "revert", "hotfix",
                                      "long") else None
        closed = finished
        head_ref = {"bot": f"dependabot/pip/requests-2.32.{number % 5}",
                    "hotfix": f"hotfix/{number}", "revert": f"revert-{number}"}.get(
            kind, f"{author.login.split('-')[0]}/change-{number}")
        reviewers = [self.org.random_human(gen, author) for _ in range(gen.randrange(0, 4))]
        if author.team == self._gatekept_team.name:
            reviewers = [self._gatekeeper(author) for _ in reviewers]
        if kind in ("hotfix", "bot") and number % 2:
            reviewers = []
        end = finished or (created if added_at is not None else created + timedelta(days=3) if kind == "stale" else
                           min(self.org.anchor_at - timedelta(minutes=5), created + timedelta(hours=gen.uniform(1, 96))))
        n_commits = 1 if kind in ("bot", "revert") else 1 + gen.randrange(4)
        commits = []
        parent = self._sha(repo, number, 9, 0)
        slow_start = self._slow_week_coding(merged)
        for i in range(n_commits):
            at = (created - timedelta(hours=n_commits - i) if i < n_commits - 1 else created
                  ) - slow_start
            sha = self._sha(repo, number, 0, i)
            commits.append(self._commit(repo, number, i, sha, author, author, at, at,
                                        f"{title[:60]}: step {i + 1}", (parent,), gen,
                                        large=self._is_large(repo, number)))
            parent = sha
        reviews = []
        for j, reviewer in enumerate(reviewers):
            at = created + (end - created) * (j + 1) / (len(reviewers) + 1)
            state = REVIEW_STATES[(number + j) % len(REVIEW_STATES)]
            if merged and j == len(reviewers) - 1:
                state = "APPROVED"
            review_body = "" if state == "APPROVED" and j % 2 == 0 else (
                f"Looks {'good' if state == 'APPROVED' else 'risky'}. "
                f"{self.org.canary('review-body', repo.index, number, j)}")
            reviews.append(Review(stable_int(self.seed, "review", repo.index, number, j) % 10**9,
                                  reviewer, state, review_body, at, commits[-1].sha))
        comments = tuple(
            Comment(stable_int(self.seed, "comment", repo.index, number, j) % 10**10,
                    self.org.random_human(gen), f"Comment: {self.org.canary('comment-body', repo.index, number, j)}",
                    created + (end - created) * (j + 1) / 4, created + (end - created) * (j + 1) / 4)
            for j in range(gen.randrange(0, 3)))
        landed: tuple[Commit, ...] = ()
        merge_sha = None
        merged_by = None
        if merged:
            merged_by = reviewers[-1] if reviewers else author if not author.is_bot else self.org.humans[0]
            if kind == "merge":
                merge_sha = self._sha(repo, number, 2, 0)
                landed = (*commits, self._commit(
                    repo, number, 100, merge_sha, merged_by, None, merged, merged,
                    f"Merge pull request #{number} from {self.org.login}/{head_ref}\n\n{title}\n\n"
                    f"{self.org.canary('commit-body', repo.index, number, 'merge')}",
                    (self._sha(repo, number, 9, 0), commits[-1].sha), gen))
            elif kind == "rebase":
                rebased = []
                for i, c in enumerate(commits):
                    rebased.append(_replace(c, sha=self._sha(repo, number, 3, i), committer=None,
                                            committed_at=merged))
                landed = tuple(rebased)
                merge_sha = landed[-1].sha
            else:
                merge_sha = self._sha(repo, number, 1, 0)
                files = tuple(f for c in commits for f in c.files)
                landed = (Commit(merge_sha, author, None, created, merged, f"{title} (#{number})\n\n"
                                 f"* squashed {len(commits)} commits\n"
                                 f"{self.org.canary('commit-body', repo.index, number, 'squash')}",
                                 (self._sha(repo, number, 9, 0),), files),)
        elif kind not in ("closed",):
            merge_sha = self._sha(repo, number, 4, 0)  # test-merge commit GitHub keeps for open PRs
        updated = max([end, *(r.submitted_at for r in reviews), *(c.updated_at for c in comments)])
        labels = {"bot": ("dependencies",), "hotfix": ("hotfix",), "revert": ("revert", "incident")
                  }.get(kind, ("enhancement",) if number % 3 == 0 else ())
        requested = tuple(p for p in self.org.humans[number % len(self.org.humans): number % len(self.org.humans) + 1]
                          if kind in ("open", "draft", "stale") and p is not author)
        return PullRequest(
            repo=repo, number=number, kind=kind, title=title, body=body, author=author,
            created_at=created, updated_at=updated, closed_at=closed, merged_at=merged,
            merged_by=merged_by, draft=kind == "draft", head_ref=head_ref, base_ref="main",
            labels=labels, commits=tuple(commits), merge_commit_sha=merge_sha, landed=landed,
            reviews=tuple(reviews), comments=comments, requested_reviewers=requested)

    def _sha(self, repo: Repo, number: int, role: int, i: int) -> str:
        """A commit sha that encodes where it comes from (masked by its own first half), so
        single-commit lookups need no index."""
        head = stable_hex(20, self.seed, "sha", repo.index, number, role, i)
        where = int(f"{repo.index:04x}{number:08x}{role:02x}{i:06x}", 16)
        return f"{head}{where ^ int(head, 16):020x}"

    def commit_by_sha(self, repo: Repo, sha: str) -> Commit | None:
        if len(sha) != 40:
            return None
        try:
            where = f"{int(sha[20:], 16) ^ int(sha[:20], 16):020x}"
        except ValueError:
            return None
        r, number, role, i = (int(where[:4], 16), int(where[4:12], 16), int(where[12:14], 16),
                              int(where[14:], 16))
        if r != repo.index or self._sha(repo, number, role, i) != sha:
            return None
        pr = self.pull_request(repo, number)
        if pr is None:
            return None
        for c in (*pr.commits, *pr.landed):
            if c.sha == sha:
                return c
        return None

    def _commit(self, repo: Repo, number: int, i: int, sha: str, author: Person,
                committer: Person | None, authored: datetime, committed: datetime, message: str,
                parents: tuple[str, ...], gen: random.Random, large: bool = False) -> Commit:
        if "\n\n" not in message:
            message = f"{message}\n\n{self.org.canary('commit-body', repo.index, number, i)}"
        files = []
        for f in range(1 + (stable_int(self.seed, "files", repo.index, number, i) % 3)):
            service = repo.services[(number + f) % len(repo.services)]
            prefix = f"{service}/" if service else ""
            ext = ("py", "ts", "go", "md", "yaml")[(number + i + f) % 5]
            adds, dels = gen.randrange(1, 120), gen.randrange(0, 60)
            if large:
                adds += LARGE_FILE_LINES
            status = "added" if (i + f) % 7 == 3 else "modified"
            patch = (f"@@ -1,{dels + 1} +1,{adds + 1} @@\n context line\n"
                     f"+{self.org.canary('patch', repo.index, number, i, f)} = compute(value)\n-old = value\n")
            files.append(FileChange(f"{prefix}src/module_{(number * 7 + f) % 23}_{i}.{ext}", status,
                                    adds, 0 if status == "added" else dels, patch,
                                    stable_hex(40, self.seed, "blob", repo.index, number, i, f)))
        return Commit(sha, author, committer, authored, committed, message, parents, tuple(files))

    @functools.lru_cache(maxsize=2048)  # noqa: B019 - bounded, and the org outlives it
    def _issue_base(self, repo: Repo, number: int) -> Issue:
        gen = rng(self.seed, "issue", repo.index, number)
        created = self._slot(repo, number)
        author = self.org.random_human(gen)
        base = f"{gen.choice(('Bug', 'Question', 'Chore'))}: {gen.choice(TITLE_OBJECTS)}"
        decoration = TITLE_DECORATIONS[(number // 5 + repo.index) % len(TITLE_DECORATIONS)]
        title = self.org.decorated_title(base, decoration, self.org.humans[number % len(self.org.humans)],
                                     "issue", repo.index, number)
        closed = created + timedelta(hours=gen.uniform(5, 600)) if number % 3 else None
        if closed and closed > self.org.anchor_at:
            closed = None
        comments = tuple(
            Comment(stable_int(self.seed, "icomment", repo.index, number, j) % 10**10,
                    self.org.random_human(gen), f"Seen this too. {self.org.canary('comment-body', repo.index, number, 'i', j)}",
                    created + timedelta(hours=3 * (j + 1)), created + timedelta(hours=3 * (j + 1)))
            for j in range(gen.randrange(0, 4)))
        updated = max([closed or created + timedelta(minutes=10), *(c.updated_at for c in comments)])
        return Issue(repo, number, title,
                     f"Steps to reproduce...\n{self.org.canary('issue-body', repo.index, number)}",
                     author, created, updated, closed, ("bug",) if "Bug" in base else (), comments,
                     self.org.humans[(number + 2) % len(self.org.humans)] if number % 2 else None)

    # -- per-repo indexes (small tuples, cached for a bounded number of repos) -----------------

    def updated_index(self, repo: Repo) -> tuple[tuple[datetime, int], ...]:
        """(updated_at, number) of every live item in the repo, oldest update first."""
        return self._updated_index(repo, self.org.version)

    # Index caches hold every repository of the large org (about 15 MB each), so a nightly
    # no-change sync does not rebuild them; a mutation (new version) rebuilds lazily.

    @functools.lru_cache(maxsize=128)  # noqa: B019 - bounded, and the org outlives it
    def _updated_index(self, repo: Repo, _version: int) -> tuple[tuple[datetime, int], ...]:
        rows = [(self.item_updated_at(repo, k), k) for k in range(1, self.item_count(repo) + 1)
                if self.item_exists(repo, k)]
        return tuple(sorted(rows))

    def default_branch_commits(self, repo: Repo) -> tuple[tuple[datetime, str, int], ...]:
        """(committed_at, sha, pr number) of the default branch, newest first."""
        return self._branch_index(repo, self.org.version)

    @functools.lru_cache(maxsize=128)  # noqa: B019 - bounded, and the org outlives it
    def _branch_index(self, repo: Repo, _version: int) -> tuple[tuple[datetime, str, int], ...]:
        rows = []
        for k in range(1, self.item_count(repo) + 1):
            pr = self.pull_request(repo, k)
            if pr is not None and pr.merged_at:
                rows.extend((c.committed_at, c.sha, k) for c in pr.landed)
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        return tuple(rows)

    def commit_on_branch_before(self, repo: Repo, at: datetime) -> str:
        rows = self.default_branch_commits(repo)
        for committed_at, sha, _ in rows:
            if committed_at <= at:
                return sha
        return self._sha(repo, 0, 9, 0)

    # -- deployments, releases, workflow runs -------------------------------------------------

    def deployment_trains(self, repo: Repo) -> int:
        return int((self.org.anchor_at - self.org.start_at).days / self.org.scale.deploy_interval_days)

    def deployments(self, repo: Repo) -> list[Deployment]:
        """Every deployment of the repo, newest first (two per train: staging, then production)."""
        out = []
        for train in range(self.deployment_trains(repo) - 1, -1, -1):
            out.extend(reversed(self._train(repo, train)))
        return out

    def deployment(self, repo: Repo, deployment_id: int) -> Deployment | None:
        train, env = divmod(deployment_id - repo.repo_id * 10_000, 2)
        if not 0 <= train < self.deployment_trains(repo) or deployment_id < repo.repo_id * 10_000:
            return None
        return self._train(repo, train)[env]

    def train_time(self, repo: Repo, train: int) -> datetime:
        """When a train's staging deployment starts (production follows two hours later)."""
        jitter = rng(self.seed, "train", repo.index, train).uniform(-6, 6)
        return self.org.start_at + timedelta(days=self.org.scale.deploy_interval_days * (train + 0.5), hours=jitter)

    def incident_cause(self, number: int) -> tuple[Repo, int]:
        """(repo, train) of the failed production deployment that OPS incident ``number``
        follows. Production fails on every train ``t`` with ``t % 7 == 3``."""
        repo = self.repos[number % len(self.repos)]
        failures = max(1, (self.deployment_trains(repo) - 3 + 6) // 7)
        return repo, 7 * ((number // len(self.repos)) % failures) + 3

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - bounded, and the org outlives it
    def _train(self, repo: Repo, train: int) -> tuple[Deployment, Deployment]:
        at = self.train_time(repo, train)
        sha = self.commit_on_branch_before(repo, at)
        out = []
        for env_index, env in enumerate(("staging", "production")):
            started = at + timedelta(hours=2 * env_index)
            # Production fails for every 7th train, staging every 11th: incidents follow failures.
            failed = (train % 7 == 3) if env == "production" else (train % 11 == 5)
            final = "failure" if failed else ("error" if train % 13 == 12 and env == "staging"
                                              else "success")
            dep_id = repo.repo_id * 10_000 + train * 2 + env_index
            statuses = tuple(
                DeploymentStatus(dep_id * 10 + s, state, started + timedelta(minutes=4 * s + 1),
                                 f"Deployment {state}")
                for s, state in enumerate(("queued", "in_progress", final)))
            out.append(Deployment(repo, dep_id, train, env, sha, "main", self.org.ci_bot, started, statuses))
        return out[0], out[1]

    def releases(self, repo: Repo) -> list[Release]:
        """A release (and tag) for every successful production deployment, newest first. Release
        ids are in the range of github.com's today (a few hundred million), which GraphQL's
        32-bit ``Release.databaseId`` holds."""
        out = []
        for train in range(self.deployment_trains(repo) - 1, -1, -1):
            prod = self._train(repo, train)[1]
            if prod.outcome == "success":
                releaser = self.org.humans[(train + repo.index) % len(self.org.humans)]
                release_id = RELEASE_IDS_FROM + repo.index * 100_000 + train
                out.append(Release(repo, release_id, f"v1.{train}.0", prod.sha, releaser,
                                   prod.created_at - timedelta(minutes=30), prod.created_at))
        return out

    def failed_production_deployments(self) -> list[Deployment]:
        return [d for repo in self.repos for train in range(self.deployment_trains(repo))
                for d in self._train(repo, train)[1:] if d.outcome == "failure"]

    def workflow_runs(self, repo: Repo) -> tuple[WorkflowRun, ...]:
        """CI runs: one per PR head (pull_request) and one per merge (push), newest first."""
        return self._workflow_runs(repo, self.org.version)

    def workflow_run(self, repo: Repo, run_id: int) -> WorkflowRun | None:
        return self._workflow_runs_by_id(repo, self.org.version).get(run_id)

    # Every page of a run listing and every pipeline detail asks for these; built once per repo
    # and version (a few repositories at a time, as connectors walk them).

    @functools.lru_cache(maxsize=16)  # noqa: B019 - bounded, and the org outlives it
    def _workflow_runs_by_id(self, repo: Repo, version: int) -> dict[int, WorkflowRun]:
        return {run.run_id: run for run in self._workflow_runs(repo, version)}

    @functools.lru_cache(maxsize=16)  # noqa: B019 - bounded, and the org outlives it
    def _workflow_runs(self, repo: Repo, _version: int) -> tuple[WorkflowRun, ...]:
        runs = []
        for k in range(1, self.item_count(repo) + 1):
            pr = self.pull_request(repo, k)
            if pr is None:
                continue
            gen = rng(self.seed, "run", repo.index, k)
            conclusion = ("success", "success", "failure", "success", "skipped", "cancelled",
                          "success")[k % 7]
            start = pr.created_at + timedelta(minutes=2)
            status = "completed" if pr.state == "closed" or k % 5 else "in_progress"
            runs.append(WorkflowRun(
                repo, repo.repo_id * 100_000 + k * 10, "CI", "pull_request", pr.head_ref, pr.head_sha,
                status, conclusion if status == "completed" else None, pr.author, 2 * k,
                start, start + timedelta(minutes=gen.uniform(3, 25)), k))
            if pr.merged_at:
                start = pr.merged_at + timedelta(minutes=1)
                runs.append(WorkflowRun(
                    repo, repo.repo_id * 100_000 + k * 10 + 1, "CI", "push", "main",
                    pr.merge_commit_sha or pr.head_sha, "completed",
                    "failure" if k % 9 == 4 else "success", pr.merged_by or pr.author,
                    2 * k + 1, start, start + timedelta(minutes=gen.uniform(3, 25)), None))
        runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        return tuple(runs)

    def workflows(self, repo: Repo) -> tuple[Workflow, ...]:
        """The repository's Actions workflows: CI (every pull request and merge) and a
        production deploy workflow (one run per production deployment train)."""
        return (Workflow(repo.repo_id * 10 + 1, "CI", ".github/workflows/ci.yml"),
                Workflow(repo.repo_id * 10 + 2, DEPLOY_WORKFLOW, ".github/workflows/deploy.yml"))

    def all_workflow_runs(self, repo: Repo) -> tuple[WorkflowRun, ...]:
        """The runs of every workflow of the repository, newest created first (what
        ``/actions/runs`` lists); ``workflow_runs`` alone are CI's."""
        runs = [*self.workflow_runs(repo), *self.deploy_runs(repo)]
        return tuple(sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True))

    def deploy_runs(self, repo: Repo) -> tuple[WorkflowRun, ...]:
        """The deploy workflow's runs, newest first: each production deployment is made by one
        run (its outcome the deployment's), started five minutes before it."""
        runs = []
        for train in range(self.deployment_trains(repo) - 1, -1, -1):
            prod = self._train(repo, train)[1]
            start = prod.created_at - timedelta(minutes=5)
            runs.append(WorkflowRun(
                repo, repo.repo_id * 100_000 + train * 10 + 2, DEPLOY_WORKFLOW, "push", "main",
                prod.sha, "completed", "success" if prod.outcome == "success" else "failure",
                prod.creator, train + 1, start, prod.updated_at, None))
        return tuple(runs)

    # -- canaries ---------------------------------------------------------------------------

    def canary_texts(self) -> Iterator[str]:
        """Every text holding a canary: bodies, reviews, comments, commit messages, patches."""
        for repo in (*self.repos, *self.gitlab_projects):
            for k in range(1, self.item_count(repo) + 1):
                pr = self.pull_request(repo, k)
                if pr is not None:
                    yield pr.body
                    yield from (r.body for r in pr.reviews if r.body)
                    yield from (c.body for c in pr.comments)
                    for c in (*pr.commits, *pr.landed):
                        yield c.message.split("\n\n", 1)[1]
                        yield from (f.patch for f in c.files)
                issue = self.issue(repo, k)
                if issue is not None:
                    yield issue.body
                    yield from (c.body for c in issue.comments)
