"""GitHub REST v3 emulator (also served under the Enterprise prefix ``/api/v3``).

Shapes follow the recorded exchanges in shared/reference/github-recorded (PullRequest.setUp,
PullRequest.testGetFiles, PullRequestReview.setUp, Repository.testGetCommits*,
Repository.testGetIssues, Deployment*.setUp, WorkflowRun.setUp, RateLimiting, Exceptions,
ConditionalRequestUpdate) and octokit's paginate-issues fixture for Link headers; endpoints
and parameters follow docs.github.com/rest (API version 2022-11-28). ``GET /user/orgs`` needs
the ``read:org`` or ``user`` scope and answers a token without it 403 "You need at least read:org
scope or user scope to list your organizations."; ``GET /user/repos`` lists what the reader
reaches through ``affiliation`` (it owns no repository and collaborates on none, so only
``organization_member`` finds the org's) and refuses ``type`` beside ``visibility`` or
``affiliation`` with 422. The workflow runs listing honours ``exclude_pull_requests=true``
("If true pull requests are omitted from the response (empty array)", docs.github.com/rest/
actions/workflow-runs#list-workflow-runs-for-a-repository). ``/actions/workflows`` lists a
repository's workflows (``{"total_count", "workflows": [{id, node_id, name, path, state,
...}]}``, docs.github.com/rest/actions/workflows#list-repository-workflows) and
``/actions/workflows/{workflow_id}/runs`` the runs of one, by id or file name, with the same
parameters and shape as the repository's listing (docs.github.com/rest/actions/workflow-runs#
list-workflow-runs-for-a-workflow); every repository has a CI workflow and a "Deploy to
production" workflow whose runs make its production deployments.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar

from emulators.framework import (
    ApiApp,
    ApiError,
    RateLimitState,
    Request,
    Response,
    iso_z,
    link_header,
    numbered_page,
    strip_prefix,
)
from emulators.github.app import RATE_LIMIT_WINDOW_SECONDS, AppInstallations, installation_budget
from emulators.github.graphql import BUDGET_API, GitHubGraphQL
from emulators.github.model import (
    Commit,
    Deployment,
    FileChange,
    Issue,
    PullRequest,
    WorkflowRun,
)
from emulators.model import Person, Repo, stable_hex
from emulators.org import Org

HTML_ROOT = "https://github.sieve-demo.example"
DOCS = "https://docs.github.com/rest"
ENTERPRISE_PREFIX = "/api/v3"
GHOST_ID = 10137
WEB_FLOW_ID = 19864447
EXPOSE_HEADERS = ("ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, "
                  "X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, "
                  "X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, "
                  "X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset")
# The classic token's scopes the emulated token carries; a test may narrow them.
DEFAULT_SCOPES = ("read:org", "repo")
ORG_LISTING_SCOPES = {"read:org", "write:org", "admin:org", "user"}
AFFILIATIONS = ("owner", "collaborator", "organization_member")
LABEL_COLOURS = {"dependencies": "0366d6", "hotfix": "d93f0b", "revert": "b60205",
                 "incident": "e11d21", "enhancement": "a2eeef", "bug": "d73a4a"}


def _node_id(kind: str, number: int) -> str:
    return f"{kind}_kw{stable_hex(14, kind, number)}"


def _parse_since(value: str | None, name: str = "since") -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, {"message": f"Invalid value for {name}: {value!r} is not an ISO 8601 "
                                        "timestamp", "documentation_url": DOCS, "status": "422"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GitHubApp(ApiApp):
    name = "github"
    credentials: ClassVar[dict[str, str]] = {"token": "demo-token"}
    # GraphQL spends points of its own budget (emulators.github.graphql), not REST requests.
    uncounted_endpoints = frozenset({"GET /rate_limit", "POST /graphql", "POST /api/graphql"})

    def __init__(self, org: Org, token: str):
        super().__init__()
        self.org = org
        self.data = org.github
        self.token = token
        self.viewer = replace(org.humans[0], login="sieve-reader", name="Sieve reader",
                              github_id=90000001, index=-1)
        self.app_installations = AppInstallations(
            org.login, org.org_id, lambda: (len(self.data.repos), len(org.humans)))
        self.token_scopes = DEFAULT_SCOPES
        r = self.route
        self.app_installations.add_routes(r)
        r("GET", "/rate_limit", self.rate_limit)
        r("GET", "/user", self.authenticated_user)
        r("GET", "/user/orgs", self.user_orgs)
        r("GET", "/user/repos", self.user_repos)
        r("GET", "/users/{login}", self.user)
        r("GET", "/orgs/{org}", self.organization)
        r("GET", "/orgs/{org}/members", self.org_members)
        r("GET", "/orgs/{org}/repos", self.org_repos)
        r("GET", "/repos/{owner}/{repo}", self.repository)
        r("GET", "/repos/{owner}/{repo}/pulls", self.pulls)
        r("GET", "/repos/{owner}/{repo}/pulls/{number}", self.pull)
        r("GET", "/repos/{owner}/{repo}/pulls/{number}/reviews", self.pull_reviews)
        r("GET", "/repos/{owner}/{repo}/pulls/{number}/commits", self.pull_commits)
        r("GET", "/repos/{owner}/{repo}/pulls/{number}/files", self.pull_files)
        r("GET", "/repos/{owner}/{repo}/issues", self.issues)
        r("GET", "/repos/{owner}/{repo}/issues/{number}", self.issue)
        r("GET", "/repos/{owner}/{repo}/issues/{number}/comments", self.issue_comments)
        r("GET", "/repos/{owner}/{repo}/commits", self.commits)
        r("GET", "/repos/{owner}/{repo}/commits/{sha}", self.commit)
        r("GET", "/repos/{owner}/{repo}/deployments", self.deployments)
        r("GET", "/repos/{owner}/{repo}/deployments/{id}", self.deployment)
        r("GET", "/repos/{owner}/{repo}/deployments/{id}/statuses", self.deployment_statuses)
        r("GET", "/repos/{owner}/{repo}/releases", self.releases)
        r("GET", "/repos/{owner}/{repo}/tags", self.tags)
        r("GET", "/repos/{owner}/{repo}/actions/runs", self.workflow_runs)
        r("GET", "/repos/{owner}/{repo}/actions/workflows", self.workflows)
        r("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
          self.workflow_runs)
        self.graphql = GitHubGraphQL(self)
        r("POST", "/graphql", self.graphql.handle)
        r("POST", "/api/graphql", self.graphql.handle)  # GitHub Enterprise Server

    def reset(self) -> None:
        self.graphql.reset()
        self.app_installations.reset()
        self.token_scopes = DEFAULT_SCOPES

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        rel = strip_prefix(path, ENTERPRISE_PREFIX)
        return (ENTERPRISE_PREFIX, rel) if rel is not None else ("", path)

    def authenticate(self, request: Request) -> ApiError | None:
        if self.app_installations.needs_jwt(request):
            return self.app_installations.check_jwt(request)
        header = request.header("authorization")
        if not header:
            return ApiError(401, {"message": "Requires authentication", "documentation_url": DOCS,
                                  "status": "401"})
        scheme, _, value = header.partition(" ")
        value = value.strip()
        installation = (self.app_installations.installation_of(value)
                        if scheme.lower() in ("token", "bearer") and value != self.token else None)
        if scheme.lower() not in ("token", "bearer") or (
                value != self.token and installation is None):
            return ApiError(401, {"message": "Bad credentials", "documentation_url": DOCS,
                                  "status": "401"})
        if installation is not None:
            request.budget = installation_budget(installation)
            self.rate_limits.add_budget(request.budget,
                                        self.app_installations.rate_limit(installation),
                                        RATE_LIMIT_WINDOW_SECONDS)
        return None

    def not_found(self, request: Request) -> ApiError:
        return ApiError(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {
            "Server": "GitHub.com",
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding, Accept, X-Requested-With",
            "X-OAuth-Scopes": ", ".join(self.token_scopes),
            "X-Accepted-OAuth-Scopes": "repo",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
            "Access-Control-Expose-Headers": EXPOSE_HEADERS,
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
            "X-GitHub-Request-Id": f"{request_number:04X}:{self.org.seed:04X}:{request_number * 7919:06X}",
        }

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(state.limit),
            "X-RateLimit-Remaining": str(state.remaining),
            "X-RateLimit-Reset": str(state.reset_epoch),
            "X-RateLimit-Used": str(min(state.used, state.limit)),
            "X-RateLimit-Resource": "core",
        }

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        who = (f"installation ID {request.budget.rsplit('_', 1)[1]}" if request.budget
               else f"user ID {self.viewer.github_id}")
        return ApiError(403, {
            "message": f"API rate limit exceeded for {who}.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            "status": "403"})

    def secondary_rate_limited(self, retry_after: int, request: Request) -> ApiError:
        return ApiError(403, {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
                       "you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                                 "#about-secondary-rate-limits",
            "status": "403"}, {"Retry-After": str(retry_after)})

    def server_error(self, status: int) -> ApiError:
        return ApiError(status, {"message": "Server Error"})

    # -- helpers -----------------------------------------------------------------------------

    def _check_org(self, request: Request) -> None:
        if request.params["org"] != self.org.login:
            raise self.not_found(request)

    def _repo(self, request: Request) -> Repo:
        owner, name = request.params["owner"], request.params["repo"]
        repo = self.data.repo(name, "github") if owner == self.org.login else None
        if repo is None:
            raise self.not_found(request)
        return repo

    def _number(self, request: Request, key: str = "number") -> int:
        raw = request.params[key]
        if not raw.isdigit():
            raise self.not_found(request)
        return int(raw)

    def _paginate(self, request: Request, items: list, render, default: int = 30,
                  wrap: str | None = None) -> Response:
        """Page-number pagination with GitHub's Link header (prev, next, last, first)."""
        page = numbered_page(request, len(items), default, 100)
        body: object = [render(items[i]) for i in page.window]
        if wrap is not None:
            body = {"total_count": page.total, wrap: body}
        rels = []
        if page.page > 1:
            rels.append(("prev", min(page.page - 1, page.last)))
        if page.page < page.last:
            rels += [("next", page.page + 1), ("last", page.last)]
        if page.page > 1:
            rels.append(("first", 1))
        return Response(body=body, headers={"Link": link_header(request, rels)} if rels else {})

    def user_json(self, person: Person | None, base: str) -> dict | None:
        return None if person is None else self._user_json(person, base)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - bounded, and the org outlives it
    def _user_json(self, person: Person, base: str) -> dict:
        """Cached: the same user object is embedded many times per page (never mutated)."""
        if person.is_deleted:
            login, uid, kind = "ghost", GHOST_ID, "User"
        else:
            login, uid, kind = person.login, person.github_id, "Bot" if person.is_bot else "User"
        url = f"{base}/users/{login}"
        return {
            "login": login, "id": uid, "node_id": _node_id("U", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": url, "html_url": f"{HTML_ROOT}/{login}",
            "followers_url": f"{url}/followers", "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}", "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events", "type": kind,
            "user_view_type": "public", "site_admin": False,
        }

    def _web_flow(self, base: str) -> dict:
        url = f"{base}/users/web-flow"
        return {"login": "web-flow", "id": WEB_FLOW_ID, "node_id": _node_id("U", WEB_FLOW_ID),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{WEB_FLOW_ID}?v=4",
                "gravatar_id": "", "url": url, "html_url": f"{HTML_ROOT}/web-flow",
                "type": "User", "site_admin": False}

    def _org_owner(self, base: str) -> dict:
        url = f"{base}/users/{self.org.login}"
        return {"login": self.org.login, "id": self.org.org_id, "node_id": _node_id("O", self.org.org_id),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{self.org.org_id}?v=4",
                "gravatar_id": "", "url": url, "html_url": f"{HTML_ROOT}/{self.org.login}",
                "repos_url": f"{url}/repos", "type": "Organization", "user_view_type": "public",
                "site_admin": False}

    def repo_json(self, repo: Repo, base: str) -> dict:
        return self._repo_json(repo, base, self.org.version)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - bounded, and the org outlives it
    def _repo_json(self, repo: Repo, base: str, _version: int) -> dict:
        full = f"{self.org.login}/{repo.name}"
        url = f"{base}/repos/{full}"
        now = iso_z(self.org.now)
        return {
            "id": repo.repo_id, "node_id": _node_id("R", repo.repo_id), "name": repo.name,
            "full_name": full, "private": True, "owner": self._org_owner(base),
            "html_url": f"{HTML_ROOT}/{full}",
            "description": "Monorepo: " + ", ".join(repo.services) if repo.is_monorepo else f"{repo.name} service",
            "fork": False, "url": url,
            "issues_url": f"{url}/issues{{/number}}", "pulls_url": f"{url}/pulls{{/number}}",
            "commits_url": f"{url}/commits{{/sha}}", "deployments_url": f"{url}/deployments",
            "releases_url": f"{url}/releases{{/id}}", "tags_url": f"{url}/tags",
            "created_at": iso_z(repo.created_at), "updated_at": now, "pushed_at": now,
            "git_url": f"git://github.sieve-demo.example/{full}.git",
            "ssh_url": f"git@github.sieve-demo.example:{full}.git",
            "clone_url": f"{HTML_ROOT}/{full}.git", "homepage": None, "size": 1000 + repo.index * 37,
            "stargazers_count": repo.index % 5, "watchers_count": repo.index % 5,
            "language": "Python" if repo.index % 2 == 0 else "TypeScript",
            "has_issues": self.data.issues_enabled(repo), "has_projects": True, "has_downloads": True, "has_wiki": False,
            "has_pages": False, "has_discussions": False, "forks_count": 0, "mirror_url": None,
            "archived": False, "disabled": False, "open_issues_count": 0, "license": None,
            "allow_forking": False, "is_template": False, "web_commit_signoff_required": False,
            "topics": ["monorepo"] if repo.is_monorepo else [], "visibility": "private",
            "forks": 0, "open_issues": 0, "watchers": repo.index % 5, "default_branch": "main",
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False,
                            "pull": True},
        }

    def _label(self, name: str, base: str, repo: Repo) -> dict:
        return {"id": _label_id(name), "node_id": _node_id("LA", _label_id(name)),
                "url": f"{base}/repos/{self.org.login}/{repo.name}/labels/{name}", "name": name,
                "color": LABEL_COLOURS.get(name, "ededed"), "default": name == "bug",
                "description": None}

    def _association(self, person: Person) -> str:
        if person.is_bot:
            return "CONTRIBUTOR"
        return "NONE" if person.is_deleted else "MEMBER"

    def pr_json(self, pr: PullRequest, base: str, full: bool) -> dict:
        repo = pr.repo
        full_name = f"{self.org.login}/{repo.name}"
        url = f"{base}/repos/{full_name}/pulls/{pr.number}"
        issue_url = f"{base}/repos/{full_name}/issues/{pr.number}"
        html = f"{HTML_ROOT}/{full_name}/pull/{pr.number}"
        repo_json = self.repo_json(repo, base)
        owner = self._org_owner(base)
        body = {
            "url": url, "id": 2_000_000_000 + repo.index * 1_000_000 + pr.number,
            "node_id": _node_id("PR", repo.index * 1_000_000 + pr.number), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue_url,
            "number": pr.number, "state": pr.state, "locked": False, "title": pr.title,
            "user": self.user_json(pr.author, base), "body": pr.body,
            "created_at": iso_z(pr.created_at), "updated_at": iso_z(pr.updated_at),
            "closed_at": iso_z(pr.closed_at), "merged_at": iso_z(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [self.user_json(p, base) for p in pr.requested_reviewers],
            "requested_teams": [], "labels": [self._label(n, base, repo) for n in pr.labels],
            "milestone": None, "draft": pr.draft,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{base}/repos/{full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{base}/repos/{full_name}/statuses/{pr.head_sha}",
            "head": {"label": f"{self.org.login}:{pr.head_ref}", "ref": pr.head_ref, "sha": pr.head_sha,
                     "user": owner, "repo": repo_json},
            "base": {"label": f"{self.org.login}:{pr.base_ref}", "ref": pr.base_ref,
                     "sha": pr.commits[0].parents[0], "user": owner, "repo": repo_json},
            "_links": {
                "self": {"href": url}, "html": {"href": html}, "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{base}/repos/{full_name}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{base}/repos/{full_name}/statuses/{pr.head_sha}"},
            },
            "author_association": self._association(pr.author), "auto_merge": None,
            "active_lock_reason": None,
        }
        if full:
            body.update({
                "merged": pr.merged_at is not None,
                "mergeable": None if pr.closed_at else True, "rebaseable": None if pr.closed_at else True,
                "mergeable_state": "unknown" if pr.closed_at else "clean",
                "merged_by": self.user_json(pr.merged_by, base), "comments": len(pr.comments),
                "review_comments": sum(1 for r in pr.reviews if r.body), "maintainer_can_modify": False,
                "commits": len(pr.commits), "additions": pr.additions,
                "deletions": pr.deletions, "changed_files": len(pr.files),
            })
        return body

    def issue_json(self, item: Issue | PullRequest, base: str) -> dict:
        repo = item.repo
        full_name = f"{self.org.login}/{repo.name}"
        url = f"{base}/repos/{full_name}/issues/{item.number}"
        is_pr = isinstance(item, PullRequest)
        html = f"{HTML_ROOT}/{full_name}/{'pull' if is_pr else 'issues'}/{item.number}"
        assignee = None if is_pr else item.assignee
        body = {
            "url": url, "repository_url": f"{base}/repos/{full_name}",
            "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments",
            "events_url": f"{url}/events", "html_url": html,
            "id": 1_000_000_000 + repo.index * 1_000_000 + item.number,
            "node_id": _node_id("I", repo.index * 1_000_000 + item.number), "number": item.number,
            "title": item.title, "user": self.user_json(item.author, base),
            "labels": [self._label(n, base, repo) for n in item.labels], "state": item.state,
            "locked": False, "assignee": self.user_json(assignee, base),
            "assignees": [self.user_json(assignee, base)] if assignee else [], "milestone": None,
            "comments": len(item.comments), "created_at": iso_z(item.created_at),
            "updated_at": iso_z(item.updated_at), "closed_at": iso_z(item.closed_at),
            "author_association": self._association(item.author), "type": None,
            "active_lock_reason": None,
        }
        if is_pr:
            body["draft"] = item.draft
            pr_url = f"{base}/repos/{full_name}/pulls/{item.number}"
            body["pull_request"] = {"url": pr_url, "html_url": html, "diff_url": f"{html}.diff",
                                    "patch_url": f"{html}.patch", "merged_at": iso_z(item.merged_at)}
        body.update({
            "body": item.body, "closed_by": None,
            "reactions": {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                          "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
            "timeline_url": f"{url}/timeline", "performed_via_github_app": None,
            "state_reason": ("completed" if item.closed_at else None) if not is_pr else None,
        })
        return body

    def commit_json(self, commit: Commit, repo: Repo, base: str, full: bool) -> dict:
        full_name = f"{self.org.login}/{repo.name}"
        url = f"{base}/repos/{full_name}/commits/{commit.sha}"
        committer_name = commit.committer.name if commit.committer else "GitHub"
        committer_email = commit.committer.commit_email if commit.committer else "noreply@github.com"
        author_user = self.user_json(commit.author, base) if commit.author.commit_linked else None
        if commit.committer is None:
            committer_user = self._web_flow(base)
        else:
            committer_user = self.user_json(commit.committer, base) if commit.committer.commit_linked else None
        tree = stable_hex(40, "tree", commit.sha)
        body = {
            "sha": commit.sha, "node_id": _node_id("C", int(commit.sha[:12], 16)),
            "commit": {
                "author": {"name": commit.author.name, "email": commit.author.commit_email,
                           "date": iso_z(commit.authored_at)},
                "committer": {"name": committer_name, "email": committer_email,
                              "date": iso_z(commit.committed_at)},
                "message": commit.message,
                "tree": {"sha": tree, "url": f"{base}/repos/{full_name}/git/trees/{tree}"},
                "url": f"{base}/repos/{full_name}/git/commits/{commit.sha}", "comment_count": 0,
                "verification": {"verified": commit.committer is None,
                                 "reason": "valid" if commit.committer is None else "unsigned",
                                 "signature": None, "payload": None, "verified_at": None},
            },
            "url": url, "html_url": f"{HTML_ROOT}/{full_name}/commit/{commit.sha}",
            "comments_url": f"{url}/comments", "author": author_user, "committer": committer_user,
            "parents": [{"sha": p, "url": f"{base}/repos/{full_name}/commits/{p}",
                         "html_url": f"{HTML_ROOT}/{full_name}/commit/{p}"} for p in commit.parents],
        }
        if full:
            body["stats"] = {"total": commit.additions + commit.deletions,
                             "additions": commit.additions, "deletions": commit.deletions}
            body["files"] = [self.file_json(f, repo, commit.sha, base) for f in commit.files]
        return body

    def file_json(self, f: FileChange, repo: Repo, ref: str, base: str) -> dict:
        full_name = f"{self.org.login}/{repo.name}"
        return {"sha": f.sha, "filename": f.filename, "status": f.status, "additions": f.additions,
                "deletions": f.deletions, "changes": f.additions + f.deletions,
                "blob_url": f"{HTML_ROOT}/{full_name}/blob/{ref}/{f.filename}",
                "raw_url": f"{HTML_ROOT}/{full_name}/raw/{ref}/{f.filename}",
                "contents_url": f"{base}/repos/{full_name}/contents/{f.filename}?ref={ref}",
                "patch": f.patch}

    # -- handlers ----------------------------------------------------------------------------

    def rate_limit(self, request: Request) -> Response:
        """Like the real one, this endpoint does not spend the budget it reports."""
        state = self.rate_limits.state(request.budget or self.name)
        core = {"limit": state.limit, "used": min(state.used, state.limit),
                "remaining": state.remaining, "reset": state.reset_epoch}
        fresh = {"limit": 30, "used": 0, "remaining": 30, "reset": state.reset_epoch}
        points = self.rate_limits.state(BUDGET_API)
        graphql = {"limit": points.limit, "used": min(points.used, points.limit),
                   "remaining": points.remaining, "reset": points.reset_epoch}
        return Response(body={"resources": {"core": core, "search": fresh, "graphql": graphql},
                              "rate": core})

    def authenticated_user(self, request: Request) -> Response:
        body = dict(self.user_json(self.viewer, request.base_url))  # the cached one stays intact
        body.update({"name": self.viewer.name, "company": None, "email": None,
                     "created_at": iso_z(self.org.created_at), "updated_at": iso_z(self.org.created_at)})
        return Response(body=body)

    def user_orgs(self, request: Request) -> Response:
        """GET /user/orgs: the organizations the token's user belongs to (summary objects)."""
        if not ORG_LISTING_SCOPES & set(self.token_scopes):
            raise ApiError(403, {"message": "You need at least read:org scope or user scope to "
                                            "list your organizations.",
                                 "documentation_url": f"{DOCS}/orgs/orgs#list-organizations-"
                                                      "for-the-authenticated-user",
                                 "status": "403"})
        base = request.base_url
        url = f"{base}/orgs/{self.org.login}"
        summary = {"login": self.org.login, "id": self.org.org_id,
                   "node_id": _node_id("O", self.org.org_id), "url": url,
                   "repos_url": f"{url}/repos", "events_url": f"{url}/events",
                   "hooks_url": f"{url}/hooks", "issues_url": f"{url}/issues",
                   "members_url": f"{url}/members{{/member}}",
                   "public_members_url": f"{url}/public_members{{/member}}",
                   "avatar_url": f"https://avatars.githubusercontent.com/u/{self.org.org_id}?v=4",
                   "description": None}
        return self._paginate(request, [summary], lambda item: item)

    def user_repos(self, request: Request) -> Response:
        """GET /user/repos: the repositories the token's user reaches by ``affiliation``."""
        query = request.query
        if "type" in query and ("visibility" in query or "affiliation" in query):
            raise ApiError(422, {"message": "If you specify visibility or affiliation, you "
                                            "cannot specify type.",
                                 "documentation_url": f"{DOCS}/repos/repos#list-repositories-"
                                                      "for-the-authenticated-user",
                                 "status": "422"})
        if "type" in query:
            member = query["type"] in ("all", "member", "private")
        else:
            affiliation = query.get("affiliation", ",".join(AFFILIATIONS)).split(",")
            member = "organization_member" in affiliation
            member = member and query.get("visibility", "all") in ("all", "private")
        repos = sorted(self.data.repos, key=lambda r: r.name) if member else []
        sort = query.get("sort", "full_name")
        if sort != "full_name":
            repos.sort(key=lambda r: (r.created_at, r.index))
        if query.get("direction", "asc" if sort == "full_name" else "desc") == "desc":
            repos.reverse()
        return self._paginate(request, repos, lambda r: self.repo_json(r, request.base_url))

    def user(self, request: Request) -> Response:
        person = self.profile_person(request.params["login"])
        if person is None:
            raise self.not_found(request)
        return Response(body=self.user_profile_json(person, request.base_url),
                        last_modified=self.org.created_at)

    def profile_person(self, login: str) -> Person | None:
        """Whose profile ``/users/{login}`` shows (``ghost``: the deleted accounts' stand-in)."""
        if login == "ghost":
            return self.org.former
        person = self.org.person(login)
        return None if person is None or person.is_deleted else person

    def user_profile_json(self, person: Person, base: str) -> dict:
        body = dict(self.user_json(person, base))
        shows_email = not person.is_bot and not person.is_deleted and person.index % 3 == 0
        body.update({
            "name": None if person.is_deleted else person.name, "company": None, "blog": "",
            "location": None, "email": person.email if shows_email else None, "hireable": None,
            "bio": None, "twitter_username": None, "public_repos": 0, "public_gists": 0,
            "followers": 0, "following": 0, "created_at": iso_z(self.org.created_at),
            "updated_at": iso_z(self.org.created_at),
        })
        return body

    def organization(self, request: Request) -> Response:
        self._check_org(request)
        body = self._org_owner(request.base_url)
        body.update({"name": "Sieve Demo Org", "description": "Synthetic organization",
                     "public_repos": 0, "total_private_repos": len(self.data.repos),
                     "created_at": iso_z(self.org.created_at), "updated_at": iso_z(self.org.now)})
        return Response(body=body)

    def org_members(self, request: Request) -> Response:
        self._check_org(request)
        members = list(self.org.humans)
        return self._paginate(request, members, lambda p: self.user_json(p, request.base_url))

    def org_repos(self, request: Request) -> Response:
        self._check_org(request)
        repos = list(self.data.repos)
        sort = request.query.get("sort", "created")
        if sort == "full_name":
            repos.sort(key=lambda r: r.name)
        else:
            repos.sort(key=lambda r: (r.created_at, r.index))
        direction = request.query.get("direction", "asc" if sort == "full_name" else "desc")
        if direction == "desc":
            repos.reverse()
        return self._paginate(request, repos, lambda r: self.repo_json(r, request.base_url))

    def repository(self, request: Request) -> Response:
        return Response(body=self.repo_json(self._repo(request), request.base_url))

    def _sorted_numbers(self, request: Request, repo: Repo, wants, pulls: bool,
                        since: datetime | None = None) -> list[int]:
        """Item numbers matching ``wants`` (and updated at or after ``since``) in the requested
        order; ``created`` is number order. Dates come from the repo's index, not whole items."""
        sort = request.query.get("sort", "created")
        # Pulls default to desc only for sort=created; issues always default to desc.
        default = "desc" if sort == "created" or not pulls else "asc"
        direction = request.query.get("direction", default)
        if sort == "updated" or since is not None:
            rows = [k for updated, k in self.data.updated_index(repo) if since is None or updated >= since]
            numbers = rows if sort == "updated" else sorted(rows)
        else:
            numbers = [k for k in range(1, self.data.item_count(repo) + 1) if self.data.item_exists(repo, k)]
        numbers = [k for k in numbers if wants(k)]
        if direction == "desc":
            numbers.reverse()
        return numbers

    def pulls(self, request: Request) -> Response:
        repo = self._repo(request)
        state = request.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise ApiError(422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "field": "state", "code": "invalid"}],
                "documentation_url": DOCS, "status": "422"})
        base_ref = request.query.get("base")

        def wants(k: int) -> bool:
            if repo.is_issue_number(k):
                return False
            if state == "all" and base_ref is None:
                return True
            pr = self.data.pull_request(repo, k)
            return (state == "all" or pr.state == state) and (base_ref is None or pr.base_ref == base_ref)

        numbers = self._sorted_numbers(request, repo, wants, pulls=True)
        return self._paginate(request, numbers, lambda k: self.pr_json(
            self.data.pull_request(repo, k), request.base_url, full=False))

    def _pr(self, request: Request) -> PullRequest:
        repo = self._repo(request)
        pr = self.data.pull_request(repo, self._number(request))
        if pr is None:
            raise self.not_found(request)
        return pr

    def pull(self, request: Request) -> Response:
        pr = self._pr(request)
        return Response(body=self.pr_json(pr, request.base_url, full=True), last_modified=pr.updated_at)

    def pull_reviews(self, request: Request) -> Response:
        pr = self._pr(request)
        full_name = f"{self.org.login}/{pr.repo.name}"
        base = request.base_url

        def render(review):
            html = f"{HTML_ROOT}/{full_name}/pull/{pr.number}#pullrequestreview-{review.review_id}"
            return {"id": review.review_id, "node_id": _node_id("PRR", review.review_id),
                    "user": self.user_json(review.author, base), "body": review.body,
                    "state": review.state, "html_url": html,
                    "pull_request_url": f"{base}/repos/{full_name}/pulls/{pr.number}",
                    "author_association": self._association(review.author),
                    "_links": {"html": {"href": html},
                               "pull_request": {"href": f"{base}/repos/{full_name}/pulls/{pr.number}"}},
                    "submitted_at": iso_z(review.submitted_at), "commit_id": review.commit_id}

        return self._paginate(request, list(pr.reviews), render)

    def pull_commits(self, request: Request) -> Response:
        pr = self._pr(request)
        return self._paginate(request, list(pr.commits),
                              lambda c: self.commit_json(c, pr.repo, request.base_url, full=False))

    def pull_files(self, request: Request) -> Response:
        pr = self._pr(request)
        return self._paginate(request, list(pr.files),
                              lambda f: self.file_json(f, pr.repo, pr.head_sha, request.base_url))

    def _issues_repo(self, request: Request) -> Repo:
        repo = self._repo(request)
        if not self.data.issues_enabled(repo):
            raise ApiError(410, {"message": "Issues are disabled for this repo",
                                 "documentation_url": DOCS, "status": "410"})
        return repo

    def issues(self, request: Request) -> Response:
        """Issues and pull requests (PRs carry a ``pull_request`` key), like the real endpoint."""
        repo = self._issues_repo(request)
        state = request.query.get("state", "open")
        since = _parse_since(request.query.get("since"))

        def item(k: int):
            return self.data.pull_request(repo, k) or self.data.issue(repo, k)

        def wants(k: int) -> bool:
            return state == "all" or item(k).state == state

        numbers = self._sorted_numbers(request, repo, wants, pulls=False, since=since)
        return self._paginate(request, numbers, lambda k: self.issue_json(item(k), request.base_url))

    def _issue_or_pr(self, request: Request) -> Issue | PullRequest:
        """A PR's issue side stays reachable when issues are switched off; an issue does not."""
        repo = self._repo(request)
        number = self._number(request)
        item = self.data.pull_request(repo, number)
        if item is None:
            item = self.data.issue(self._issues_repo(request), number)
        if item is None:
            raise self.not_found(request)
        return item

    def issue(self, request: Request) -> Response:
        item = self._issue_or_pr(request)
        return Response(body=self.issue_json(item, request.base_url), last_modified=item.updated_at)

    def issue_comments(self, request: Request) -> Response:
        item = self._issue_or_pr(request)
        repo, number = item.repo, item.number
        since = _parse_since(request.query.get("since"))
        comments = [c for c in item.comments if since is None or c.updated_at >= since]
        full_name = f"{self.org.login}/{repo.name}"
        base = request.base_url

        def render(c):
            url = f"{base}/repos/{full_name}/issues/comments/{c.comment_id}"
            return {"url": url, "html_url": f"{HTML_ROOT}/{full_name}/issues/{number}#issuecomment-{c.comment_id}",
                    "issue_url": f"{base}/repos/{full_name}/issues/{number}", "id": c.comment_id,
                    "node_id": _node_id("IC", c.comment_id), "user": self.user_json(c.author, base),
                    "created_at": iso_z(c.created_at), "updated_at": iso_z(c.updated_at),
                    "author_association": self._association(c.author), "body": c.body,
                    "reactions": {"url": f"{url}/reactions", "total_count": 0},
                    "performed_via_github_app": None}

        return self._paginate(request, comments, render)

    def commits(self, request: Request) -> Response:
        repo = self._repo(request)
        since = _parse_since(request.query.get("since"))
        until = _parse_since(request.query.get("until"), "until")
        author = request.query.get("author")
        rows = [row for row in self.data.default_branch_commits(repo)
                if (since is None or row[0] >= since) and (until is None or row[0] <= until)]
        if author:
            rows = [row for row in rows if self._commit_row(repo, row).author.login == author
                    or self._commit_row(repo, row).author.commit_email == author]
        return self._paginate(request, rows, lambda row: self.commit_json(
            self._commit_row(repo, row), repo, request.base_url, full=False))

    def _commit_row(self, repo: Repo, row) -> Commit:
        return self.data.commit_by_sha(repo, row[1])

    def commit(self, request: Request) -> Response:
        repo = self._repo(request)
        commit = self.data.commit_by_sha(repo, request.params["sha"])
        if commit is None:
            raise ApiError(422, {"message": f"No commit found for SHA: {request.params['sha']}",
                                 "documentation_url": DOCS, "status": "422"})
        return Response(body=self.commit_json(commit, repo, request.base_url, full=True),
                        last_modified=commit.committed_at)

    def deployment_json(self, d: Deployment, base: str) -> dict:
        full_name = f"{self.org.login}/{d.repo.name}"
        url = f"{base}/repos/{full_name}/deployments/{d.deployment_id}"
        return {"url": url, "id": d.deployment_id, "node_id": _node_id("DE", d.deployment_id),
                "task": "deploy", "original_environment": d.environment, "environment": d.environment,
                "description": f"Deploy {d.sha[:7]} to {d.environment}",
                "created_at": iso_z(d.created_at), "updated_at": iso_z(d.updated_at),
                "statuses_url": f"{url}/statuses", "repository_url": f"{base}/repos/{full_name}",
                "creator": self.user_json(d.creator, base), "sha": d.sha, "ref": d.ref, "payload": {},
                "transient_environment": False,
                "production_environment": d.environment == "production",
                "performed_via_github_app": None}

    def deployments(self, request: Request) -> Response:
        repo = self._repo(request)
        env = request.query.get("environment")
        sha = request.query.get("sha")
        items = [d for d in self.data.deployments(repo)
                 if (env is None or d.environment == env) and (sha is None or d.sha == sha)]
        return self._paginate(request, items, lambda d: self.deployment_json(d, request.base_url))

    def _deployment(self, request: Request) -> Deployment:
        repo = self._repo(request)
        raw = request.params["id"]
        d = self.data.deployment(repo, int(raw)) if raw.isdigit() else None
        if d is None:
            raise self.not_found(request)
        return d

    def deployment(self, request: Request) -> Response:
        d = self._deployment(request)
        return Response(body=self.deployment_json(d, request.base_url), last_modified=d.updated_at)

    def deployment_statuses(self, request: Request) -> Response:
        d = self._deployment(request)
        base = request.base_url
        full_name = f"{self.org.login}/{d.repo.name}"
        dep_url = f"{base}/repos/{full_name}/deployments/{d.deployment_id}"

        def render(s):
            return {"url": f"{dep_url}/statuses/{s.status_id}", "id": s.status_id,
                    "node_id": _node_id("DES", s.status_id), "state": s.state,
                    "creator": self.user_json(d.creator, base), "description": s.description,
                    "environment": d.environment,
                    "target_url": f"https://ci.sieve-demo.example/deploys/{d.deployment_id}",
                    "created_at": iso_z(s.created_at), "updated_at": iso_z(s.created_at),
                    "deployment_url": dep_url, "repository_url": f"{base}/repos/{full_name}",
                    "environment_url": f"https://{d.environment}.sieve-demo.example",
                    "log_url": f"https://ci.sieve-demo.example/deploys/{d.deployment_id}",
                    "performed_via_github_app": None}

        return self._paginate(request, list(reversed(d.statuses)), render)

    def releases(self, request: Request) -> Response:
        repo = self._repo(request)
        return self._paginate(request, self.data.releases(repo),
                              lambda rel: self.release_json(rel, request.base_url))

    def release_json(self, rel, base: str) -> dict:
        """A release as REST's /releases lists it (GraphQL's ``Release`` renames these)."""
        full_name = f"{self.org.login}/{rel.repo.name}"
        url = f"{base}/repos/{full_name}/releases/{rel.release_id}"
        return {"url": url, "assets_url": f"{url}/assets",
                "upload_url": f"https://uploads.sieve-demo.example/repos/{full_name}/releases/"
                              f"{rel.release_id}/assets{{?name,label}}",
                "html_url": f"{HTML_ROOT}/{full_name}/releases/tag/{rel.tag}", "id": rel.release_id,
                "author": self.user_json(rel.author, base), "node_id": _node_id("RE", rel.release_id),
                "tag_name": rel.tag, "target_commitish": "main", "name": rel.tag, "draft": False,
                "immutable": False, "prerelease": False, "created_at": iso_z(rel.created_at),
                "updated_at": iso_z(rel.published_at), "published_at": iso_z(rel.published_at),
                "assets": [], "tarball_url": f"{base}/repos/{full_name}/tarball/{rel.tag}",
                "zipball_url": f"{base}/repos/{full_name}/zipball/{rel.tag}",
                "body": f"Automated release {rel.tag}"}

    def tags(self, request: Request) -> Response:
        repo = self._repo(request)
        base = request.base_url
        full_name = f"{self.org.login}/{repo.name}"
        return self._paginate(request, self.data.releases(repo), lambda rel: {
            "name": rel.tag, "zipball_url": f"{base}/repos/{full_name}/zipball/refs/tags/{rel.tag}",
            "tarball_url": f"{base}/repos/{full_name}/tarball/refs/tags/{rel.tag}",
            "commit": {"sha": rel.sha, "url": f"{base}/repos/{full_name}/commits/{rel.sha}"},
            "node_id": _node_id("REF", rel.release_id)})

    def workflows(self, request: Request) -> Response:
        repo = self._repo(request)
        base, full_name = request.base_url, f"{self.org.login}/{repo.name}"
        created = iso_z(self.org.start_at)
        return self._paginate(request, list(self.data.workflows(repo)), lambda w: {
            "id": w.workflow_id, "node_id": _node_id("W", w.workflow_id), "name": w.name,
            "path": w.path, "state": "active", "created_at": created, "updated_at": created,
            "url": f"{base}/repos/{full_name}/actions/workflows/{w.workflow_id}",
            "html_url": f"{HTML_ROOT}/{full_name}/blob/main/{w.path}",
            "badge_url": f"{HTML_ROOT}/{full_name}/workflows/{w.name}/badge.svg"},
            wrap="workflows")

    def workflow_runs(self, request: Request) -> Response:
        """The runs of the repository, or of one of its workflows (by id or file name)."""
        repo = self._repo(request)
        runs = self.data.all_workflow_runs(repo)
        wanted = request.params.get("workflow_id")
        if wanted is not None:
            workflow = next((w for w in self.data.workflows(repo)
                             if wanted in (str(w.workflow_id), w.path.rsplit("/", 1)[1])), None)
            if workflow is None:
                raise self.not_found(request)
            runs = tuple(r for r in runs if r.name == workflow.name)
        q = request.query
        created = q.get("created")
        low, high = _created_range(created) if created else (None, None)
        runs = [r for r in runs
                if (q.get("event") is None or r.event == q["event"])
                and (q.get("branch") is None or r.head_branch == q["branch"])
                and (q.get("status") is None or q["status"] in (r.status, r.conclusion))
                and (q.get("head_sha") is None or r.head_sha == q["head_sha"])
                and (low is None or r.created_at >= low) and (high is None or r.created_at <= high)]
        # "If true pull requests are omitted from the response (empty array)."
        without_pulls = q.get("exclude_pull_requests") == "true"
        return self._paginate(
            request, runs, lambda r: self.run_json(r, request.base_url, without_pulls),
            wrap="workflow_runs")

    def run_json(self, run: WorkflowRun, base: str, without_pulls: bool = False) -> dict:
        repo = run.repo
        full_name = f"{self.org.login}/{repo.name}"
        url = f"{base}/repos/{full_name}/actions/runs/{run.run_id}"
        workflow = next(w for w in self.data.workflows(repo) if w.name == run.name)
        workflow_id = workflow.workflow_id
        head = self.data.commit_by_sha(repo, run.head_sha)
        pr = self.data.pull_request(repo, run.pr_number) if run.pr_number else None
        listed_pr = None if without_pulls else pr
        repo_min = {"id": repo.repo_id, "url": f"{base}/repos/{full_name}", "name": repo.name}
        return {
            "id": run.run_id, "name": run.name, "node_id": _node_id("WFR", run.run_id),
            "head_branch": run.head_branch, "head_sha": run.head_sha, "path": workflow.path,
            "display_title": pr.title if pr else (head.message.split("\n", 1)[0] if head else run.name),
            "run_number": run.run_number, "event": run.event, "status": run.status,
            "conclusion": run.conclusion, "workflow_id": workflow_id,
            "check_suite_id": run.run_id * 3, "check_suite_node_id": _node_id("CS", run.run_id),
            "url": url, "html_url": f"{HTML_ROOT}/{full_name}/actions/runs/{run.run_id}",
            "pull_requests": [{
                "url": f"{base}/repos/{full_name}/pulls/{pr.number}",
                "id": 2_000_000_000 + repo.index * 1_000_000 + pr.number, "number": pr.number,
                "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": repo_min},
                "base": {"ref": pr.base_ref, "sha": pr.commits[0].parents[0], "repo": repo_min},
            }] if listed_pr else [],
            "created_at": iso_z(run.created_at), "updated_at": iso_z(run.updated_at),
            "actor": self.user_json(run.actor, base), "run_attempt": 1, "referenced_workflows": [],
            "run_started_at": iso_z(run.created_at), "triggering_actor": self.user_json(run.actor, base),
            "jobs_url": f"{url}/jobs", "logs_url": f"{url}/logs",
            "check_suite_url": f"{base}/repos/{full_name}/check-suites/{run.run_id * 3}",
            "artifacts_url": f"{url}/artifacts", "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun", "previous_attempt_url": None,
            "workflow_url": f"{base}/repos/{full_name}/actions/workflows/{workflow_id}",
            "head_commit": {
                "id": run.head_sha, "tree_id": stable_hex(40, "tree", run.head_sha),
                "message": head.message if head else "", "timestamp": iso_z(head.committed_at) if head else None,
                "author": {"name": head.author.name, "email": head.author.commit_email} if head else None,
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
            "repository": repo_min, "head_repository": repo_min,
        }


def _label_id(name: str) -> int:
    return int(stable_hex(9, "label", name), 16)


def _created_range(value: str) -> tuple[datetime | None, datetime | None]:
    """GitHub's search-style date filter: ``>=D``, ``>D``, ``<=D``, ``<D`` or ``A..B``
    (bounds are treated as inclusive; runs never share a second with a bound in practice)."""
    def parse(text: str) -> datetime | None:
        return _parse_since(text, "created")

    if ".." in value:
        a, b = value.split("..", 1)
        return (None if a == "*" else parse(a)), (None if b == "*" else parse(b))
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            at = parse(value[len(op):])
            return (at, None) if op.startswith(">") else (None, at)
    at = parse(value)
    return at, None
