"""GitLab connector (gitlab.com and self-managed): REST API v4, with merge requests, pipelines
and users through the GraphQL API unless the connection says ``api: rest`` or the instance
lacks it.

Request plan, costs, cursors and known limits: docs/sources/gitlab.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from urllib.parse import quote

from resources.http import (
    BearerToken,
    ClientStats,
    Deduplicator,
    HttpClient,
    NotFoundError,
    PaginationStyle,
    RateLimitTracker,
)
from resources.http.graphql import GraphQLClient, GraphQLUnsupportedError
from resources.security.vault import Secret
from resources.sources.connector import (
    Connector,
    ConnectorContext,
    RawBatch,
    incomplete_under,
    retry_pending,
)
from resources.sources.credentials import connection_auth
from resources.sources.gitlab import graphql

log = logging.getLogger("sieve.connectors.gitlab")

DEFAULT_BASE_URL = "https://gitlab.com"
API_PREFIX = "/api/v4"
PAGE_SIZE = 100
# (connect, read) seconds; GitLab answers a 100-item page well within the read timeout.
REQUEST_TIMEOUT = (5.0, 30.0)
USERS_PER_BATCH = 100

# The step past the newest stored timestamp that makes an inclusive filter exclusive.
API_TIME_STEP = timedelta(milliseconds=1)
COMMIT_TIME_STEP = timedelta(seconds=1)

MERGE_REQUESTS, COMMITS, PIPELINES, DEPLOYMENTS = (
    "merge_requests", "commits", "pipelines", "deployments")
# Stream -> (project access-level field, older boolean field). A feature switched off makes
# GitLab refuse its endpoint, so its stream is not requested.
_STREAM_FEATURES = {
    MERGE_REQUESTS: ("merge_requests_access_level", "merge_requests_enabled"),
    COMMITS: ("repository_access_level", None),
    PIPELINES: ("builds_access_level", "jobs_enabled"),
    DEPLOYMENTS: ("environments_access_level", None),
}
# Where a merge request names people (lists of users or single users).
_MERGE_REQUEST_PEOPLE = ("author", "assignees", "reviewers", "merge_user", "merged_by", "closed_by")

# What REST's notes say in a system note, by the event Sieve keeps (GitLab's fixed texts).
_SYSTEM_NOTE_EVENTS = {"approved this merge request": "approved",
                       "unapproved this merge request": "unapproved"}

# (project id, streams to sync, full path): the path names the project to GraphQL.
ProjectPlan = tuple[int, tuple[str, ...], str]
# A project's stream: its batches, then the newest update it saw (the new cursor).
Walk = Callable[[int], Generator[RawBatch, None, datetime | None]]


class GitLabConnector(Connector):
    source = "gitlab"
    entities = (
        "gitlab_projects", "gitlab_merge_requests", "gitlab_mr_approvals", "gitlab_mr_commits",
        "gitlab_commits", "gitlab_pipelines", "gitlab_deployments", "gitlab_users",
    )

    def __init__(self, context: ConnectorContext):
        super().__init__(context)
        settings = context.settings
        group = (settings.get("group") or "").strip("/")
        if not group:
            raise ValueError(
                f"GitLab connection {context.connection.id!r} of organization "
                f"{context.org_slug!r} names no group; re-connect with "
                f"`sieve connect {context.org_slug} gitlab --group GROUP`"
            )
        self.group = group
        self.projects = [project_path(group, path) for path in settings.get("projects") or ()]
        self._client: HttpClient | None = None
        self._users_fetched: set[int] = set()
        self._users_pending: set[int] = set()
        self._projects_without_approvals: set[int] = set()
        # Per project this sync: approvals answered, and answers of 404 while none had.
        self._approvals_answered: set[int] = set()
        self._approvals_missing: set[int] = set()
        self._project_paths: dict[int, str] = {}
        self._graphql_client: GraphQLClient | None = None
        # Merge requests, pipelines and users via GraphQL unless the connection says REST or
        # the instance turns out not to offer it (then REST, with one notice).
        self._use_graphql = (settings.get("api") or "graphql") == "graphql"

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            context = self.context
            self._client = self.http_client(
                api_root(context.settings.get("base_url") or DEFAULT_BASE_URL),
                connection_auth(context, token_auth), timeout=REQUEST_TIMEOUT)
        return self._client

    def stats(self) -> ClientStats | None:
        return self.client.stats if self._client is not None else None

    def check(self) -> str:
        response = self.client.get_json(
            f"/groups/{encoded(self.group)}/projects",
            {"include_subgroups": "true", "with_shared": "false", "simple": "true", "per_page": 1},
        )
        total = response.headers.get("X-Total")
        visible = f"{total} project(s) visible" if total else "projects visible"
        return f"GitLab group {self.group} on {self.client.base_url}: {visible}"

    def _graphql(self) -> GraphQLClient:
        """GraphQL through the REST client: GitLab counts both against one request budget."""
        if self._graphql_client is None:
            self._graphql_client = GraphQLClient(
                self.client, graphql_url(self.client.base_url), RateLimitTracker())
        return self._graphql_client

    def fetch(self) -> Iterator[RawBatch]:
        walks = {MERGE_REQUESTS: self._merge_requests, COMMITS: self._commits,
                 PIPELINES: self._pipelines, DEPLOYMENTS: self._deployments}
        plans = yield from self._discover_projects()
        for project_id, streams, path in plans:
            self._project_paths[project_id] = path
            for stream in streams:
                yield from self._stream(cursor_key(stream, project_id), walks[stream](project_id))

    # -- projects ----------------------------------------------------------------------------

    def _discover_projects(self) -> Generator[RawBatch, None, list[ProjectPlan]]:
        if not self.projects:
            return (yield from self._group_projects(conditional=True))
        plans: list[ProjectPlan] = []
        for path in self.projects:
            plans += yield from self._configured_project(path)
        return plans

    def _group_projects(self, conditional: bool) -> Generator[RawBatch, None, list[ProjectPlan]]:
        key = "projects"
        pages = self.client.paginate(
            f"/groups/{encoded(self.group)}/projects",
            {"include_subgroups": "true", "with_shared": "false", "order_by": "id",
             "sort": "asc", "per_page": PAGE_SIZE},
            style=PaginationStyle.GITLAB, conditional_key=key if conditional else None,
        )
        first = next(pages)
        if first.not_modified:
            stored = self._stored_plans(key)
            if stored is None:  # validators kept without their plans: list afresh
                return (yield from self._group_projects(conditional=False))
            yield RawBatch("gitlab_projects", [], not_modified=True)
            return stored
        plans: dict[int, tuple[tuple[str, ...], str]] = {}
        page_count = 0

        def batches() -> Iterator[RawBatch]:
            nonlocal page_count
            for page in chain([first], pages):
                page_count += 1
                for project in page.items:
                    plans[project["id"]] = (project_streams(project),
                                            project["path_with_namespace"])
                yield RawBatch("gitlab_projects", page.items)

        def with_plans(last: RawBatch) -> RawBatch:
            # Page 1's validators vouch for the whole listing only when it is the only page.
            validators = (first.validators,) if page_count == 1 and first.validators else ()
            found = [(project_id, *plan) for project_id, plan in plans.items()]
            return replace(last, cursors={key: dump_plans(found)}, validators=validators)

        yield from with_closing(batches(), with_plans)
        return [(project_id, *plan) for project_id, plan in plans.items()]

    def _configured_project(self, path: str) -> Generator[RawBatch, None, list[ProjectPlan]]:
        key = f"project:{path}"
        response = self.client.get_json(f"/projects/{encoded(path)}", conditional_key=key)
        if response.not_modified:
            stored = self._stored_plans(key)
            if stored is not None:
                yield RawBatch("gitlab_projects", [], not_modified=True)
                return stored
            response = self.client.get_json(f"/projects/{encoded(path)}")
        project = response.data
        found = [(project["id"], project_streams(project), project["path_with_namespace"])]
        validators = (response.validators,) if response.validators else ()
        yield RawBatch("gitlab_projects", [project], cursors={key: dump_plans(found)},
                       validators=validators)
        return found

    def _stored_plans(self, key: str) -> list[ProjectPlan] | None:
        stored = self.context.state.cursor(key)
        return load_plans(stored) if stored else None

    # -- per-project streams -----------------------------------------------------------------

    def _stream(self, key: str,
                batches: Generator[RawBatch, None, datetime | None]) -> Iterator[RawBatch]:
        """A stream's batches, then the users they referenced. The last batch carries the
        stream's new cursor, so it is committed only once all of that is durable."""
        newest: datetime | None = None

        def stream_then_users() -> Iterator[RawBatch]:
            nonlocal newest
            newest = yield from batches
            yield from self._pending_users()

        def with_cursor(last: RawBatch) -> RawBatch:
            if newest is None:
                return last
            return replace(last, cursors={**last.cursors, key: format_time(newest)})

        yield from with_closing(stream_then_users(), with_cursor)

    def _since(self, stream: str, project_id: int, step: timedelta) -> str | None:
        """Where the stream's inclusive time filter starts: just past its stored cursor."""
        cursor = self.context.state.cursor(cursor_key(stream, project_id))
        return format_time(parse_time(cursor) + step) if cursor else None

    def _updated_after(self, stream: str, project_id: int, **extra: str) -> dict:
        """Params of a listing newest first, limited by the stream's cursor."""
        return {"order_by": "updated_at", "sort": "desc", "per_page": PAGE_SIZE,
                "updated_after": self._since(stream, project_id, API_TIME_STEP), **extra}

    def _with_details(self, path: str, params: dict, key: str
                      ) -> Iterator[tuple[list[dict], datetime | None]]:
        """Each page of a listing as the details (``{path}/{item[key]}``) of its items not
        seen earlier in the walk, with the newest ``updated_at`` listed so far. The listing's
        own timestamps make the cursor: a detail may already show a later update."""
        newest = None
        fresh = Deduplicator(lambda item: item[key])
        for page in self.client.paginate(path, params, style=PaginationStyle.GITLAB):
            details = []
            for item in fresh.fresh(page.items):
                newest = later(newest, item["updated_at"])
                details.append(self.client.get_json(f"{path}/{item[key]}").data)
            yield details, newest

    def _merge_requests(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        yield from self._pending_approvals(project_id)
        return (yield from self._either_api(self._graphql_merge_requests,
                                            self._rest_merge_requests, project_id))

    def _pipelines(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        return (yield from self._either_api(self._graphql_pipelines, self._rest_pipelines,
                                            project_id))

    def _either_api(self, through_graphql: Walk, through_rest: Walk,
                    project_id: int) -> Generator[RawBatch, None, datetime | None]:
        """The stream through GraphQL, or through REST where the connection or the instance
        says so. A schema that lacks a field fails the first query, before any batch."""
        if self._use_graphql:
            try:
                return (yield from through_graphql(project_id))
            except GraphQLUnsupportedError as error:
                self._fall_back_to_rest(error)
        return (yield from through_rest(project_id))

    def _fall_back_to_rest(self, error: GraphQLUnsupportedError) -> None:
        """Once per sync: every later project and user goes straight to REST."""
        self._use_graphql = False
        log.warning("%s Merge requests, pipelines and users are collected through the REST "
                    "API.", error)

    def _graphql_merge_requests(self, project_id: int
                                ) -> Generator[RawBatch, None, datetime | None]:
        """The REST walk's batches and cursor, from one GraphQL query per page."""
        newest = None
        since = self._since(MERGE_REQUESTS, project_id, API_TIME_STEP)
        for nodes in graphql.merge_request_pages(self._graphql(),
                                                 self._project_paths[project_id], since):
            events = [graphql.system_events(node["notes"]["nodes"]) for node in nodes]
            records = [graphql.merge_request_record(node, kept)
                       for node, kept in zip(nodes, events)]
            for record in records:
                newest = later(newest, record["updated_at"])
                for field in _MERGE_REQUEST_PEOPLE:
                    self._see(record.get(field))
            if records:
                yield RawBatch("gitlab_merge_requests", records)
            for node, kept in zip(nodes, events):
                parent = {"project_id": project_id, "merge_request_iid": int(node["iid"])}
                approvers = map(graphql.rest_user, node["approvedBy"]["nodes"])
                yield from self._approval_batch(graphql.approval_records(approvers, kept), parent)
                commits = [graphql.commit_record(c) for c in node["commits"]["nodes"]]
                if commits:
                    yield RawBatch("gitlab_mr_commits", commits, parent=parent)
        return newest

    def _approval_batch(self, approvals: list[dict], parent: dict) -> Iterator[RawBatch]:
        for approval in approvals:
            self._see(approval.get("user"))
        if approvals:
            yield RawBatch("gitlab_mr_approvals", approvals, parent=parent)

    def _rest_merge_requests(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        newest = None
        failed: list[int] = []
        # The walk's last `newest` is the stream's new cursor, returned after the loop.
        for details, newest in self._with_details(  # noqa: B007
                f"/projects/{project_id}/merge_requests",
                self._updated_after(MERGE_REQUESTS, project_id, state="all", scope="all"), "iid"):
            for detail in details:
                for field in _MERGE_REQUEST_PEOPLE:
                    self._see(detail.get(field))
            if details:
                yield RawBatch("gitlab_merge_requests", details)
            for detail in details:
                if not (yield from self._approvals(project_id, detail["iid"])):
                    failed.append(detail["iid"])
                yield from self._merge_request_commits(project_id, detail["iid"])
        if failed and project_id not in self._projects_without_approvals:
            # Before the walk's cursor moves past them (the stream's last batch carries it).
            yield RawBatch("gitlab_merge_requests", [],
                           cursors={pending_approvals_key(project_id): json.dumps(failed)},
                           failed_keys=tuple((project_id, iid) for iid in failed))
        return newest

    def _pending_approvals(self, project_id: int) -> Iterator[RawBatch]:
        """The approvals an earlier sync could not read, read first. A merge request answering
        404 again was deleted upstream, or its project has no approvals API: dropped."""
        gone = yield from retry_pending(
            self.context.state, pending_approvals_key(project_id), "gitlab_merge_requests",
            lambda iid: self._approvals(project_id, iid))
        for iid in gone:
            log.info("project %s: approvals of merge request %s answered 404 twice; dropped",
                     project_id, iid)

    def _approvals(self, project_id: int, iid: int) -> Generator[RawBatch, None, bool]:
        """The merge request's approvals with their times; False when they answered 404 and
        are kept pending: the merge request was deleted since it was listed, or a replica is
        behind. A project whose first two answers are 404 has no approvals API (an older or
        smaller instance): it is skipped for the rest of the sync, and nothing is pending."""
        if project_id in self._projects_without_approvals:
            return True
        parent = {"project_id": project_id, "merge_request_iid": iid}
        try:
            response = self.client.get_json(
                f"/projects/{project_id}/merge_requests/{iid}/approvals")
        except NotFoundError:
            yield from incomplete_under(parent, "gitlab_mr_approvals")
            if project_id in self._approvals_answered:
                return False
            if project_id in self._approvals_missing:
                log.info("project %s: merge request approvals endpoint not found; skipped",
                         project_id)
                self._projects_without_approvals.add(project_id)
                return True
            self._approvals_missing.add(project_id)
            return False
        self._approvals_answered.add(project_id)
        approvers = [entry.get("user") for entry in response.data.get("approved_by") or []]
        events = self._system_events(project_id, iid) if approvers else []
        yield from self._approval_batch(graphql.approval_records(approvers, events), parent)
        return True

    def _system_events(self, project_id: int, iid: int) -> list[tuple[str, str, dict]]:
        """(event, time, author) of the merge request's approval system notes: REST's
        approvals say who, only these say when. A note's text is read to tell the event and
        then dropped; instances that ignore ``activity_filter`` send comments too, skipped."""
        events = []
        for page in self.client.paginate(
            f"/projects/{project_id}/merge_requests/{iid}/notes",
            {"activity_filter": "only_activity", "order_by": "created_at", "sort": "asc",
             "per_page": PAGE_SIZE}, style=PaginationStyle.GITLAB,
        ):
            for note in page.items:
                event = _SYSTEM_NOTE_EVENTS.get(note.get("body")) if note.get("system") else None
                if event is not None:
                    author = note.get("author") or {}
                    events.append((event, note["created_at"],
                                   {"id": author.get("id"), "username": author.get("username")}))
        return events

    def _merge_request_commits(self, project_id: int, iid: int) -> Iterator[RawBatch]:
        for page in self.client.paginate(
            f"/projects/{project_id}/merge_requests/{iid}/commits", {"per_page": PAGE_SIZE},
            style=PaginationStyle.GITLAB,
        ):
            if page.items:
                yield RawBatch("gitlab_mr_commits", page.items,
                               parent={"project_id": project_id, "merge_request_iid": iid})

    def _commits(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        params = {"with_stats": "true", "per_page": PAGE_SIZE,
                  "since": self._since(COMMITS, project_id, COMMIT_TIME_STEP)}
        newest = None
        for page in self.client.paginate(f"/projects/{project_id}/repository/commits", params,
                                         style=PaginationStyle.GITLAB):
            for commit in page.items:
                newest = later(newest, commit["committed_date"])
            if page.items:
                yield RawBatch("gitlab_commits", page.items, parent={"project_id": project_id})
        return newest

    def _graphql_pipelines(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        """The REST walk's records and cursor, from one GraphQL query per page of a hundred:
        REST needs one more request per pipeline for its user, durations and times."""
        newest = None
        since = self._since(PIPELINES, project_id, API_TIME_STEP)
        for nodes in graphql.pipeline_pages(self._graphql(), self._project_paths[project_id],
                                            since):
            records = [graphql.pipeline_record(node, project_id) for node in nodes]
            for record in records:
                newest = later(newest, record["updated_at"])
                self._see(record["user"])
            if records:
                yield RawBatch("gitlab_pipelines", records)
        return newest

    def _rest_pipelines(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        newest = None
        for details, newest in self._with_details(f"/projects/{project_id}/pipelines",  # noqa: B007
                                                  self._updated_after(PIPELINES, project_id), "id"):
            for detail in details:
                self._see(detail.get("user"))
            if details:
                yield RawBatch("gitlab_pipelines", details)
        return newest

    def _deployments(self, project_id: int) -> Generator[RawBatch, None, datetime | None]:
        newest = None
        for page in self.client.paginate(f"/projects/{project_id}/deployments",
                                         self._updated_after(DEPLOYMENTS, project_id),
                                         style=PaginationStyle.GITLAB):
            for deployment in page.items:
                newest = later(newest, deployment["updated_at"])
                self._see(deployment.get("user"))
            if page.items:
                yield RawBatch("gitlab_deployments", page.items, parent={"project_id": project_id})
        return newest

    # -- users seen --------------------------------------------------------------------------

    def _see(self, people: dict | list | None) -> None:
        """Remember the ids of the users a record references, for ``_pending_users``."""
        for person in people if isinstance(people, list) else (people,):
            user_id = person.get("id") if isinstance(person, dict) else None
            if isinstance(user_id, int) and user_id not in self._users_fetched:
                self._users_pending.add(user_id)

    def _pending_users(self) -> Iterator[RawBatch]:
        """Each user referenced since the last call, fetched once per run."""
        pending, self._users_pending = sorted(self._users_pending), set()
        if self._use_graphql and pending:
            try:
                batches = list(graphql.users(self._graphql(), pending))
            except GraphQLUnsupportedError as error:
                self._fall_back_to_rest(error)
            else:
                self._users_fetched.update(pending)
                for records in batches:
                    yield RawBatch("gitlab_users", records)
                return
        records: list[dict] = []
        for user_id in pending:
            self._users_fetched.add(user_id)
            try:
                records.append(self.client.get_json(f"/users/{user_id}").data)
            except NotFoundError:
                continue  # deleted, blocked or hidden from this token: nothing to store
            if len(records) == USERS_PER_BATCH:
                yield RawBatch("gitlab_users", records)
                records = []
        if records:
            yield RawBatch("gitlab_users", records)


# -- plain helpers ---------------------------------------------------------------------------


def with_closing(batches: Iterable[RawBatch],
                 closing: Callable[[RawBatch], RawBatch]) -> Iterator[RawBatch]:
    """The batches, the last one passed through ``closing`` once all are produced: it adds
    what may only be committed after every batch before it is durable (cursors, validators)."""
    last: RawBatch | None = None
    for batch in batches:
        if last is not None:
            yield last
        last = batch
    if last is not None:
        yield closing(last)


def cursor_key(stream: str, project_id: int) -> str:
    return f"{stream}:{project_id}"


def pending_approvals_key(project_id: int) -> str:
    """The sync-state entry naming the merge requests whose approvals are still to be read."""
    return f"pending:approvals:{project_id}"


def token_auth(credentials: dict[str, Secret]) -> BearerToken:
    """A personal, group or project access token, sent as a bearer token."""
    return BearerToken(credentials["token"].reveal())


def api_root(base_url: str) -> str:
    """The REST v4 root for an instance root (a URL already ending in /api/v4 is kept)."""
    root = base_url.rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def graphql_url(api_root_url: str) -> str:
    """GitLab's GraphQL endpoint beside its REST root: ``https://HOST/api/graphql``."""
    return api_root_url[: -len(API_PREFIX)] + "/api/graphql"


def project_path(group: str, path: str) -> str:
    """A configured project as a full path: paths not under the group are relative to it."""
    path = path.strip("/")
    return path if path.startswith(group + "/") else f"{group}/{path}"


def encoded(path: str) -> str:
    """A namespace or project path as GitLab wants it in a URL: one segment, ``/`` as %2F."""
    return quote(path, safe="")


def project_streams(project: dict) -> tuple[str, ...]:
    """The streams a project offers: features switched off (or an empty repository) are
    skipped rather than asked for and refused."""
    streams = []
    for stream, (access_level, enabled_flag) in _STREAM_FEATURES.items():
        if project.get(access_level) == "disabled":
            continue
        if enabled_flag is not None and project.get(enabled_flag) is False:
            continue
        if stream == COMMITS and project.get("empty_repo"):
            continue
        streams.append(stream)
    return tuple(streams)


def dump_plans(plans: Iterable[ProjectPlan]) -> str:
    return json.dumps([[project_id, list(streams), path] for project_id, streams, path in plans])


def load_plans(text: str) -> list[ProjectPlan] | None:
    """The stored plans, or None when they were stored without paths (by an older Sieve):
    the projects are then listed afresh."""
    entries = json.loads(text)
    if any(len(entry) != 3 for entry in entries):
        return None
    return [(int(project_id), tuple(streams), path) for project_id, streams, path in entries]


def parse_time(text: str) -> datetime:
    """GitLab's ISO 8601 timestamps ("Z" or an offset) as aware UTC datetimes."""
    return datetime.fromisoformat(text).astimezone(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def later(newest: datetime | None, text: str | None) -> datetime | None:
    """The later of ``newest`` and the timestamp ``text`` (ignored when missing)."""
    if not text:
        return newest
    moment = parse_time(text)
    return moment if newest is None or moment > newest else newest
