"""Azure DevOps Services connector: the Git repositories of the connection's projects, their pull
requests with reviewers, votes and commits, their pipeline runs, and the people these name.

Request plan, costs, cursors and known limits: docs/sources/azuredevops.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Generator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import quote

from resources.errors import SieveError
from resources.http import (
    BasicEmailToken,
    HttpClient,
    NotFoundError,
    PaginationStyle,
    RetryPolicy,
)
from resources.sources.connector import Connector, RawBatch, incomplete_under

log = logging.getLogger(__name__)

API_VERSION = "7.1"
PAGE_SIZE = 100
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)
# minTime is inclusive: starting just past the newest closing seen reads nothing twice.
TIME_STEP = timedelta(milliseconds=1)
VOTE_UPDATE = "VoteUpdate"
BATCH_SIZE = 200  # the work items batch's largest size
# The only fields asked of the revision stream: no title, description or discussion history.
REVISION_FIELDS = ("System.State", "System.IterationPath", "System.ChangedDate")
TREE_DEPTH = 10  # iteration tree levels read: sprints sit one or two below the root
# The only work item fields ever requested, and the names the allow-list reads them under.
# System.Description, System.History and AcceptanceCriteria are never asked for.
WORK_ITEM_FIELDS = {
    "System.TeamProject": "teamProject", "System.WorkItemType": "workItemType",
    "System.Title": "title", "System.State": "state", "System.IterationPath": "iterationPath",
    "System.AssignedTo": "assignedTo", "Microsoft.VSTS.Scheduling.StoryPoints": "storyPoints",
    "Microsoft.VSTS.Scheduling.Effort": "effort", "System.CreatedDate": "createdDate",
    "System.ChangedDate": "changedDate", "Microsoft.VSTS.Common.ClosedDate": "closedDate",
}


class AzureDevOpsSettingsError(SieveError):
    """The connection's settings name something Azure DevOps does not have (any more)."""


class AzureDevOpsConnector(Connector):
    source = "azuredevops"
    entities = ("azuredevops_repositories", "azuredevops_pull_requests",
                "azuredevops_pr_votes", "azuredevops_pr_commits", "azuredevops_builds",
                "azuredevops_users", "azuredevops_work_items", "azuredevops_work_item_revisions",
                "azuredevops_iterations")

    def __init__(self, context):
        super().__init__(context)
        self.projects = [p.strip() for p in context.settings.get("projects") or () if p.strip()]
        if not self.projects:
            raise AzureDevOpsSettingsError(
                f"{context.error_context().describe()} names no Azure DevOps project; "
                f"re-connect with `sieve connect {context.org_slug} azuredevops --projects "
                "PROJECT[,PROJECT...]`.")
        self._users_seen: set[str] = set()

    @cached_property
    def client(self) -> HttpClient:
        return self._new_client(RetryPolicy())

    def _new_client(self, retry: RetryPolicy) -> HttpClient:
        return self.http_client(
            self.context.settings["base_url"],
            # A personal access token is the password of HTTP Basic with an empty user name.
            BasicEmailToken("", self.context.credentials["token"].reveal()), retry=retry)

    def check(self) -> str:
        with self._new_client(CHECK_RETRY) as client:
            listing = self._repository_listing(client, self.projects[0])
        return (f"Azure DevOps at {client.base_url} accepted the token "
                f"({len(listing)} repositories visible in {self.projects[0]})")

    def fetch(self) -> Iterator[RawBatch]:
        # Every project's repositories first: a project gone or renamed fails the sync before
        # anything is stored, rather than halfway through.
        listings = {project: self._repository_listing(self.client, project)
                    for project in self.projects}
        for project, repositories in listings.items():
            yield RawBatch("azuredevops_repositories", repositories)
            for repository in repositories:
                if not repository.get("isDisabled"):
                    yield from self._pull_requests(project, repository["id"])
            yield from self._builds(project)
            yield from self._work_items(project)
            yield from self._iterations(project)

    def _repository_listing(self, client: HttpClient, project: str) -> list[dict]:
        try:
            response = client.get_json(f"/{project}/_apis/git/repositories",
                                       {"api-version": API_VERSION})
        except NotFoundError as error:
            raise AzureDevOpsSettingsError(
                f"Azure DevOps project {project!r} of {self.context.error_context().describe()} "
                f"was not found at {client.base_url} ({error.api_message or 'not found'}): it "
                "was renamed or deleted, or the token's user cannot see it. Re-connect with "
                f"`sieve connect {self.context.org_slug} azuredevops --projects ...` naming the "
                "projects to read.") from None
        return response.data["value"]

    # -- pull requests -------------------------------------------------------------------------

    def _pull_requests(self, project: str, repository_id: str) -> Iterator[RawBatch]:
        """A first sync lists every pull request. Later ones list the active ones (Azure DevOps
        has no "updated since" filter; they are few) and those closed since the newest closing
        seen; each pull request's votes and commits are read again only when it closed, or
        when its source commit or its reviewers' votes changed. One whose votes or commits
        answered 404 is kept pending: the next sync reads them again."""
        closed_key, active_key = f"closed:{repository_id}", f"active:{repository_id}"
        pending_key = f"pending:{repository_id}"
        pending = json.loads(self.context.state.cursor(pending_key) or "[]")
        failed: list[int] = []
        last: RawBatch | None = None
        for batch in self._pending_pull_requests(project, repository_id, pending):
            if last is not None:
                yield last
            last = batch
        closed_cursor = self.context.state.cursor(closed_key)
        known = json.loads(self.context.state.cursor(active_key) or "{}")
        active: dict[str, str] = {}
        newest_closed = closed_cursor
        path = f"/{project}/_apis/git/repositories/{repository_id}/pullrequests"
        walks = [{"searchCriteria.status": "all"}]
        if closed_cursor is not None:
            since = _format_time(_parse_time(closed_cursor) + TIME_STEP)
            walks = [{"searchCriteria.status": "active"},
                     {"searchCriteria.status": "all", "searchCriteria.minTime": since,
                      "searchCriteria.queryTimeRangeType": "closed"}]
        for criteria in walks:
            for page in self.client.paginate(
                    path, {**criteria, "$top": PAGE_SIZE, "api-version": API_VERSION},
                    style=PaginationStyle.TOP_SKIP):
                for batch in self._page_batches(project, repository_id, page.items, known,
                                                failed):
                    if last is not None:
                        yield last
                    last = batch
                for pr in page.items:
                    if pr["status"] == "active":
                        active[str(pr["pullRequestId"])] = fingerprint(pr)
                    elif pr.get("closedDate") and (newest_closed is None or _parse_time(
                            pr["closedDate"]) > _parse_time(newest_closed)):
                        newest_closed = pr["closedDate"]
        cursors = {active_key: json.dumps(active, sort_keys=True)}
        if newest_closed is not None:
            cursors[closed_key] = newest_closed
        if pending or failed:
            cursors[pending_key] = json.dumps(failed)
        if failed and last is not None:
            yield last
            last = None
        # The cursors go with the walk's last batch: they are committed once all is durable.
        closing = last or RawBatch("azuredevops_pull_requests", [],
                                   failed_keys=tuple((pr_id,) for pr_id in failed))
        yield replace(closing, cursors={**closing.cursors, **cursors})

    def _pending_pull_requests(self, project: str, repository_id: str,
                               pending: list[int]) -> Iterator[RawBatch]:
        """The votes and commits an earlier sync could not read. A pull request answering 404
        again was deleted upstream: it is dropped, and the out-of-date job's reconciliation
        removes what of it is stored."""
        people: list[dict] = []
        for pr_id in pending:
            if not (yield from self._pull_request_details(project, repository_id, pr_id,
                                                          people)):
                log.info("Azure DevOps repository %s: pull request %s answered 404 twice; "
                         "treated as deleted upstream", repository_id, pr_id)
        users = self._new_users(people)
        if users:
            yield RawBatch("azuredevops_users", users)

    def _page_batches(self, project: str, repository_id: str, prs: list[dict],
                      known: dict[str, str], failed: list[int]) -> Iterator[RawBatch]:
        """One page of pull requests: the pull requests, the votes and commits of those that
        changed, and the people named. Those whose details answered 404 join ``failed``."""
        yield RawBatch("azuredevops_pull_requests", prs)
        people: list[dict] = []
        for pr in prs:
            people += [pr.get("createdBy"), pr.get("closedBy")]
            people += pr.get("reviewers") or []
            if pr["status"] == "active" and known.get(str(pr["pullRequestId"])) == fingerprint(pr):
                continue
            pr_id = pr["pullRequestId"]
            if not (yield from self._pull_request_details(project, repository_id, pr_id,
                                                          people)):
                log.info("Azure DevOps repository %s: pull request %s answered 404; kept "
                         "pending", repository_id, pr_id)
                failed.append(pr_id)
        users = self._new_users(people)
        if users:
            yield RawBatch("azuredevops_users", users)

    def _pull_request_details(self, project: str, repository_id: str, pr_id: int,
                              people: list[dict]) -> Generator[RawBatch, None, bool]:
        """The pull request's votes (their voters added to ``people``) and commits; False when
        either answered 404 (a replica behind its listing, or deleted since it was listed)."""
        parent = {"pull_request_id": pr_id, "repository_id": repository_id}
        base = f"/{project}/_apis/git/repositories/{repository_id}/pullRequests/{pr_id}"
        try:
            votes = self._votes(base)
            people += [vote["votedBy"] for vote in votes]
            if votes:
                yield RawBatch("azuredevops_pr_votes", votes, parent=parent)
            for page in self.client.paginate(f"{base}/commits",
                                             {"$top": PAGE_SIZE, "api-version": API_VERSION},
                                             style=PaginationStyle.AZURE_DEVOPS):
                if page.items:
                    yield RawBatch("azuredevops_pr_commits", page.items, parent=parent)
        except NotFoundError:
            yield from incomplete_under(parent, "azuredevops_pr_votes", "azuredevops_pr_commits")
            return False
        return True

    # -- builds ---------------------------------------------------------------------------------

    def _builds(self, project: str) -> Iterator[RawBatch]:
        """The project's builds that finished since the cursor, oldest finish first, so each
        durable page moves the cursor to its newest finish (running builds come once done)."""
        key = f"builds:{project}"
        cursor = self.context.state.cursor(key)
        params = {"queryOrder": "finishTimeAscending", "statusFilter": "completed",
                  "$top": PAGE_SIZE, "api-version": API_VERSION}
        if cursor is not None:
            params["minTime"] = _format_time(_parse_time(cursor) + TIME_STEP)
        for page in self.client.paginate(f"/{project}/_apis/build/builds", params,
                                         style=PaginationStyle.AZURE_DEVOPS):
            finished = [build["finishTime"] for build in page.items if build.get("finishTime")]
            if finished:
                cursor = max([cursor, *finished] if cursor else finished, key=_parse_time)
            users = self._new_users([build.get("requestedFor") for build in page.items])
            if users:
                yield RawBatch("azuredevops_users", users)
            yield RawBatch("azuredevops_builds", page.items,
                           cursors={key: cursor} if cursor else {})

    # -- Boards ---------------------------------------------------------------------------------

    def _work_items(self, project: str) -> Iterator[RawBatch]:
        """The project's work item revisions since the watermark kept (all on a first sync),
        in the reporting API's batches, each revision with its state, iteration path and time
        only; then the work items they belong to, two hundred at a time with the allow-listed
        fields only. The cursor is the batch's continuation token and the ids of the work
        items changed but not read yet, committed with each durable batch."""
        key = f"revisions:{project}"
        saved = json.loads(self.context.state.cursor(key) or "{}")
        pending: list[int] = saved.get("pending") or []
        params = {"fields": ",".join(REVISION_FIELDS), "api-version": API_VERSION}
        if saved.get("token"):
            params["continuationToken"] = saved["token"]
        token = saved.get("token")
        for page in self.client.paginate(f"/{project}/_apis/wit/reporting/workitemrevisions",
                                         params, style=PaginationStyle.AZURE_DEVOPS_BATCH):
            token = page.resume_token or token
            revisions = [revision_record(value) for value in page.items]
            pending = list(dict.fromkeys([*pending, *(r["id"] for r in revisions)]))
            batches = [RawBatch("azuredevops_work_item_revisions", revisions)]
            while len(pending) >= BATCH_SIZE:
                batches += self._work_item_batches(project, pending[:BATCH_SIZE])
                pending = pending[BATCH_SIZE:]
            yield from _with_cursor(batches, key, token, pending)
        while pending:
            batches = self._work_item_batches(project, pending[:BATCH_SIZE])
            pending = pending[BATCH_SIZE:]
            yield from _with_cursor(batches, key, token, pending)

    def _work_item_batches(self, project: str, ids: list[int]) -> list[RawBatch]:
        """The work items' current allow-listed fields, and the people they name. A work item
        deleted since its revision was read is left out (errorPolicy=omit answers null)."""
        listing = self.client.get_json(f"/{project}/_apis/wit/workitems", {
            "ids": ",".join(map(str, ids)), "fields": ",".join(WORK_ITEM_FIELDS),
            "errorPolicy": "omit", "api-version": API_VERSION}).data
        items = [work_item_record(item) for item in listing.get("value") or () if item]
        batches = [RawBatch("azuredevops_work_items", items)]
        users = self._new_users([item.get("assignedTo") for item in items])
        if users:
            batches.append(RawBatch("azuredevops_users", users))
        return batches

    def _iterations(self, project: str) -> Iterator[RawBatch]:
        """Every iteration of the project (each team's sprints, from the project's iteration
        tree), with the time frame the default team ("<project> Team") gives those it has
        selected; the others' time frames come from their dates in dbt."""
        team = {iteration["id"]: iteration for iteration in self._team_iterations(project)}
        tree = self.client.get_json(f"/{project}/_apis/wit/classificationnodes/Iterations",
                                    {"$depth": TREE_DEPTH, "api-version": API_VERSION}).data
        found = {}
        for node in iteration_leaves(tree):
            found[node["identifier"]] = team.get(node["identifier"]) or iteration_record(node)
        # A team's iteration deeper than the tree was read is still kept.
        found.update({key: value for key, value in team.items() if key not in found})
        yield RawBatch("azuredevops_iterations", list(found.values()))

    def _team_iterations(self, project: str) -> list[dict]:
        """The sprints the project's default team has selected, with their time frames."""
        team = quote(f"{project} Team")
        try:
            response = self.client.get_json(
                f"/{project}/{team}/_apis/work/teamsettings/iterations",
                {"api-version": API_VERSION})
        except NotFoundError as error:
            raise AzureDevOpsSettingsError(
                f"Azure DevOps project {project!r} of {self.context.error_context().describe()} "
                f"has no default team {project + ' Team'!r} at {self.client.base_url} "
                f"({error.api_message or 'not found'}); its sprints are read from that team's "
                "settings. Rename the project's default team back, or re-connect with "
                f"`sieve connect {self.context.org_slug} azuredevops --projects ...`.") from None
        return response.data.get("value") or []

    def _votes(self, base: str) -> list[dict]:
        """The pull request's votes with their times, from its VoteUpdate system threads; the
        threads' comments are read past, never handed on."""
        threads = self.client.get_json(f"{base}/threads", {"api-version": API_VERSION}).data
        return [vote for thread in threads.get("value") or ()
                if (vote := vote_record(thread)) is not None]

    def _new_users(self, people: list[dict | None]) -> list[dict]:
        """The identities not handed on yet this run (groups are not people)."""
        fresh = {}
        for person in people:
            if not isinstance(person, dict) or person.get("isContainer"):
                continue
            identity_id = person.get("id")
            if identity_id and identity_id not in self._users_seen:
                self._users_seen.add(identity_id)
                fresh[identity_id] = {"id": identity_id, "uniqueName": person.get("uniqueName"),
                                      "displayName": person.get("displayName")}
        return list(fresh.values())


# -- plain helpers -----------------------------------------------------------------------------


def work_item_record(item: dict) -> dict:
    """A work item as the allow-list reads it: the fields asked for, under plain names."""
    fields = item.get("fields") or {}
    record = {"id": item["id"]}
    for reference, name in WORK_ITEM_FIELDS.items():
        if reference in fields:
            record[name] = fields[reference]
    return record


def revision_record(value: dict) -> dict:
    """A reporting revision as (work item, rev, when, state, iteration path): the fields asked
    for, nothing else."""
    fields = value.get("fields") or {}
    return {"id": value["id"], "rev": value["rev"],
            "changedDate": fields.get("System.ChangedDate"),
            "state": fields.get("System.State"),
            "iterationPath": fields.get("System.IterationPath")}


def iteration_leaves(node: dict, depth: int = 0) -> Iterator[dict]:
    """The iteration tree's leaves below its root: the sprints (a folder of sprints is not
    one)."""
    children = node.get("children") or []
    if depth > 0 and not children and not node.get("hasChildren"):
        yield node
    for child in children:
        yield from iteration_leaves(child, depth + 1)


def iteration_record(node: dict) -> dict:
    """A classification node as team settings show an iteration: its GUID, name and path as
    work items name it ("Project\\Sprint 1", without the tree's "\\Iteration" level), and
    its dates; no time frame (a team's view of it)."""
    parts = (node.get("path") or "").strip("\\").split("\\")
    if len(parts) > 1 and parts[1].lower() == "iteration":
        del parts[1]
    attributes = node.get("attributes") or {}
    return {"id": node["identifier"], "name": node.get("name"), "path": "\\".join(parts),
            "attributes": {"startDate": attributes.get("startDate"),
                           "finishDate": attributes.get("finishDate")}}


def _with_cursor(batches: list[RawBatch], key: str, token: str | None,
                 pending: list[int]) -> list[RawBatch]:
    """The batches, the last carrying the revisions cursor: the watermark they reach and the
    work items changed up to it whose fields are not read yet."""
    if token is None:
        return batches
    cursor = json.dumps({"token": token, "pending": pending})
    last = batches[-1]
    return [*batches[:-1], replace(last, cursors={**last.cursors, key: cursor})]


def fingerprint(pr: dict) -> str:
    """What changes when an active pull request's commits or votes do: a digest of its source
    commit and each reviewer's vote. A digest, so the sync state names no one."""
    source = (pr.get("lastMergeSourceCommit") or {}).get("commitId") or ""
    votes = sorted(f"{r.get('id')}={r.get('vote')}" for r in pr.get("reviewers") or ())
    return hashlib.sha256(";".join([source, *votes]).encode()).hexdigest()[:16]


def vote_record(thread: dict) -> dict | None:
    """A VoteUpdate system thread as (id, time, vote, voter); None for any other thread."""
    properties = thread.get("properties") or {}

    def value(name: str) -> str | None:
        entry = properties.get(name)
        return entry.get("$value") if isinstance(entry, dict) else None

    if value("CodeReviewThreadType") != VOTE_UPDATE:
        return None
    vote, voter_index = value("CodeReviewVoteResult"), value("CodeReviewVotedByIdentity")
    voter = (thread.get("identities") or {}).get(voter_index or "")
    if vote is None or not isinstance(voter, dict):
        return None
    return {"id": thread["id"], "publishedDate": thread.get("publishedDate"),
            "vote": int(vote), "votedBy": {"id": voter.get("id"),
                                           "uniqueName": voter.get("uniqueName"),
                                           "displayName": voter.get("displayName")}}


def _parse_time(text: str) -> datetime:
    """Azure DevOps timestamps carry up to seven fractional digits; Python reads six."""
    head, dot, tail = text.removesuffix("Z").partition(".")
    fraction = ("." + tail[:6]) if dot else ""
    return datetime.fromisoformat(head + fraction).replace(tzinfo=UTC)


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
