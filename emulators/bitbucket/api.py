"""Bitbucket Cloud REST API 2.0 emulator: a workspace's members and repositories, each
repository's pull requests (with participants, commits and comments), main-branch commits,
pipelines, environments and deployments.

Shapes follow developer.atlassian.com/cloud/bitbucket/rest: "Pullrequests" (List pull requests —
only OPEN by default, ``state`` repeatable over OPEN, MERGED, DECLINED and SUPERSEDED; Get a
pull request, the only place ``participants`` with ``role``, ``approved``, ``state`` and
``participated_on`` appear, "for performance reasons" as the Pullrequest schema says and
BCLOUD-22389 confirms; List commits and List comments on a pull request), "Repositories",
"Workspaces" (List users in a workspace), "Commits" (``/commits/{revision}``, newest first in git's order), "Pipelines", "Deployments"
(List deployments, List environments). Paging ("Pagination" in the REST intro): a JSON object
with ``pagelen``, ``size``, ``page``, ``values`` and the full URLs ``next``/``previous``, ``next``
only while more follow; ``pagelen`` 10 by default, at most 100 (50 for pull requests). Filtering
and sorting ("Filtering and sorting"): ``q`` compares fields with ``=``, ``!=``, ``>``, ``>=``,
``<``, ``<=`` and joins with ``AND`` — datetimes quoted ISO 8601, as in
``updated_on > "2026-11-01T00:00:00+00:00"`` — and ``sort`` names a field, ``-`` for descending;
an unparsable query answers 400. Auth ("Authentication methods"): HTTP Basic with a username and
an app password, or ``Authorization: Bearer`` with a workspace access token; 401 for unknown
credentials, 403 with the granted and required scopes for a token lacking one. Errors are
``{"type": "error", "error": {"message": ...}}``. Rate limits (support.atlassian.com "API request
limits", bitbucket.org/blog "Introducing scaled rate limits"): 1,000 requests an hour on
``/2.0/repositories/*`` in a rolling window; access tokens see ``X-RateLimit-Limit``,
``X-RateLimit-Resource`` and ``X-RateLimit-NearLimit``; past the limit, 429 "Rate limit for this
resource has been exceeded". Bitbucket sends no validators for these listings: no 304.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode

from emulators.bitbucket.data import ENVIRONMENTS, Participant, bb_uuid
from emulators.framework import (
    ApiApp,
    ApiError,
    RateLimitState,
    Request,
    Response,
    page_window,
    select_by_time_conditions,
    strip_prefix,
)
from emulators.github.model import Commit, Deployment, PullRequest, WorkflowRun
from emulators.model import Person, Repo, stable_hex
from emulators.org import Org

API = "/2.0"
WEB_ROOT = "https://bitbucket.org"
DEFAULT_PAGELEN = 10
MAX_PAGELEN = 100
MAX_PULL_REQUEST_PAGELEN = 50
PR_STATES = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")
# One condition of a ``q`` filter: a time field, a comparison, a quoted ISO 8601 datetime.
CONDITION = re.compile(r'^(created_on|updated_on)\s*(>=|<=|>|<|=|!=)\s*"([^"]+)"$')
NEAR_LIMIT_SHARE = 0.05  # X-RateLimit-NearLimit once less than 5% of the budget is left


def _error(status: int, message: str, detail: object = None) -> ApiError:
    error: dict[str, object] = {"message": message}
    if detail is not None:
        error["detail"] = detail
    return ApiError(status, {"type": "error", "error": error})


def bb_time(at: datetime | None) -> str | None:
    """Bitbucket's timestamps: ISO 8601 with microseconds and +00:00."""
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _parse_time(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _error(400, f"Invalid datetime: {raw[:40]}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def matching(request: Request, items: list, times: Callable[[object], dict[str, datetime]]) -> list:
    """The items the request's ``q`` filter selects (time conditions joined by AND)."""
    return select_by_time_conditions(
        items, request.query.get("q") or "", CONDITION, _parse_time, lambda moment: moment,
        times, lambda part: _error(400, f"Invalid field name or query: {part}"))


def ordered(request: Request, items: list, keys: dict[str, Callable], default: str) -> list:
    sort = request.query.get("sort") or default
    field = sort.removeprefix("-")
    if field not in keys:
        raise _error(400, f"Invalid sort field: {field[:40]}")
    return sorted(items, key=keys[field], reverse=sort.startswith("-"))


class BitbucketApp(ApiApp):
    name = "bitbucket"
    credentials: ClassVar[dict[str, str]] = {"token": "bb-demo-workspace-token"}
    # An app password, sent with HTTP Basic beside this username.
    USERNAME = "sieve-reader"
    APP_PASSWORD = "bb-demo-app-password"
    # A workspace token without the pipeline scope: 403 on pipelines.
    NO_PIPELINES_TOKEN = "bb-no-pipelines-token"
    supports_conditional = False

    def __init__(self, org: Org, token: str):
        super().__init__()
        self.org = org
        self.data = org.bitbucket
        self.token = token
        repo = "/repositories/{workspace}/{repo_slug}"
        pull = repo + "/pullrequests/{pull_request_id}"
        self.route("GET", "/user", self.current_user)
        self.route("GET", "/workspaces/{workspace}/members", self.list_members)
        self.route("GET", "/repositories/{workspace}", self.list_repositories)
        self.route("GET", repo, self.get_repository)
        self.route("GET", repo + "/pullrequests", self.list_pull_requests)
        self.route("GET", pull, self.get_pull_request)
        self.route("GET", pull + "/commits", self.list_pull_request_commits)
        self.route("GET", pull + "/comments", self.list_pull_request_comments)
        self.route("GET", repo + "/commits", self.list_commits)
        self.route("GET", repo + "/commits/{revision}", self.list_commits)
        self.route("GET", repo + "/pipelines", self.list_pipelines)
        self.route("GET", repo + "/environments", self.list_environments)
        self.route("GET", repo + "/deployments", self.list_deployments)

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        rel = strip_prefix(path, API)
        if rel is None:
            return None
        return API, rel.rstrip("/") or "/"  # "/pipelines/" and "/pipelines" alike

    def _bearer(self, request: Request) -> str | None:
        header = request.header("authorization") or ""
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def authenticate(self, request: Request) -> ApiError | None:
        header = request.header("authorization") or ""
        token = self._bearer(request)
        basic_ok = header.lower().startswith("basic ") and _basic(header) == (
            self.USERNAME, self.APP_PASSWORD)
        if not basic_ok and token not in (self.token, self.NO_PIPELINES_TOKEN):
            return _error(401, "Unauthorized")
        if token == self.NO_PIPELINES_TOKEN and "/pipelines" in request.path:
            return _error(403, "Your credentials lack one or more required privilege scopes.",
                          {"granted": ["repository", "pullrequest"], "required": ["pipeline"]})
        return None

    def not_found(self, request: Request) -> ApiError:
        return _error(404, "Resource not found")

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        near = state.remaining < state.limit * NEAR_LIMIT_SHARE
        return {"X-RateLimit-Limit": str(state.limit), "X-RateLimit-Resource": "api",
                "X-RateLimit-NearLimit": "true" if near else "false"}

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        error = _error(429, "Rate limit for this resource has been exceeded")
        error.headers = self.rate_limit_headers(state)
        return error

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        error = _error(429, "Rate limit for this resource has been exceeded")
        error.headers = {"Retry-After": str(retry_after)}
        return error

    def server_error(self, status: int) -> ApiError:
        return _error(status, "Something went wrong")

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"X-Request-Id": stable_hex(32, "bb-req", request_number)}

    # -- paging --------------------------------------------------------------------------------

    def _page(self, request: Request, items: list, render, maximum: int = MAX_PAGELEN) -> Response:
        pagelen = request.int_param("pagelen", DEFAULT_PAGELEN, maximum, 1)
        page = request.int_param("page", 1, minimum=1)
        window = page_window(len(items), (page - 1) * pagelen, pagelen, request.repeat_page)

        def link(number: int) -> str:
            pairs = [(k, v) for k, v in _query_pairs(request) if k not in ("page", "pagelen")]
            pairs += [("pagelen", str(pagelen)), ("page", str(number))]
            return f"{request.base_url}{request.path}?{urlencode(pairs)}"

        body: dict[str, object] = {"pagelen": pagelen, "size": len(items), "page": page,
                                   "values": [render(items[i], request) for i in window]}
        if page * pagelen < len(items):
            body["next"] = link(page + 1)
        if page > 1:
            body["previous"] = link(page - 1)
        return Response(body=body)

    def _workspace(self, request: Request) -> None:
        if request.params["workspace"] not in (self.data.workspace, self.data.workspace_uuid):
            raise _error(404, f"No workspace with identifier '{request.params['workspace'][:40]}'.")

    def _repo(self, request: Request) -> Repo:
        self._workspace(request)
        slug = request.params["repo_slug"]
        repo = next((r for r in self.data.live_repos()
                     if slug in (r.name, self.data.repo_uuid(r))), None)
        if repo is None:
            raise _error(404, "Repository not found")
        return repo

    def _pull_request(self, request: Request) -> PullRequest:
        repo = self._repo(request)
        raw = request.params["pull_request_id"]
        pr = self.data.pull_request(repo, int(raw)) if raw.isdigit() else None
        if pr is None:
            raise _error(404, f"Pull request {raw[:20]} not found")
        return pr

    # -- routes --------------------------------------------------------------------------------

    def current_user(self, request: Request) -> Response:
        if self._bearer(request) is not None:  # an access token is no user
            raise _error(401, "This API is only accessible with the following authentication "
                              "types: session, password, apppassword")
        return Response(body={"type": "user", "username": self.USERNAME,
                              "display_name": "Sieve Reader",
                              "uuid": self.data.user_uuid(self.org.humans[0])})

    def list_members(self, request: Request) -> Response:
        self._workspace(request)
        return self._page(request, list(self.data.members()),
                          lambda person, req: {"type": "workspace_membership",
                                               "user": self.user_json(person),
                                               "workspace": self.workspace_json()})

    def list_repositories(self, request: Request) -> Response:
        self._workspace(request)
        return self._page(request, self.data.live_repos(), self.repository_json)

    def get_repository(self, request: Request) -> Response:
        return Response(body=self.repository_json(self._repo(request), request))

    def list_pull_requests(self, request: Request) -> Response:
        repo = self._repo(request)
        states = set(request.query_list("state") or ["OPEN"])
        unknown = states - set(PR_STATES)
        if unknown:
            raise _error(400, f"Invalid state: {sorted(unknown)[0][:20]}")
        prs = [pr for pr in self.data.pull_requests(repo) if self.pr_state(pr) in states]
        prs = matching(request, prs, lambda pr: {"created_on": pr.created_at,
                                                 "updated_on": pr.updated_at})
        prs = ordered(request, prs, {"id": lambda pr: pr.number,
                                     "created_on": lambda pr: (pr.created_at, pr.number),
                                     "updated_on": lambda pr: (pr.updated_at, pr.number)}, "id")
        return self._page(request, prs, lambda pr, req: self.pull_request_json(pr, req, False),
                          MAX_PULL_REQUEST_PAGELEN)

    def get_pull_request(self, request: Request) -> Response:
        return Response(body=self.pull_request_json(self._pull_request(request), request, True))

    def list_pull_request_commits(self, request: Request) -> Response:
        pr = self._pull_request(request)
        return self._page(request, list(reversed(pr.commits)), self.commit_json)

    def list_pull_request_comments(self, request: Request) -> Response:
        pr = self._pull_request(request)
        return self._page(request, self.data.comments(pr),
                          lambda comment, req: self.comment_json(pr, comment))

    def list_commits(self, request: Request) -> Response:
        """Commits reachable from a branch (only ``main`` exists), newest first; without a
        revision, the repository's commits (all on ``main`` here)."""
        repo = self._repo(request)
        if request.params.get("revision", "main") != "main":
            raise _error(404, f"Commit not found: {request.params['revision'][:40]}")
        return self._page(request, self.data.commits(repo), self.commit_json)

    def list_pipelines(self, request: Request) -> Response:
        runs = list(self.data.pipelines(self._repo(request)))
        runs = ordered(request, runs, {"created_on": lambda run: (run.created_at, run.run_id)},
                       "created_on")
        return self._page(request, runs, self.pipeline_json)

    def list_environments(self, request: Request) -> Response:
        repo = self._repo(request)
        return self._page(request, list(ENVIRONMENTS),
                          lambda env, req: self.environment_json(repo, *env))

    def list_deployments(self, request: Request) -> Response:
        return self._page(request, self.data.deployments(self._repo(request)),
                          self.deployment_json)

    # -- JSON ----------------------------------------------------------------------------------

    def workspace_json(self) -> dict:
        return {"type": "workspace", "slug": self.data.workspace, "name": "Sieve Demo",
                "uuid": self.data.workspace_uuid}

    def user_json(self, person: Person | None) -> dict | None:
        if person is None:
            return None
        return {"type": "user", "display_name": person.name, "uuid": self.data.user_uuid(person),
                "account_id": person.jira_account_id, "nickname": person.login,
                "links": {"avatar": {"href": f"https://avatar-management.services.atlassian.com/"
                                             f"{stable_hex(16, 'bb-avatar', person.index)}"}}}

    def repository_json(self, repo: Repo, request: Request) -> dict:
        full_name = f"{self.data.workspace}/{repo.name}"
        return {
            "type": "repository", "uuid": self.data.repo_uuid(repo), "name": repo.name,
            "slug": repo.name, "full_name": full_name, "is_private": True, "scm": "git",
            "description": self.data.description(repo), "language": "python",
            "mainbranch": {"type": "branch", "name": "main"}, "fork_policy": "no_public_forks",
            "created_on": bb_time(repo.created_at), "updated_on": bb_time(self.org.now),
            "size": 1_048_576 + repo.index, "has_issues": False, "has_wiki": False,
            "workspace": self.workspace_json(),
            "project": {"type": "project", "key": "SD", "name": "Sieve Demo",
                        "uuid": self.data.workspace_uuid},
            "links": {"self": {"href": f"{request.base_url}/repositories/{full_name}"},
                      "html": {"href": f"{WEB_ROOT}/{full_name}"}},
        }

    @staticmethod
    def pr_state(pr: PullRequest) -> str:
        if pr.merged_at is not None:
            return "MERGED"
        return "DECLINED" if pr.closed_at is not None else "OPEN"

    def pull_request_json(self, pr: PullRequest, request: Request, full: bool) -> dict:
        full_name = f"{self.data.workspace}/{pr.repo.name}"
        state = self.pr_state(pr)
        merge = pr.landed[-1].sha if pr.landed else None
        body = {
            "type": "pullrequest", "id": pr.number, "title": pr.title,
            "description": pr.body,
            "summary": {"type": "rendered", "raw": pr.body, "markup": "markdown",
                        "html": f"<p>{pr.body}</p>"},
            "state": state, "draft": pr.draft, "author": self.user_json(pr.author),
            "source": {"branch": {"name": pr.head_ref}, "commit": {"hash": pr.head_sha[:12]},
                       "repository": {"full_name": full_name}},
            "destination": {"branch": {"name": pr.base_ref},
                            "commit": {"hash": pr.commits[0].parents[0][:12]},
                            "repository": {"full_name": full_name}},
            "merge_commit": {"hash": merge[:12]} if merge else None,
            "close_source_branch": True,
            "closed_by": self.user_json(pr.merged_by if state == "MERGED" else
                                        pr.author if state == "DECLINED" else None),
            "reason": self.data.decline_reason(pr) or "",
            "created_on": bb_time(pr.created_at), "updated_on": bb_time(pr.updated_at),
            "comment_count": len(self.data.comments(pr)), "task_count": 0,
            "links": {"self": {"href": f"{request.base_url}/repositories/{full_name}/"
                                       f"pullrequests/{pr.number}"}},
        }
        if full:
            participants = self.data.participants(pr)
            body["reviewers"] = [self.user_json(p.person) for p in participants
                                 if p.role == "REVIEWER"]
            body["participants"] = [self.participant_json(p) for p in participants]
        return body

    def participant_json(self, participant: Participant) -> dict:
        return {"type": "participant", "user": self.user_json(participant.person),
                "role": participant.role, "approved": participant.approved,
                "state": participant.state,
                "participated_on": bb_time(participant.participated_on)}

    def comment_json(self, pr: PullRequest, comment: tuple) -> dict:
        comment_id, author, text, created = comment
        return {"type": "pullrequest_comment", "id": comment_id,
                "content": {"type": "rendered", "raw": text, "markup": "markdown",
                            "html": f"<p>{text}</p>"},
                "user": self.user_json(author), "created_on": bb_time(created),
                "updated_on": bb_time(created), "deleted": False, "pending": False,
                "pullrequest": {"type": "pullrequest", "id": pr.number}}

    def commit_json(self, commit: Commit, request: Request) -> dict:
        author = commit.author
        return {
            "type": "commit", "hash": commit.sha, "date": bb_time(commit.committed_at),
            "author": {"type": "author", "raw": f"{author.name} <{author.commit_email}>",
                       "user": self.user_json(author) if author.commit_linked else None},
            "message": commit.message, "summary": {"type": "rendered", "raw": commit.message},
            "parents": [{"type": "commit", "hash": sha} for sha in commit.parents],
        }

    def pipeline_json(self, run: WorkflowRun, request: Request) -> dict:
        if run.status == "completed":
            result = {"success": "SUCCESSFUL", "failure": "FAILED", "cancelled": "STOPPED",
                      "skipped": "STOPPED"}[run.conclusion or "success"]
            state = {"type": "pipeline_state_completed", "name": "COMPLETED",
                     "result": {"type": f"pipeline_state_completed_{result.lower()}",
                                "name": result}}
        else:
            state = {"type": "pipeline_state_in_progress", "name": "IN_PROGRESS"}
        return {
            "type": "pipeline", "uuid": _uuid_of(run.run_id, "pipeline"),
            "build_number": run.run_number, "creator": self.user_json(run.actor),
            "target": {"type": "pipeline_ref_target", "ref_type": "branch",
                       "ref_name": run.head_branch,
                       "commit": {"type": "commit", "hash": run.head_sha}},
            "trigger": {"type": "pipeline_trigger_push" if run.event == "push"
                        else "pipeline_trigger_manual"},
            "state": state, "created_on": bb_time(run.created_at),
            "completed_on": bb_time(run.updated_at) if run.status == "completed" else None,
            "duration_in_seconds": int((run.updated_at - run.created_at).total_seconds()),
        }

    def environment_json(self, repo: Repo, slug: str, kind: str) -> dict:
        return {"type": "deployment_environment", "uuid": self.data.environment_uuid(repo, slug),
                "name": kind, "slug": slug,
                "environment_type": {"type": "deployment_environment_type", "name": kind,
                                     "rank": 1 if slug == "staging" else 2}}

    def deployment_json(self, deployment: Deployment, request: Request) -> dict:
        final = deployment.statuses[-1]
        started = deployment.statuses[0].created_at
        status = {"success": "SUCCESSFUL", "failure": "FAILED", "error": "FAILED"}[final.state]
        return {
            "type": "deployment", "uuid": _uuid_of(deployment.deployment_id, "deployment"),
            "number": deployment.train * 2 + (deployment.environment == "production"),
            "environment": {"type": "deployment_environment", "uuid":
                            self.data.environment_uuid(deployment.repo, deployment.environment)},
            "release": {"type": "deployment_release", "name": f"#{deployment.train}",
                        "commit": {"type": "commit", "hash": deployment.sha},
                        "created_on": bb_time(deployment.created_at)},
            "deployable": {"type": "deployment_deployable_pipeline",
                           "commit": {"type": "commit", "hash": deployment.sha},
                           "pipeline": {"type": "pipeline",
                                        "uuid": _uuid_of(deployment.deployment_id, "pipeline")},
                           "created_on": bb_time(deployment.created_at)},
            "state": {"type": "deployment_state_completed", "name": "COMPLETED",
                      "status": {"type": f"deployment_state_completed_status_{status.lower()}",
                                 "name": status},
                      "started_on": bb_time(started), "completed_on": bb_time(final.created_at)},
        }


def _uuid_of(number: int, kind: str) -> str:
    return bb_uuid(kind, number)


def _basic(header: str) -> tuple[str, str] | None:
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    return parse_qsl(request.raw_query, keep_blank_values=True)
