"""Azure DevOps Services REST API (7.x) emulator: Git repositories, pull requests with their
reviewers, threads and commits, for one organization and one project.

Shapes follow learn.microsoft.com/rest/api/azure/devops: "Git / Repositories - List"
(``GET {project}/_apis/git/repositories``, not paged), "Git / Pull Requests - Get Pull Requests"
(``GET .../repositories/{repositoryId}/pullrequests``: ``searchCriteria.status`` active by
default, or abandoned, completed, all; ``searchCriteria.minTime``/``maxTime`` with
``searchCriteria.queryTimeRangeType`` created (default) or closed; ``$top``/``$skip`` paging,
newest first; each pull request carries its ``reviewers`` with their ``vote`` — 10 approved,
5 approved with suggestions, 0 none, -5 waiting for author, -10 rejected), "Pull Request
Threads - List" (vote changes are system threads whose ``properties`` hold
``CodeReviewThreadType: VoteUpdate``, ``CodeReviewVoteResult`` and
``CodeReviewVotedByIdentity``, an index into the thread's ``identities``), "Pull Request
Commits - Get Pull Request Commits" (``$top`` and ``continuationToken``; more pages are
announced by the ``x-ms-continuationtoken`` response header), "Build / Builds - List"
(``GET {project}/_apis/build/builds``: ``repositoryId``, ``statusFilter``, ``minTime`` and
``maxTime`` on the time ``queryOrder`` names — finishTimeAscending and the like; ``$top`` and
``continuationToken`` paging; ``triggerInfo`` carries the triggering commit's message). Every call
names an
``api-version``; lists answer ``{"count", "value"}``. A personal access token travels as HTTP
Basic with an empty user name: an unknown token answers 401; a request without Basic
credentials, or with an expired token, 203 with the HTML sign-in page. Errors
are ``{"$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"}``; a
project that does not exist answers 404 TF200016. Throttled requests answer 429 with
``Retry-After`` and ``X-RateLimit-Resource``, ``-Delay``, ``-Limit``, ``-Remaining`` and
``-Reset`` ("Rate and usage limits", learn.microsoft.com/azure/devops/integrate/concepts/
rate-limits). No ETags: nothing answers 304.

Boards (Work Item Tracking 7.1): "Wiql - Query By Wiql" (``POST {project}/_apis/wit/wiql`` with
``{"query": ...}``; whatever the SELECT names, only ``workItems`` ids come back, with ``asOf`` and
``columns``; at most 20,000 (VS402337 beyond); a date-time literal needs ``timePrecision=true``),
"Work Items - List" (``GET _apis/wit/workitems?ids=...&fields=...``: at most 200 ids, only the
fields asked for, all of them when none are named; with ``errorPolicy=omit`` a work item that
no longer exists is a null instead of failing the whole call), "Updates - List" (``GET
_apis/wit/workItems/{id}/updates``: ``id``, ``rev``, ``revisedBy``, ``revisedDate`` — when the
revision was superseded, 9999-01-01 for the latest — and ``fields`` as ``{oldValue, newValue}``)
and "Iterations - List" (``GET {project}/{team}/_apis/work/teamsettings/iterations``: ``id``,
``name``, ``path`` and ``attributes`` ``startDate``, ``finishDate``, ``timeFrame`` past / current
/ future; dates at midnight UTC) — learn.microsoft.com/rest/api/azure/devops/wit/wiql,
.../wit/work-items/list, .../wit/updates/list, .../work/iterations/list and the
azure-devops-extension-api WorkItemUpdate and TeamIterationAttributes interfaces.

"Reporting Work Item Revisions - Read Reporting Revisions Get" and "... Post"
(learn.microsoft.com/rest/api/azure/devops/wit/reporting-work-item-revisions, api-version 7.1;
``GET|POST {project}/_apis/wit/reporting/workitemrevisions``): every revision of the project's
work items, streamed in batches in watermark order, oldest first. The answer is ``{"values",
"nextLink", "continuationToken", "isLastBatch"}``; each value is ``{"id", "rev", "fields"}``
holding the work item's fields as they were at that revision (identities as "Name <email>"
strings without ``includeIdentityRef``), not what changed. ``continuationToken`` is the
watermark to resume from (persist it, come back later: only newer revisions follow);
``startDateTime`` starts after a time instead and cannot be combined with a token. ``fields``
(GET, comma separated, or the POST body's ``fields``) limits what each revision carries; without
it every field but the long texts comes (Description, History, AcceptanceCriteria need
``$expand=fields``); ``types`` filters work item types; ``$maxPageSize`` lowers the batch (the
service sizes batches itself: 200 here). A batch that repeats (fault) starts half a batch early.

"Classification Nodes - Get" (``GET {project}/_apis/wit/classificationnodes/Iterations?$depth=N``,
learn.microsoft.com/rest/api/azure/devops/wit/classification-nodes/get): the project's iteration
tree, every team's iterations, as the root node (``\\Project\\Iteration``) with ``children``
down to ``$depth`` levels; each node has ``id``, ``identifier`` (the GUID team settings call the
iteration's id), ``name``, ``structureType``, ``hasChildren``, ``path`` and ``attributes``
``startDate``/``finishDate`` — no time frame, which is a team's view.

The base URL is the organization's, like ``https://dev.azure.com/{organization}``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import quote, unquote, urlencode

from emulators.azuredevops.data import STATES, WORK_ITEM_TYPES, AzureDevOpsData, ado_id
from emulators.framework import ApiApp, ApiError, RateLimitState, Request, Response
from emulators.github.model import Commit, PullRequest
from emulators.model import Person, Repo, stable_hex
from emulators.org import Org

MAX_TOP = 1000  # the pull request and commit listings' largest page
DEFAULT_TOP = 100
SIGN_IN_PAGE = ("<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title>"
                "</head><body>Sign in to continue to Azure DevOps</body></html>")
WEB_ROOT = "https://dev.azure.com/sieve-demo"
BUILD_ORDERS = ("finishTimeAscending", "finishTimeDescending", "queueTimeAscending",
                "queueTimeDescending", "startTimeAscending", "startTimeDescending")
WIQL_LIMIT = 20_000  # a flat query answers at most this many work items
BATCH_LIMIT = 200  # ids per work items batch
REVISIONS_BATCH = 200  # revisions per reporting batch, unless $maxPageSize asks for fewer
# Long text fields: the reporting API returns them only when asked ($expand=fields, or named).
LONG_TEXTS = frozenset({"System.Description", "System.History",
                        "Microsoft.VSTS.Common.AcceptanceCriteria"})
WIQL_SELECT = re.compile(r"\s*select\s+\[system\.id\]\s+from\s+workitems\b", re.I)
WIQL_CHANGED_SINCE = re.compile(r"\[system\.changeddate\]\s*>\s*'([^']+)'", re.I)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MERGE_STRATEGIES = {"squash": "squash", "merge": "noFastForward", "rebase": "rebase"}


def _error(status: int, message: str, type_key: str) -> ApiError:
    return ApiError(status, {
        "$id": "1", "innerException": None, "message": message,
        "typeName": f"Microsoft.TeamFoundation.Framework.Server.{type_key}, "
                    "Microsoft.TeamFoundation.Framework.Server",
        "typeKey": type_key, "errorCode": 0, "eventId": 3000})


def ado_time(at: datetime | None) -> str | None:
    """Azure DevOps' timestamps: ISO 8601 with up to seven fractional digits and Z."""
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _millis(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _parse_time(request: Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _error(400, f"The value '{raw[:40]}' is not a valid DateTime for {name}.",
                     "InvalidArgumentValueException") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _identity_text(person: Person) -> str:
    """An identity field as the reporting API shows it without includeIdentityRef."""
    return f"{person.name} <{person.email}>"


def revisions_watermark(at: datetime | None, work_item_id: int, rev: int) -> str:
    """The reporting API's continuation token: where the revision stream resumes (opaque to
    clients; here the last revision handed out, as microseconds;work item;rev)."""
    micros = 0 if at is None else (at - EPOCH) // timedelta(microseconds=1)
    return f"{micros};{work_item_id};{rev}"


def _watermark_of(token: str) -> tuple[datetime, int, int]:
    parts = token.split(";")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise _error(400, "The continuation token is not valid.",
                     "InvalidArgumentValueException")
    micros, work_item_id, rev = map(int, parts)
    return EPOCH + timedelta(microseconds=micros), work_item_id, rev


def continuation_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset_of(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _error(400, "The continuation token is not valid.", "InvalidArgumentValueException")


class AzureDevOpsApp(ApiApp):
    name = "azuredevops"
    credentials: ClassVar[dict[str, str]] = {"token": "ado-demo-personal-access-token"}
    # A token past its expiry: the service answers with its sign-in page.
    EXPIRED_TOKEN = "ado-expired-personal-access-token"
    supports_conditional = False

    def __init__(self, org: Org, token: str):
        super().__init__()
        self.org = org
        self.data: AzureDevOpsData = org.azuredevops
        self.token = token
        repo = "/{project}/_apis/git/repositories/{repositoryId}"
        self.route("GET", "/{project}/_apis/git/repositories", self.list_repositories)
        self.route("GET", f"{repo}/pullrequests", self.list_pull_requests)
        self.route("GET", f"{repo}/pullRequests/{{pullRequestId}}/threads", self.list_threads)
        self.route("GET", f"{repo}/pullRequests/{{pullRequestId}}/commits",
                   self.list_pull_request_commits)
        self.route("GET", "/{project}/_apis/build/builds", self.list_builds)
        self.route("POST", "/{project}/_apis/wit/wiql", self.query_by_wiql)
        self.route("GET", "/{project}/_apis/wit/workitems", self.work_items_batch)
        self.route("GET", "/{project}/_apis/wit/workItems/{id}/updates",
                   self.work_item_updates)
        self.route("GET", "/{project}/_apis/wit/reporting/workitemrevisions",
                   self.reporting_revisions)
        self.route("POST", "/{project}/_apis/wit/reporting/workitemrevisions",
                   self.reporting_revisions)
        self.route("GET", "/{project}/{team}/_apis/work/teamsettings/iterations",
                   self.team_iterations)
        self.route("GET", "/{project}/_apis/wit/classificationnodes/{group}",
                   self.classification_nodes)

    # -- conventions -------------------------------------------------------------------------

    def split_path(self, path: str) -> tuple[str, str] | None:
        return "", path

    def authenticate(self, request: Request) -> ApiError | None:
        header = request.header("authorization") or ""
        token = None
        if header.startswith("Basic "):
            try:
                _, _, token = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                token = ""
        if token is None or token == self.EXPIRED_TOKEN:
            return ApiError(203, SIGN_IN_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        if token != self.token:
            return ApiError(401, "Access Denied: The Personal Access Token used has expired or "
                                 "is not valid.")
        if "api-version" not in request.query:
            return _error(400, "No api-version was supplied for the GET request.",
                          "VssVersionNotSpecifiedException")
        return None

    def not_found(self, request: Request) -> ApiError:
        return _error(404, "The controller for path was not found or does not implement "
                           "IController.", "HttpException")

    def rate_limited(self, state: RateLimitState, request: Request) -> ApiError:
        return self.rate_limited_retry_after(state.seconds_to_reset(self.rate_limits.now()),
                                             request)

    def rate_limited_retry_after(self, retry_after: int, request: Request) -> ApiError:
        error = _error(429, "Request was blocked due to exceeding usage of resource "
                            "'ATCPU' in namespace 'User'.", "RequestBlockedException")
        reset = int(self.rate_limits.now()) + retry_after
        error.headers = {"Retry-After": str(retry_after), "X-RateLimit-Resource": "ATCPU",
                         "X-RateLimit-Delay": "0.000", "X-RateLimit-Limit": "200",
                         "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
        return error

    def server_error(self, status: int) -> ApiError:
        return _error(status, "TF246017: Azure DevOps Services cannot connect to the "
                              "database.", "DatabaseConnectionException")

    def base_headers(self, request: Request, request_number: int) -> dict[str, str]:
        return {"ActivityId": str(stable_hex(32, "ado-activity", request_number)),
                "X-TFS-ProcessId": stable_hex(32, "ado-process")}

    # -- lookups -------------------------------------------------------------------------------

    def _project(self, request: Request) -> None:
        name = request.params["project"]
        if name.lower() not in (self.data.project_name, self.data.project_id):
            raise _error(404, f"TF200016: The following project does not exist: {name[:60]}. "
                              "Verify that the name of the project is correct and that the "
                              "project exists on the specified Azure DevOps Server.",
                         "ProjectDoesNotExistWithNameException")

    def _repo(self, request: Request) -> Repo:
        self._project(request)
        repo = self.data.repo(request.params["repositoryId"])
        if repo is None:
            raise _error(404, f"TF401019: The Git repository with name or identifier "
                              f"{request.params['repositoryId'][:60]} does not exist or you do "
                              "not have permissions for the operation you are attempting.",
                         "GitRepositoryNotFoundException")
        return repo

    def _pull_request(self, request: Request, repo: Repo) -> PullRequest:
        raw = request.params["pullRequestId"]
        pr = self.data.pull_request(int(raw)) if raw.isdigit() else None
        if pr is None or pr.repo is not repo:
            raise _error(404, "TF401180: The requested pull request was not found.",
                         "GitPullRequestNotFoundException")
        return pr

    # -- paging --------------------------------------------------------------------------------

    @staticmethod
    def _skip_page(request: Request, items: list) -> list:
        """``$top``/``$skip``: one window; the repeat fault starts it half a page early."""
        top = request.int_param("$top", DEFAULT_TOP, MAX_TOP, 1)
        skip = request.int_param("$skip", 0)
        begin = max(0, skip - top // 2) if request.repeat_page and skip else skip
        return items[begin:skip + top]

    @staticmethod
    def _token_page(request: Request, items: list, render) -> Response:
        """``$top`` and ``continuationToken``; the next page's token in a header."""
        top = request.int_param("$top", DEFAULT_TOP, MAX_TOP, 1)
        offset = _offset_of(request.query.get("continuationToken"))
        begin = max(0, offset - top // 2) if request.repeat_page and offset else offset
        window = items[begin:offset + top]
        headers = {}
        if offset + top < len(items):
            headers["x-ms-continuationtoken"] = continuation_token(offset + top)
        return Response(body={"count": len(window), "value": [render(i) for i in window]},
                        headers=headers)

    # -- routes --------------------------------------------------------------------------------

    def list_repositories(self, request: Request) -> Response:
        self._project(request)
        value = [self.repository_json(repo, request.base_url) for repo in self.data.repos]
        return Response(body={"count": len(value), "value": value})

    def list_pull_requests(self, request: Request) -> Response:
        repo = self._repo(request)
        status = request.query.get("searchCriteria.status", "active").lower()
        if status not in ("active", "abandoned", "completed", "all", "notset"):
            raise _error(400, f"The value '{status[:20]}' is not valid for status.",
                         "InvalidArgumentValueException")
        prs = [pr for pr in self.data.pull_requests(repo)
               if status in ("all", "notset") or self.data.status(pr) == status]
        low = _parse_time(request, "searchCriteria.minTime")
        high = _parse_time(request, "searchCriteria.maxTime")
        if low or high:
            by_closed = request.query.get("searchCriteria.queryTimeRangeType",
                                          "created").lower() == "closed"
            stamps = [(pr, pr.closed_at if by_closed else pr.created_at) for pr in prs]
            prs = [pr for pr, at in stamps if at is not None
                   and (low is None or at >= low) and (high is None or at <= high)]
        window = self._skip_page(request, prs)
        value = [self.pull_request_json(pr, request.base_url) for pr in window]
        return Response(body={"count": len(value), "value": value})

    def list_threads(self, request: Request) -> Response:
        pr = self._pull_request(request, self._repo(request))
        threads = [self.vote_thread_json(pr, k, review, vote)
                   for k, (review, vote) in enumerate(self.data.votes(pr), start=1)]
        offset = len(threads)
        for k, review in enumerate((r for r in pr.reviews if r.body), start=offset + 1):
            threads.append(self.text_thread_json(k, review.author, review.body,
                                                 review.submitted_at))
        offset = len(threads)
        for k, comment in enumerate(pr.comments, start=offset + 1):
            threads.append(self.text_thread_json(k, comment.author, comment.body,
                                                 comment.created_at))
        return Response(body={"count": len(threads), "value": threads})

    def list_pull_request_commits(self, request: Request) -> Response:
        pr = self._pull_request(request, self._repo(request))
        # Newest first, as the service lists them.
        commits = sorted(pr.commits, key=lambda c: (c.committed_at, c.sha), reverse=True)
        return self._token_page(request, commits, lambda c: self.commit_json(c, pr.repo))

    def list_builds(self, request: Request) -> Response:
        self._project(request)
        order = request.query.get("queryOrder", "queueTimeDescending")
        if order not in BUILD_ORDERS:
            raise _error(400, f"The value '{order[:30]}' is not valid for queryOrder.",
                         "InvalidArgumentValueException")
        by_finish = order.startswith("finishTime")
        builds = self.data.builds()
        status = request.query.get("statusFilter", "all")
        if status == "completed" or by_finish:
            builds = [b for b in builds if b.finished_at is not None]
        elif status == "inProgress":
            builds = [b for b in builds if b.finished_at is None]
        wanted_repo = request.query.get("repositoryId")
        if wanted_repo:
            builds = [b for b in builds if self.data.repo_id(b.repo) == wanted_repo.lower()]
        low, high = _parse_time(request, "minTime"), _parse_time(request, "maxTime")

        def at(build):
            return build.finished_at if by_finish else build.queued_at

        builds = [b for b in builds if (low is None or at(b) >= low)
                  and (high is None or at(b) <= high)]
        builds.sort(key=lambda b: (at(b), b.build_id), reverse=order.endswith("Descending"))
        return self._token_page(request, builds,
                                lambda b: self.build_json(b, request.base_url))

    # -- Boards --------------------------------------------------------------------------------

    def query_by_wiql(self, request: Request) -> Response:
        """Flat queries on the project's work items: ids only, in ChangedDate order."""
        self._project(request)
        try:
            text = json.loads(request.body or b"{}").get("query") or ""
        except (ValueError, AttributeError):
            text = ""
        if not WIQL_SELECT.match(text):
            raise _error(400, "TF51006: The query statement is missing a FROM clause or "
                              "selects something other than work items.",
                         "WorkItemTrackingQueryException")
        since = None
        if (match := WIQL_CHANGED_SINCE.search(text)) is not None:
            if "T" in match[1] and request.query.get("timePrecision", "").lower() != "true":
                raise _error(400, "VS403437: The query uses date precision but the value "
                                  f"'{match[1][:40]}' has a time: add timePrecision=true.",
                             "WorkItemTrackingQueryException")
            since = datetime.fromisoformat(match[1].replace("Z", "+00:00"))
            since = since if since.tzinfo else since.replace(tzinfo=UTC)
        boards = self.data.boards
        items = [boards.work_item(number) for number in boards.work_item_ids()]
        # Compared as the API shows ChangedDate: to the millisecond.
        items = [i for i in items if since is None or _millis(i.updated) > since]
        items.sort(key=lambda i: (i.updated, i.number))
        if len(items) > WIQL_LIMIT:
            raise _error(400, f"VS402337: The number of work items returned exceeds the size "
                              f"limit of {WIQL_LIMIT}. Change the query to return fewer items.",
                         "WorkItemTrackingQueryResultSizeLimitExceededException")
        items = items[:request.int_param("$top", WIQL_LIMIT, WIQL_LIMIT, 1)]
        return Response(body={
            "queryType": "flat", "queryResultType": "workItem",
            "asOf": ado_time(self.org.now),
            "columns": [{"referenceName": "System.Id", "name": "ID",
                         "url": f"{request.base_url}/_apis/wit/fields/System.Id"}],
            "workItems": [{"id": i.number, "url": f"{request.base_url}/{self.data.project_id}"
                           f"/_apis/wit/workItems/{i.number}"} for i in items]})

    def work_items_batch(self, request: Request) -> Response:
        """Up to 200 work items by id, with only the fields asked for (all without)."""
        self._project(request)
        raw_ids = [part for part in request.query.get("ids", "").split(",") if part]
        if not raw_ids or not all(part.isdigit() for part in raw_ids):
            raise _error(400, "The ids parameter must list work item ids.",
                         "InvalidArgumentValueException")
        if len(raw_ids) > BATCH_LIMIT:
            raise _error(400, f"VS402340: The maximum number of work items is {BATCH_LIMIT}.",
                         "WorkItemTrackingBatchLimitExceededException")
        wanted = [f for f in request.query.get("fields", "").split(",") if f]
        omit = request.query.get("errorPolicy", "fail").lower() == "omit"
        value = []
        for raw in raw_ids:
            issue = self.data.boards.work_item(int(raw))
            if issue is None and omit:
                value.append(None)
                continue
            if issue is None:
                raise _error(404, f"TF401232: Work item {raw} does not exist, or you do not "
                                  "have permissions to read it.", "WorkItemUnauthorizedAccess")
            fields = self.work_item_fields(issue)
            if wanted:
                fields = {name: fields[name] for name in wanted if name in fields}
            value.append({"id": issue.number, "rev": len(self.data.boards.updates(issue)),
                          "fields": fields, "url": f"{request.base_url}/"
                          f"{self.data.project_id}/_apis/wit/workItems/{issue.number}"})
        return Response(body={"count": len(value), "value": value})

    def work_item_updates(self, request: Request) -> Response:
        self._project(request)
        raw = request.params["id"]
        issue = self.data.boards.work_item(int(raw)) if raw.isdigit() else None
        if issue is None:
            raise _error(404, f"TF401232: Work item {raw[:20]} does not exist, or you do not "
                              "have permissions to read it.", "WorkItemUnauthorizedAccess")
        updates = self.data.boards.updates(issue)
        rendered = [self.update_json(issue, update, nxt) for update, nxt
                    in zip(updates, [*updates[1:], None], strict=True)]
        window = self._skip_page(request, rendered)
        return Response(body={"count": len(window), "value": window})

    def reporting_revisions(self, request: Request) -> Response:
        """A batch of the project's work item revisions after the watermark the continuation
        token names (or after ``startDateTime``; never both), oldest first; each revision
        holds the fields asked for (GET ``fields``, or the POST body's ``fields``/``types``),
        else every field but the long texts (those need ``$expand=fields``)."""
        self._project(request)
        token = request.query.get("continuationToken")
        since = _parse_time(request, "startDateTime")
        if token and since is not None:
            raise _error(400, "The startDateTime parameter cannot be used together with a "
                              "continuationToken (watermark).", "InvalidArgumentValueException")
        wanted, types = self._revision_filter(request)
        boards = self.data.boards
        index = boards.revision_index()
        if token:
            after = _watermark_of(token)
            begin = bisect.bisect_right(index, after)
        else:
            begin = 0 if since is None else next(
                (k for k, (at, _, _) in enumerate(index) if _millis(at) > since), len(index))
        size = request.int_param("$maxPageSize", REVISIONS_BATCH, REVISIONS_BATCH, 1)
        chosen: list[tuple[datetime, int, int]] = []
        position = begin
        if request.repeat_page and token:
            position = max(0, begin - size // 2)
        while position < len(index) and len(chosen) < size:
            entry = index[position]
            issue = boards.work_item(entry[1])
            if not types or WORK_ITEM_TYPES[issue.issue_type].lower() in types:
                chosen.append(entry)
            position += 1
        last = position >= len(index)
        if position > begin or (begin and not token):
            watermark = revisions_watermark(*index[max(position, begin) - 1])
        else:
            watermark = token or revisions_watermark(None, 0, 0)
        expand = request.query.get("$expand", "").lower() == "fields"
        values = [self.revision_json(boards.work_item(number), rev, wanted, expand)
                  for _, number, rev in chosen]
        kept = {k: v for k, v in request.query.items()
                if k not in ("continuationToken", "startDateTime")}
        next_link = (f"{request.base_url}/{self.data.project_id}/_apis/wit/reporting/"
                     f"workitemrevisions?{urlencode({**kept, 'continuationToken': watermark})}")
        return Response(body={"values": values, "nextLink": next_link,
                              "continuationToken": watermark, "isLastBatch": last})

    @staticmethod
    def _revision_filter(request: Request) -> tuple[list[str], set[str]]:
        """The fields and work item types asked for: the query's (GET) or the body's (POST)."""
        if request.method == "POST":
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise _error(400, "The request body must be a ReportingWorkItemRevisionsFilter.",
                             "InvalidArgumentValueException")
            fields, types = body.get("fields") or [], body.get("types") or []
        else:
            fields = [f for f in request.query.get("fields", "").split(",") if f]
            types = [t for t in request.query.get("types", "").split(",") if t]
        return [str(f) for f in fields], {str(t).lower() for t in types}

    def revision_json(self, issue, rev: int, wanted: list[str], expand: bool) -> dict:
        """One revision as the reporting API shows it: the work item's fields as they were
        then (identities as "Name <email>" strings), not what changed."""
        boards = self.data.boards
        updates = boards.updates(issue)
        fields = {"System.Id": issue.number, "System.Rev": rev,
                  "System.WorkItemType": WORK_ITEM_TYPES[issue.issue_type],
                  "System.TeamProject": boards.project_name,
                  "System.AreaPath": boards.project_name,
                  "System.CreatedDate": ado_time(issue.created),
                  "System.CreatedBy": _identity_text(issue.reporter),
                  "Microsoft.VSTS.Common.Priority": 2}
        if issue.story_points is not None:
            fields["Microsoft.VSTS.Scheduling.StoryPoints"] = issue.story_points
        if issue.assignee is not None:
            fields["System.AssignedTo"] = _identity_text(issue.assignee)
        for update in updates[:rev]:
            for name, change in update.fields.items():
                if "newValue" in change:
                    fields[name] = change["newValue"]
            fields["System.History"] = update.fields.get("System.History", {}).get("newValue")
        update = updates[rev - 1]
        fields["System.ChangedDate"] = ado_time(update.changed_at)
        fields["System.ChangedBy"] = _identity_text(update.revised_by)
        fields = {name: value for name, value in fields.items() if value is not None}
        if wanted:
            fields = {name: fields[name] for name in wanted if name in fields}
        elif not expand:
            fields = {name: value for name, value in fields.items() if name not in LONG_TEXTS}
        return {"id": issue.number, "rev": rev, "fields": fields}

    def team_iterations(self, request: Request) -> Response:
        self._project(request)
        boards = self.data.boards
        team = unquote(request.params["team"])
        if team.lower() != boards.team_name.lower():
            raise _error(404, f"VS402328: The team with id or name {team[:60]}"
                              " does not exist.", "TeamNotFoundException")
        now = self.org.now
        value = [{"id": boards.iteration_id(sprint), "name": sprint.name,
                  "path": boards.iteration_path(sprint),
                  "attributes": {"startDate": f"{sprint.start:%Y-%m-%d}T00:00:00Z",
                                 "finishDate": f"{sprint.end:%Y-%m-%d}T00:00:00Z",
                                 "timeFrame": "past" if sprint.end <= now else
                                 "current" if sprint.start <= now else "future"},
                  "url": f"{request.base_url}/{self.data.project_id}/_apis/work/teamsettings/"
                         f"iterations/{boards.iteration_id(sprint)}"}
                 for sprint in boards.team_iterations()]
        return Response(body={"count": len(value), "value": value})

    def classification_nodes(self, request: Request) -> Response:
        """The project's iteration tree (every team's iterations): the root node, with its
        children down to ``$depth`` levels (none without it)."""
        self._project(request)
        group = request.params["group"].lower()
        if group not in ("iterations", "areas"):
            raise _error(400, f"The structure group '{group[:20]}' is not valid: use Areas or "
                              "Iterations.", "InvalidArgumentValueException")
        boards = self.data.boards
        project = boards.project_name
        structure = "iteration" if group == "iterations" else "area"
        node_url = (f"{request.base_url}/{self.data.project_id}/_apis/wit/classificationNodes/"
                    f"{group.title()}")
        root = {"id": 1 if structure == "iteration" else 2,
                "identifier": ado_id(structure + "-root", project), "name": project,
                "structureType": structure, "hasChildren": False,
                "path": f"\\{project}\\{structure.title()}", "url": node_url}
        children = [{"id": 100 + k, "identifier": boards.iteration_id(sprint),
                     "name": sprint.name, "structureType": "iteration", "hasChildren": False,
                     "path": f"{root['path']}\\{sprint.name}",
                     "attributes": {"startDate": f"{sprint.start:%Y-%m-%d}T00:00:00Z",
                                    "finishDate": f"{sprint.end:%Y-%m-%d}T00:00:00Z"},
                     "url": f"{node_url}/{quote(sprint.name)}"}
                    for k, sprint in enumerate(boards.iterations(), start=1)
                    if structure == "iteration"]
        root["hasChildren"] = bool(children)
        if children and request.int_param("$depth", 0) >= 1:
            root["children"] = children
        return Response(body=root)

    def work_item_fields(self, issue) -> dict:
        boards = self.data.boards
        path = boards.project_name
        for update in boards.updates(issue):
            path = update.fields.get("System.IterationPath", {}).get("newValue", path)
        state = STATES[issue.status]
        fields = {
            "System.Id": issue.number, "System.TeamProject": boards.project_name,
            "System.AreaPath": boards.project_name, "System.IterationPath": path,
            "System.WorkItemType": WORK_ITEM_TYPES[issue.issue_type], "System.State": state,
            "System.Reason": "Moved to state " + state, "System.Title": issue.summary,
            "System.CreatedDate": ado_time(issue.created),
            "System.CreatedBy": self.identity_json(issue.reporter),
            "System.ChangedDate": ado_time(issue.updated),
            "System.Description": issue.description,
            "Microsoft.VSTS.Common.AcceptanceCriteria": boards.acceptance(issue),
            "Microsoft.VSTS.Common.Priority": 2,
        }
        if issue.comments:
            fields["System.History"] = issue.comments[-1].body
        if issue.assignee is not None:
            fields["System.AssignedTo"] = self.identity_json(issue.assignee)
        if issue.story_points is not None:
            fields["Microsoft.VSTS.Scheduling.StoryPoints"] = issue.story_points
        if issue.resolution_date is not None:
            fields["Microsoft.VSTS.Common.ClosedDate"] = ado_time(issue.resolution_date)
        return fields

    def update_json(self, issue, update, following) -> dict:
        changed = ado_time(update.changed_at)
        fields = {"System.Rev": {"newValue": update.rev},
                  "System.ChangedDate": {"newValue": changed}, **update.fields}
        if update.rev > 1:
            fields["System.Rev"]["oldValue"] = update.rev - 1
        return {"id": update.rev, "workItemId": issue.number, "rev": update.rev,
                "revisedBy": self.identity_json(update.revised_by),
                "revisedDate": ado_time(following.changed_at) if following else
                "9999-01-01T00:00:00Z", "fields": fields}

    # -- JSON ----------------------------------------------------------------------------------

    def project_ref(self) -> dict:
        return {"id": self.data.project_id, "name": self.data.project_name,
                "state": "wellFormed", "visibility": "private", "revision": 11}

    def repository_json(self, repo: Repo, base: str) -> dict:
        repo_id = self.data.repo_id(repo)
        return {
            "id": repo_id, "name": repo.name,
            "url": f"{base}/{self.data.project_id}/_apis/git/repositories/{repo_id}",
            "project": self.project_ref(), "defaultBranch": "refs/heads/main",
            "size": 40_000 + repo.index, "remoteUrl": f"{WEB_ROOT}/_git/{repo.name}",
            "sshUrl": f"git@ssh.dev.azure.com:v3/sieve-demo/{self.data.project_name}/{repo.name}",
            "webUrl": f"{WEB_ROOT}/{self.data.project_name}/_git/{repo.name}",
            "isDisabled": False, "isInMaintenance": False,
        }

    def identity_json(self, person: Person) -> dict:
        identity_id = self.data.identity_id(person)
        return {"displayName": person.name, "url": f"https://spsprodweu5.vssps.visualstudio.com/"
                f"_apis/Identities/{identity_id}", "id": identity_id,
                "uniqueName": person.email, "imageUrl": f"{WEB_ROOT}/_api/_common/"
                f"identityImage?id={identity_id}",
                "descriptor": f"aad.{stable_hex(40, 'ado-descriptor', person.index)}"}

    def pull_request_json(self, pr: PullRequest, base: str) -> dict:
        repo_id = self.data.repo_id(pr.repo)
        pr_id = self.data.pull_request_id(pr.repo, pr.number)
        status = self.data.status(pr)
        body = {
            "repository": {"id": repo_id, "name": pr.repo.name,
                           "url": f"{base}/{self.data.project_id}/_apis/git/repositories/"
                                  f"{repo_id}", "project": self.project_ref()},
            "pullRequestId": pr_id, "codeReviewId": pr_id, "status": status,
            "createdBy": self.identity_json(pr.author),
            "creationDate": ado_time(pr.created_at), "title": pr.title,
            # The list shows at most 400 characters of the description.
            "description": pr.body[:400],
            "sourceRefName": f"refs/heads/{pr.head_ref}",
            "targetRefName": f"refs/heads/{pr.base_ref}",
            "mergeStatus": "succeeded" if status != "abandoned" else "notSet",
            "isDraft": pr.draft, "mergeId": stable_hex(32, "ado-merge", pr_id),
            "lastMergeSourceCommit": {"commitId": pr.head_sha},
            "lastMergeTargetCommit": {"commitId": stable_hex(40, "ado-target", pr_id)},
            "reviewers": [self.reviewer_json(person, vote) for person, vote
                          in self.data.reviewers(pr)],
            "labels": [{"id": stable_hex(32, "ado-label", label), "name": label,
                        "active": True} for label in pr.labels],
            "url": f"{base}/{self.data.project_id}/_apis/git/repositories/{repo_id}/"
                   f"pullRequests/{pr_id}",
            "supportsIterations": True,
        }
        if status != "active":
            body["closedDate"] = ado_time(pr.closed_at)
        if status == "completed":
            body["lastMergeCommit"] = {"commitId": pr.merge_commit_sha or pr.head_sha}
            body["closedBy"] = self.identity_json(pr.merged_by or pr.author)
            body["completionOptions"] = {
                "mergeCommitMessage": pr.body, "deleteSourceBranch": True,
                "mergeStrategy": MERGE_STRATEGIES.get(pr.kind, "squash"),
                "transitionWorkItems": True}
        return body

    def reviewer_json(self, person: Person, vote: int) -> dict:
        return {**self.identity_json(person), "reviewerUrl": f"{WEB_ROOT}/_apis/git/"
                f"repositories/reviewers/{self.data.identity_id(person)}", "vote": vote,
                "hasDeclined": False, "isRequired": False, "isFlagged": False}

    def vote_thread_json(self, pr: PullRequest, k: int, review, vote: int) -> dict:
        published = ado_time(review.submitted_at)
        return {
            "id": k, "publishedDate": published, "lastUpdatedDate": published,
            "comments": [{"id": 1, "parentCommentId": 0, "author": self.identity_json(
                review.author), "content": f"{review.author.name} voted {vote}",
                "publishedDate": published, "commentType": "system"}],
            "status": "unknown", "isDeleted": False,
            "properties": {"CodeReviewThreadType": {"$type": "System.String",
                                                    "$value": "VoteUpdate"},
                           "CodeReviewVoteResult": {"$type": "System.String",
                                                    "$value": str(vote)},
                           "CodeReviewVotedByIdentity": {"$type": "System.String",
                                                         "$value": "1"}},
            "identities": {"1": self.identity_json(review.author)},
        }

    def text_thread_json(self, k: int, author: Person, content: str, at: datetime) -> dict:
        published = ado_time(at)
        return {"id": k, "publishedDate": published, "lastUpdatedDate": published,
                "comments": [{"id": 1, "parentCommentId": 0,
                              "author": self.identity_json(author), "content": content,
                              "publishedDate": published, "commentType": "text"}],
                "status": "active", "isDeleted": False, "properties": {}}

    def build_json(self, build, base: str) -> dict:
        done = build.finished_at is not None
        definition_id = 10 + ("CI", "deploy-staging", "deploy-production").index(build.definition)
        body = {
            "id": build.build_id, "buildNumber": f"{build.queued_at:%Y%m%d}.{build.build_id % 100}",
            "status": "completed" if done else "inProgress", "queueTime": ado_time(build.queued_at),
            "startTime": ado_time(build.queued_at), "url": f"{base}/{self.data.project_id}/"
            f"_apis/build/Builds/{build.build_id}",
            "definition": {"id": definition_id, "name": build.definition, "path": "\\",
                           "type": "build", "queueStatus": "enabled",
                           "project": self.project_ref()},
            "project": self.project_ref(), "uri": f"vstfs:///Build/Build/{build.build_id}",
            "sourceBranch": f"refs/heads/{build.branch}", "sourceVersion": build.sha,
            "priority": "normal", "reason": build.reason,
            "requestedFor": self.identity_json(build.requested_for),
            "requestedBy": self.identity_json(build.requested_for),
            "repository": {"id": self.data.repo_id(build.repo), "type": "TfsGit",
                           "name": build.repo.name, "clean": None, "checkoutSubmodules": False},
            "triggerInfo": {"ci.sourceBranch": f"refs/heads/{build.branch}",
                            "ci.sourceSha": build.sha,
                            "ci.message": self.data.build_message(build)},
            "retainedByRelease": False,
        }
        if done:
            body["finishTime"] = ado_time(build.finished_at)
            body["result"] = build.result
        return body

    def commit_json(self, commit: Commit, repo: Repo) -> dict:
        committer = commit.committer or commit.author
        return {
            "commitId": commit.sha,
            "author": {"name": commit.author.name, "email": commit.author.commit_email,
                       "date": ado_time(commit.authored_at)},
            "committer": {"name": committer.name, "email": committer.commit_email,
                          "date": ado_time(commit.committed_at)},
            "comment": commit.message,
            "url": f"{WEB_ROOT}/{self.data.project_id}/_apis/git/repositories/"
                   f"{self.data.repo_id(repo)}/commits/{commit.sha}",
        }
