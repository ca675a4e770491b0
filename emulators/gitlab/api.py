"""GitLab REST v4 emulator (under ``/api/v4`` of the instance root).

Shapes follow docs.gitlab.com/api (groups, projects, merge_requests, merge_request_approvals,
notes, commits, pipelines, deployments, users) and its pagination headers (``x-next-page``,
``x-page``, ``x-per-page``, ``x-prev-page``, ``x-total``, ``x-total-pages`` and ``Link`` with
prev/next/first/last). Rate limits use GitLab's ``RateLimit-*`` headers and answer 429 with
``Retry-After`` and the plain-text body "Retry later". A deleted author shows as GitLab's
"Ghost User". Commit dates carry the author's UTC offset, as GitLab returns them. The token's
user sees only the groups it belongs to (emulators.gitlab.groups), and private projects only
through its membership of their group: otherwise GitLab's 404, as for a project that does not
exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import unquote

from emulators.framework import (
    ApiApp,
    ApiError,
    RateLimitState,
    Request,
    Response,
    http_date,
    link_header,
    numbered_page,
    strip_prefix,
)
from emulators.github.model import Commit, Deployment, FileChange, PullRequest, WorkflowRun
from emulators.gitlab.graphql import GitLabGraphQL
from emulators.gitlab.groups import group_json, listed_groups, reader_memberships
from emulators.model import Person, Repo, stable_hex
from emulators.oauth import OAuthAuthority
from emulators.org import Org

WEB_ROOT = "https://gitlab.sieve-demo.example"
API = "/api/v4"
GHOST_USER_ID = 1
PIPELINE_STATUS = {"success": "success", "failure": "failed", "skipped": "skipped",
                   "cancelled": "canceled", None: "running"}
# GitLab's text of the system notes the emulator writes.
SYSTEM_NOTE_BODY = {"approved": "approved this merge request",
                    "unapproved": "unapproved this merge request", "closed": "closed"}
DEPLOYMENT_STATUS = {"success": "success", "failure": "failed", "error": "failed"}


def gl_time(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def gl_local_time(at: datetime, person: Person) -> str:
    return at.astimezone(person.zone).isoformat(timespec="milliseconds")


def _parse_time(request: Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, {"error": f"{name} is invalid"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GitLabApp(ApiApp):
    name = "gitlab"
    credentials: ClassVar[dict[str, str]] = {"token": "demo-token"}
    counts_conditional = True

    def __init__(self, org: Org, token: str):
        super().__init__()
        self.org = org
        self.data = org.github  # GitLab projects come from the one repository generator
        self.token = token
        self.oauth = OAuthAuthority()
        # The groups the token's user belongs to; a test may take them away (reset restores).
        self.memberships = reader_memberships(org)
        r = self.route
        self.oauth.add_routes(r)
        r("GET", "/user", self.current_user)
        r("GET", "/users", self.users)
        r("GET", "/users/{id}", self.user)
        r("GET", "/groups", self.groups)
        r("GET", "/groups/{id}/projects", self.group_projects)
        r("GET", "/projects", self.projects)
        r("GET", "/projects/{id}", self.project)
        r("GET", "/projects/{id}/merge_requests", self.merge_requests)
        r("GET", "/projects/{id}/merge_requests/{iid}", self.merge_request)
        r("GET", "/projects/{id}/merge_requests/{iid}/approvals", self.approvals)
        r("GET", "/projects/{id}/merge_requests/{iid}/notes", self.notes)
        r("GET", "/projects/{id}/merge_requests/{iid}/commits", self.mr_commits)
        r("GET", "/projects/{id}/merge_requests/{iid}/diffs", self.mr_diffs)
        r("GET", "/projects/{id}/repository/commits", self.commits)
        r("GET", "/projects/{id}/repository/commits/{sha}", self.commit)
        r("GET", "/projects/{id}/repository/commits/{sha}/diff", self.commit_diff)
        r("GET", "/projects/{id}/pipelines", self.pipelines)
        r("GET", "/projects/{id}/pipelines/{pipeline_id}", self.pipeline)
        r("GET", "/projects/{id}/deployments", self.deployments)
        self.graphql = GitLabGraphQL(self)
        r("POST", "/api/graphql", self.graphql.handle)

    def reset(self) -> None:
        self.graphql.reset()
        self.oauth.reset()
        self.memberships = reader_memberships(self.org)

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        if path == "/api/graphql":  # beside the REST root, not under it
            return "", path
        if strip_prefix(path, "/oauth") is not None:
            return ("", path)
        rel = strip_prefix(path, API)
        return (API, rel) if rel is not None else None

    def authenticate(self, request: Request) -> ApiError | None:
        if self.oauth.is_public(request):
            return None
        token = request.header("private-token")
        header = request.header("authorization") or ""
        if token is None and header.lower().startswith("bearer "):
            token = header[7:].strip()
        if token != self.token and not (token and self.oauth.valid_access_token(token)):
            return ApiError(401, {"message": "401 Unauthorized"})
        return None

    def not_found(self, request: Request) -> ApiError:
        return ApiError(404, {"message": "404 Not found"})

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"Cache-Control": "max-age=0, private, must-revalidate",
                "X-Request-Id": stable_hex(26, "gitlab-req", request_number).upper(),
                "X-Runtime": "0.012345", "X-Content-Type-Options": "nosniff",
                "X-Gitlab-Meta": '{"correlation_id":"' + stable_hex(26, "corr", request_number) + '"}'}

    def rate_limit_headers(self, state: RateLimitState) -> dict[str, str]:
        reset = datetime.fromtimestamp(state.reset_epoch, UTC)
        return {"RateLimit-Limit": str(state.limit), "RateLimit-Observed": str(min(state.used, state.limit)),
                "RateLimit-Remaining": str(state.remaining), "RateLimit-Reset": str(state.reset_epoch),
                "RateLimit-ResetTime": http_date(reset)}

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        return self.rate_limited_retry_after(state.seconds_to_reset(self.rate_limits.now()), request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        return ApiError(429, "Retry later\n", {"Retry-After": str(retry_after)})

    def server_error(self, status: int) -> ApiError:
        return ApiError(status, {"message": "500 Internal Server Error"})

    # -- helpers -----------------------------------------------------------------------------

    def _paginate(self, request: Request, items: list, render) -> Response:
        page = numbered_page(request, len(items), 20, 100)
        headers = {"x-page": str(page.page), "x-per-page": str(page.per_page),
                   "x-total": str(page.total), "x-total-pages": str(page.last),
                   "x-next-page": str(page.page + 1) if page.page < page.last else "",
                   "x-prev-page": str(page.page - 1) if page.page > 1 else ""}
        rels = []
        if page.page > 1:
            rels.append(("prev", min(page.page - 1, page.last)))
        if page.page < page.last:
            rels.append(("next", page.page + 1))
        rels += [("first", 1), ("last", page.last)]
        headers["Link"] = link_header(request, rels)
        return Response(body=[render(items[i]) for i in page.window], headers=headers)

    def _project(self, request: Request) -> Repo:
        raw = unquote(request.params["id"])
        repo = None
        if raw.isdigit():
            candidate = self.data.repo_by_id(int(raw))
            repo = candidate if candidate is not None and candidate.host == "gitlab" else None
        elif raw.startswith(self.org.gitlab_group + "/"):
            repo = self.data.repo(raw.split("/", 1)[1], "gitlab")
        if repo is None or not self.reads_projects():
            raise ApiError(404, {"message": "404 Project Not Found"})
        return repo

    def _mr(self, request: Request) -> PullRequest:
        repo = self._project(request)
        raw = request.params["iid"]
        mr = self.data.pull_request(repo, int(raw)) if raw.isdigit() else None
        if mr is None:
            raise ApiError(404, {"message": "404 Not found"})
        return mr

    def user_json(self, person: Person | None) -> dict | None:
        if person is None:
            return None
        if person.is_deleted:
            uid, username, name = GHOST_USER_ID, "ghost", "Ghost User"
        else:
            uid, username, name = person.gitlab_id, person.gitlab_username, person.name
        return {"id": uid, "username": username, "name": name, "state": "active", "locked": False,
                "avatar_url": f"https://secure.gravatar.com/avatar/{stable_hex(32, 'avatar', uid)}?s=80&d=identicon",
                "web_url": f"{WEB_ROOT}/{username}"}

    def project_json(self, repo: Repo) -> dict:
        path = f"{self.org.gitlab_group}/{repo.name}"
        group_id = 9_000 + self.org.seed
        return {
            "id": repo.repo_id, "description": f"{repo.name} service", "name": repo.name,
            "name_with_namespace": f"Sieve Demo Infra / {repo.name}", "path": repo.name,
            "path_with_namespace": path, "created_at": gl_time(repo.created_at), "default_branch": "main",
            "tag_list": [], "topics": [], "ssh_url_to_repo": f"git@gitlab.sieve-demo.example:{path}.git",
            "http_url_to_repo": f"{WEB_ROOT}/{path}.git", "web_url": f"{WEB_ROOT}/{path}",
            "readme_url": f"{WEB_ROOT}/{path}/-/blob/main/README.md", "forks_count": 0, "avatar_url": None,
            "star_count": 0, "last_activity_at": gl_time(self.org.now),
            "namespace": {"id": group_id, "name": "Sieve Demo Infra", "path": self.org.gitlab_group,
                          "kind": "group", "full_path": self.org.gitlab_group, "parent_id": None,
                          "avatar_url": None, "web_url": f"{WEB_ROOT}/groups/{self.org.gitlab_group}"},
            "visibility": "private", "archived": False, "empty_repo": False,
            "issues_enabled": False, "merge_requests_enabled": True, "jobs_enabled": True,
            "wiki_enabled": False, "snippets_enabled": False,
            "issues_access_level": "disabled", "repository_access_level": "enabled",
            "merge_requests_access_level": "enabled", "builds_access_level": "enabled",
            "environments_access_level": "enabled", "wiki_access_level": "disabled",
        }

    def mr_state(self, mr: PullRequest) -> str:
        if mr.merged_at:
            return "merged"
        return "closed" if mr.closed_at else "opened"

    def mr_json(self, mr: PullRequest, full: bool) -> dict:
        path = f"{self.org.gitlab_group}/{mr.repo.name}"
        squash = mr.kind not in ("merge", "rebase")
        body = {
            "id": 700_000_000 + mr.repo.index * 1_000_000 + mr.number, "iid": mr.number,
            "project_id": mr.repo.repo_id, "title": f"Draft: {mr.title}" if mr.draft else mr.title,
            "description": mr.body, "state": self.mr_state(mr), "created_at": gl_time(mr.created_at),
            "updated_at": gl_time(mr.updated_at),
            "merged_by": self.user_json(mr.merged_by), "merge_user": self.user_json(mr.merged_by),
            "merged_at": gl_time(mr.merged_at),
            "closed_by": self.user_json(mr.author) if mr.closed_at and not mr.merged_at else None,
            "closed_at": gl_time(mr.closed_at if not mr.merged_at else None),
            "target_branch": mr.base_ref, "source_branch": mr.head_ref,
            "user_notes_count": len(mr.comments), "upvotes": 0, "downvotes": 0,
            "author": self.user_json(mr.author), "assignees": [], "assignee": None,
            "reviewers": [self.user_json(r.author) for r in mr.reviews],
            "source_project_id": mr.repo.repo_id, "target_project_id": mr.repo.repo_id,
            "labels": list(mr.labels), "draft": mr.draft, "work_in_progress": mr.draft,
            "milestone": None, "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged", "detailed_merge_status": "mergeable" if not mr.closed_at else "not_open",
            "sha": mr.head_sha, "merge_commit_sha": mr.merge_commit_sha if mr.kind == "merge" else None,
            "squash_commit_sha": mr.merge_commit_sha if mr.merged_at and squash else None,
            "discussion_locked": None, "should_remove_source_branch": None,
            "force_remove_source_branch": True, "prepared_at": gl_time(mr.created_at),
            "reference": f"!{mr.number}",
            "references": {"short": f"!{mr.number}", "relative": f"!{mr.number}", "full": f"{path}!{mr.number}"},
            "web_url": f"{WEB_ROOT}/{path}/-/merge_requests/{mr.number}",
            "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None,
                           "human_total_time_spent": None},
            "squash": squash, "squash_on_merge": squash,
            "task_completion_status": {"count": 0, "completed_count": 0}, "has_conflicts": False,
            "blocking_discussions_resolved": True,
        }
        if full:
            body.update({"subscribed": False, "changes_count": str(len(mr.files)),
                         "diff_refs": {"base_sha": mr.commits[0].parents[0], "head_sha": mr.head_sha,
                                       "start_sha": mr.commits[0].parents[0]},
                         "merge_error": None, "first_contribution": False, "user": {"can_merge": False}})
        return body

    def commit_json(self, commit: Commit, repo: Repo, with_stats: bool) -> dict:
        path = f"{self.org.gitlab_group}/{repo.name}"
        committer = commit.committer or commit.author
        title = commit.message.split("\n", 1)[0]
        body = {"id": commit.sha, "short_id": commit.sha[:8],
                "created_at": gl_local_time(commit.committed_at, committer),
                "parent_ids": list(commit.parents), "title": title, "message": commit.message,
                "author_name": commit.author.name, "author_email": commit.author.commit_email,
                "authored_date": gl_local_time(commit.authored_at, commit.author),
                "committer_name": committer.name, "committer_email": committer.commit_email,
                "committed_date": gl_local_time(commit.committed_at, committer),
                "trailers": {}, "extended_trailers": {},
                "web_url": f"{WEB_ROOT}/{path}/-/commit/{commit.sha}"}
        if with_stats:
            body["stats"] = {"additions": commit.additions, "deletions": commit.deletions,
                             "total": commit.additions + commit.deletions}
        return body

    @staticmethod
    def diff_json(f: FileChange) -> dict:
        return {"diff": f.patch, "new_path": f.filename, "old_path": f.filename,
                "a_mode": "0" if f.status == "added" else "100644", "b_mode": "100644",
                "new_file": f.status == "added", "renamed_file": False, "deleted_file": False,
                "generated_file": False}

    def pipeline_json(self, run: WorkflowRun) -> dict:
        path = f"{self.org.gitlab_group}/{run.repo.name}"
        return {"id": run.run_id, "iid": run.run_number, "project_id": run.repo.repo_id,
                "sha": run.head_sha, "ref": run.head_branch,
                "status": PIPELINE_STATUS.get(run.conclusion, "running"),
                "source": "merge_request_event" if run.event == "pull_request" else "push",
                "created_at": gl_time(run.created_at), "updated_at": gl_time(run.updated_at),
                "web_url": f"{WEB_ROOT}/{path}/-/pipelines/{run.run_id}", "name": None}

    def pipeline_detail_json(self, run: WorkflowRun) -> dict:
        """The single-pipeline shape: the list fields plus user, tag, times and durations
        (``duration`` in whole seconds, as GitLab stores it)."""
        finished = run.updated_at if run.status == "completed" else None
        body = self.pipeline_json(run)
        body.update({
            "before_sha": "0" * 40, "tag": False, "yaml_errors": None, "user": self.user_json(run.actor),
            "started_at": gl_time(run.created_at), "finished_at": gl_time(finished),
            "committed_at": None, "coverage": None, "queued_duration": 1.5,
            "duration": int((finished - run.created_at).total_seconds()) if finished else None,
        })
        return body

    def deployment_json(self, d: Deployment) -> dict:
        env_id = d.repo.repo_id * 10 + (1 if d.environment == "production" else 0)
        return {"id": d.deployment_id, "iid": d.train * 2 + (d.environment == "production") + 1,
                "ref": d.ref, "sha": d.sha, "created_at": gl_time(d.created_at),
                "updated_at": gl_time(d.updated_at), "status": DEPLOYMENT_STATUS[d.outcome],
                "user": self.user_json(d.creator),
                "environment": {"id": env_id, "name": d.environment, "slug": d.environment,
                                "external_url": f"https://{d.environment}.sieve-demo.example",
                                "created_at": gl_time(d.repo.created_at), "updated_at": gl_time(d.updated_at)},
                "deployable": None}

    # -- handlers ----------------------------------------------------------------------------

    def current_user(self, request: Request) -> Response:
        return Response(body={"id": 99, "username": "sieve-reader", "name": "Sieve reader",
                              "state": "active", "locked": False, "avatar_url": None,
                              "web_url": f"{WEB_ROOT}/sieve-reader", "bot": False,
                              "created_at": gl_time(self.org.created_at)})

    def user_full(self, person: Person) -> dict:
        body = self.user_json(person)
        body.update({"bot": person.is_bot, "public_email": "" if person.is_deleted else person.email,
                     "created_at": gl_time(self.org.created_at)})
        return body

    def users(self, request: Request) -> Response:
        people = [p for p in self.org.people if not p.is_deleted]
        username = request.query.get("username")
        if username:
            people = [p for p in people if p.gitlab_username == username]
        return self._paginate(request, people, self.user_full)

    def user(self, request: Request) -> Response:
        raw = request.params["id"]
        person = self.org.person_by_gitlab_id(int(raw)) if raw.isdigit() else None
        if person is None or person.is_deleted:
            raise ApiError(404, {"message": "404 User Not Found"})
        return Response(body=self.user_full(person))

    def groups(self, request: Request) -> Response:
        """GET /groups: the groups the token's user belongs to (emulators.gitlab.groups)."""
        created = gl_time(self.org.created_at)
        return self._paginate(request, listed_groups(request, self.memberships),
                              lambda group: group_json(group, created))

    def group_projects(self, request: Request) -> Response:
        wanted = unquote(request.params["id"])
        group = next((g for g in self.memberships
                      if wanted in (g.full_path, str(g.group_id))), None)
        if group is None:  # private groups are hidden from non-members
            raise ApiError(404, {"message": "404 Group Not Found"})
        projects = self.data.gitlab_projects if group.full_path == self.org.gitlab_group else []
        return self._paginate(request, list(projects), self.project_json)

    def projects(self, request: Request) -> Response:
        visible = self.data.gitlab_projects if self.reads_projects() else []
        return self._paginate(request, list(visible), self.project_json)

    def reads_projects(self) -> bool:
        """Whether the token's user is still a member of the group holding the projects."""
        return any(g.full_path == self.org.gitlab_group for g in self.memberships)

    def project(self, request: Request) -> Response:
        return Response(body=self.project_json(self._project(request)))

    def merge_requests(self, request: Request) -> Response:
        repo = self._project(request)
        state = request.query.get("state", "all")
        if state not in ("opened", "closed", "locked", "merged", "all"):
            raise ApiError(400, {"error": "state does not have a valid value"})
        updated_after = _parse_time(request, "updated_after")
        updated_before = _parse_time(request, "updated_before")
        created_after = _parse_time(request, "created_after")
        order_by = request.query.get("order_by", "created_at")
        if order_by not in ("created_at", "updated_at", "title"):
            raise ApiError(400, {"error": "order_by does not have a valid value"})
        mrs = [mr for k in range(1, self.data.item_count(repo) + 1)
               if (mr := self.data.pull_request(repo, k)) is not None
               and (state == "all" or self.mr_state(mr) == state)
               and (updated_after is None or mr.updated_at >= updated_after)
               and (updated_before is None or mr.updated_at <= updated_before)
               and (created_after is None or mr.created_at >= created_after)]
        key = {"created_at": lambda m: (m.created_at, m.number), "updated_at": lambda m: (m.updated_at, m.number),
               "title": lambda m: (m.title, m.number)}[order_by]
        mrs.sort(key=key, reverse=request.query.get("sort", "desc") == "desc")
        return self._paginate(request, mrs, lambda m: self.mr_json(m, full=False))

    def merge_request(self, request: Request) -> Response:
        mr = self._mr(request)
        return Response(body=self.mr_json(mr, full=True), last_modified=mr.updated_at)

    def approvals(self, request: Request) -> Response:
        mr = self._mr(request)
        approved_by = [{"user": self.user_json(r.author)} for r in mr.reviews if r.state == "APPROVED"]
        return Response(body={
            "id": 700_000_000 + mr.repo.index * 1_000_000 + mr.number, "iid": mr.number,
            "project_id": mr.repo.repo_id, "title": mr.title, "description": mr.body,
            "state": self.mr_state(mr), "created_at": gl_time(mr.created_at),
            "updated_at": gl_time(mr.updated_at), "merge_status": "can_be_merged",
            "approved": bool(approved_by), "approvals_required": 1,
            "approvals_left": 0 if approved_by else 1, "require_password_to_approve": False,
            "approved_by": approved_by, "suggested_approvers": [], "approvers": [],
            "approver_groups": [], "user_has_approved": False, "user_can_approve": False,
            "approval_rules_left": [], "has_approval_rules": False,
            "merge_request_approvers_available": False, "multiple_approval_rules_available": False,
            "invalid_approvers_rules": []})

    def mr_notes(self, mr: PullRequest) -> list[dict]:
        """Comments and review bodies as user notes; approvals and closing as system notes,
        oldest first."""
        notes = [(c.comment_id, c.author, c.body, c.created_at, c.updated_at, False)
                 for c in mr.comments]
        for review in mr.reviews:
            if review.body:
                notes.append((review.review_id, review.author, review.body, review.submitted_at,
                              review.submitted_at, False))
            if review.state == "APPROVED":
                notes.append((review.review_id + 1, review.author, SYSTEM_NOTE_BODY["approved"],
                              review.submitted_at, review.submitted_at, True))
        if mr.closed_at and not mr.merged_at:
            notes.append((700_000_000 + mr.number, mr.author, SYSTEM_NOTE_BODY["closed"],
                          mr.closed_at, mr.closed_at, True))
        notes.sort(key=lambda n: (n[3], n[0]))
        noteable_id = 700_000_000 + mr.repo.index * 1_000_000 + mr.number
        return [{"id": n[0], "type": None, "body": n[2], "attachment": None,
                 "author": self.user_json(n[1]), "created_at": gl_time(n[3]),
                 "updated_at": gl_time(n[4]), "system": n[5], "noteable_id": noteable_id,
                 "noteable_type": "MergeRequest", "project_id": mr.repo.repo_id,
                 "resolvable": False, "confidential": False, "internal": False,
                 "noteable_iid": mr.number, "commands_changes": {}} for n in notes]

    @staticmethod
    def system_event(note: dict) -> str | None:
        """The event a system note records (its body is GitLab's fixed text for it)."""
        if not note["system"]:
            return None
        return next((event for event, body in SYSTEM_NOTE_BODY.items() if note["body"] == body),
                    None)

    def notes(self, request: Request) -> Response:
        """``activity_filter``: ``only_activity`` (system notes), ``only_comments``, or all."""
        notes = self.mr_notes(self._mr(request))
        wanted = request.query.get("activity_filter", "all_notes")
        if wanted not in ("all_notes", "only_comments", "only_activity"):
            raise ApiError(400, {"error": "activity_filter does not have a valid value"})
        if wanted != "all_notes":
            notes = [n for n in notes if n["system"] == (wanted == "only_activity")]
        order_by = request.query.get("order_by", "created_at")
        notes.sort(key=lambda n: (n[order_by if order_by == "updated_at" else "created_at"],
                                  n["id"]), reverse=request.query.get("sort", "desc") == "desc")
        return self._paginate(request, notes, lambda n: n)

    def mr_commits(self, request: Request) -> Response:
        mr = self._mr(request)
        return self._paginate(request, list(reversed(mr.commits)),
                              lambda c: self.commit_json(c, mr.repo, with_stats=False))

    def mr_diffs(self, request: Request) -> Response:
        mr = self._mr(request)
        return self._paginate(request, list(mr.files), self.diff_json)

    def commits(self, request: Request) -> Response:
        repo = self._project(request)
        since, until = _parse_time(request, "since"), _parse_time(request, "until")
        with_stats = request.query.get("with_stats") in ("true", "1")
        rows = [row for row in self.data.default_branch_commits(repo)
                if (since is None or row[0] >= since) and (until is None or row[0] <= until)]
        return self._paginate(request, rows, lambda row: self.commit_json(
            self.data.commit_by_sha(repo, row[1]), repo, with_stats))

    def _commit(self, request: Request) -> tuple[Repo, Commit]:
        repo = self._project(request)
        commit = self.data.commit_by_sha(repo, request.params["sha"])
        if commit is None:
            raise ApiError(404, {"message": "404 Commit Not Found"})
        return repo, commit

    def commit_diff(self, request: Request) -> Response:
        _, commit = self._commit(request)
        return self._paginate(request, list(commit.files), self.diff_json)

    def commit(self, request: Request) -> Response:
        repo, commit = self._commit(request)
        body = self.commit_json(commit, repo, with_stats=True)
        body.update({"status": None, "project_id": repo.repo_id, "last_pipeline": None})
        return Response(body=body, last_modified=commit.committed_at)

    def pipelines(self, request: Request) -> Response:
        repo = self._project(request)
        after, before = _parse_time(request, "updated_after"), _parse_time(request, "updated_before")
        status, ref = request.query.get("status"), request.query.get("ref")
        runs = [r for r in self.data.workflow_runs(repo)
                if (after is None or r.updated_at >= after) and (before is None or r.updated_at <= before)
                and (status is None or PIPELINE_STATUS.get(r.conclusion, "running") == status)
                and (ref is None or r.head_branch == ref)]
        runs.sort(key=lambda r: r.run_id, reverse=request.query.get("sort", "desc") == "desc")
        return self._paginate(request, runs, self.pipeline_json)

    def pipeline(self, request: Request) -> Response:
        """One pipeline as GitLab documents it: the list fields plus user, tag, times and
        durations."""
        repo = self._project(request)
        raw = request.params["pipeline_id"]
        run = self.data.workflow_run(repo, int(raw)) if raw.isdigit() else None
        if run is None:
            raise ApiError(404, {"message": "404 Not found"})
        return Response(body=self.pipeline_detail_json(run), last_modified=run.updated_at)

    def deployments(self, request: Request) -> Response:
        repo = self._project(request)
        after, before = _parse_time(request, "updated_after"), _parse_time(request, "updated_before")
        env = request.query.get("environment")
        items = [d for d in self.data.deployments(repo)
                 if (after is None or d.updated_at >= after) and (before is None or d.updated_at <= before)
                 and (env is None or d.environment == env)]
        order_by = request.query.get("order_by", "id")
        items.sort(key=lambda d: (d.updated_at, d.deployment_id) if order_by == "updated_at" else
                   (d.deployment_id,), reverse=request.query.get("sort", "asc") == "desc")
        return self._paginate(request, items, self.deployment_json)
