"""Bitbucket Cloud connector (REST API 2.0): workspace members, repositories, and per
repository its environments, pull requests (with participants and commits), main-branch
commits, pipelines and deployments.

Request plan, costs, cursors and known limits: docs/sources/bitbucket.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import quote

from requests.auth import AuthBase

from resources.errors import SieveError
from resources.http import (
    BearerToken,
    HttpClient,
    NotFoundError,
    PaginationStyle,
    RetryPolicy,
)
from resources.http.auth import BasicPassword
from resources.security.vault import Secret
from resources.sources.connector import (
    Connector,
    ConnectorContext,
    RawBatch,
    incomplete_under,
    retry_pending,
)
from resources.sources.credentials import connection_auth

DEFAULT_BASE_URL = "https://api.bitbucket.org"
API_PREFIX = "/2.0"
PAGE_SIZE = 100  # Bitbucket's largest `pagelen`
PULL_REQUEST_PAGE_SIZE = 50  # ... for pull requests
PULL_REQUEST_STATES = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")
DEFAULT_HISTORY_DAYS = 365
# Pull requests updated this long before the cursor are listed again (ones a replica showed
# late); only those updated after it have their participants and commits read again.
CURSOR_OVERLAP = timedelta(minutes=5)
# Pipelines and deployments are listed newest first, back to this long before the newest one
# seen: a run still going at the last sync has its end read.
RUN_OVERLAP = timedelta(days=1)
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)

log = logging.getLogger("sieve.connectors.bitbucket")


class BitbucketSettingsError(SieveError):
    """The connection's settings cannot be used as given."""


class BitbucketConnector(Connector):
    source = "bitbucket"
    entities = ("bitbucket_repositories", "bitbucket_pull_requests", "bitbucket_pr_participants",
                "bitbucket_pr_commits", "bitbucket_commits", "bitbucket_pipelines",
                "bitbucket_environments", "bitbucket_deployments", "bitbucket_users")

    def __init__(self, context: ConnectorContext):
        super().__init__(context)
        self.workspace = (context.settings.get("workspace") or "").strip("/")
        if not self.workspace:
            raise BitbucketSettingsError(
                f"{context.error_context().describe()} names no Bitbucket workspace; re-connect "
                f"with `sieve connect {context.org_slug} bitbucket --workspace WORKSPACE`.")

    @cached_property
    def client(self) -> HttpClient:
        return self._new_client(RetryPolicy())

    def _new_client(self, retry: RetryPolicy) -> HttpClient:
        return self.http_client(
            (self.context.settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/") + API_PREFIX,
            connection_auth(self.context, self._static_auth), retry=retry)

    def _static_auth(self, credentials: dict[str, Secret]) -> AuthBase:
        """An app password goes with its username (HTTP Basic); an access token alone."""
        username = self.context.settings.get("username")
        token = credentials["token"].reveal()
        return BasicPassword(username, token) if username else BearerToken(token)

    def check(self) -> str:
        with self._new_client(CHECK_RETRY) as client:
            page = client.get_json(f"/repositories/{quote(self.workspace)}", {"pagelen": 1}).data
        size = page.get("size") if isinstance(page, dict) else None
        visible = f"{size} repositories visible" if isinstance(size, int) else "reachable"
        return f"Bitbucket workspace {self.workspace} on {client.base_url}: {visible}"

    def fetch(self) -> Iterator[RawBatch]:
        for page in self._pages(f"/workspaces/{quote(self.workspace)}/members"):
            yield RawBatch("bitbucket_users", page.items)
        repositories = yield from self._repositories()
        for repository in repositories:
            uuid, path = repository["uuid"], self._repository_path(repository["slug"])
            parent = {"repository_uuid": uuid}
            for page in self._pages(f"{path}/environments"):
                yield RawBatch("bitbucket_environments", page.items, parent=parent)
            yield from self._pull_requests(uuid, path)
            yield from self._commits(uuid, path, repository.get("mainbranch") or {})
            yield from self._runs("pipelines", uuid, path, "created_on",
                                  {"sort": "-created_on"})
            yield from self._runs("deployments", uuid, path, "state.started_on", {})

    def _pages(self, path: str, params: dict | None = None):
        return self.client.paginate(path, {"pagelen": PAGE_SIZE, **(params or {})},
                                    style=PaginationStyle.NEXT_LINK)

    def _repository_path(self, slug: str) -> str:
        return f"/repositories/{quote(self.workspace)}/{quote(slug)}"

    # -- repositories --------------------------------------------------------------------------

    def _repositories(self) -> Generator[RawBatch, None, list[dict]]:
        """The configured repositories, or every one of the workspace. A configured one that
        answers 404 fails the sync with one message saying which and what to do."""
        wanted = self.context.settings.get("repositories") or []
        found: list[dict] = []
        if not wanted:
            for page in self._pages(f"/repositories/{quote(self.workspace)}"):
                found += [{"uuid": r["uuid"], "slug": r["slug"], "mainbranch": r.get("mainbranch")}
                          for r in page.items]
                yield RawBatch("bitbucket_repositories", page.items)
            return found
        for slug in wanted:
            try:
                repository = self.client.get_json(self._repository_path(slug)).data
            except NotFoundError:
                raise BitbucketSettingsError(
                    f"Bitbucket repository {self.workspace}/{slug} of "
                    f"{self.context.error_context().describe()} no longer exists, or the "
                    "credentials cannot read it. Re-connect with the repositories that remain: "
                    f"`sieve connect {self.context.org_slug} bitbucket --workspace "
                    f"{self.workspace} --repositories ...`.") from None
            found.append({"uuid": repository["uuid"], "slug": repository["slug"],
                          "mainbranch": repository.get("mainbranch")})
            yield RawBatch("bitbucket_repositories", [repository])
        return found

    # -- pull requests, by update time ---------------------------------------------------------

    def _pull_requests(self, uuid: str, path: str) -> Iterator[RawBatch]:
        """Pull requests updated since the cursor, least recently updated first, so one updated
        during the walk moves to its end rather than being skipped. Each changed one's
        participants and commits come before its page, so a rerun after a crash reads them
        again; the cursor moves to the newest update of each durable page. One whose details
        answered 404 is kept pending, and its details are read again by the next sync."""
        stream = f"pull_requests:{uuid}"
        pending_stream = f"pending:{stream}"
        yield from self._pending_pull_requests(uuid, path, pending_stream)
        failed_so_far: list[int] = []
        cursor = self.context.state.cursor(stream)
        seen = datetime.fromisoformat(cursor) if cursor is not None else None
        start = seen - CURSOR_OVERLAP if seen is not None else self._history_start()
        params = {"state": list(PULL_REQUEST_STATES), "sort": "updated_on",
                  "q": f'updated_on > "{start.isoformat()}"', "pagelen": PULL_REQUEST_PAGE_SIZE}
        newest = seen
        for page in self.client.paginate(f"{path}/pullrequests", params,
                                         style=PaginationStyle.NEXT_LINK):
            failed = []
            for pull_request in page.items:
                if seen is None or _time(pull_request["updated_on"]) > seen:
                    number = pull_request["id"]
                    if not (yield from self._pull_request_details(uuid, path, number)):
                        log.info("Bitbucket repository %s: pull request %s answered 404; kept "
                                 "pending", uuid, number)
                        failed.append(number)
            newest = max(filter(None, [newest, *(_time(pr["updated_on"]) for pr in page.items)]),
                         default=None)
            cursors = {stream: newest.isoformat()} if newest is not None else {}
            if failed:
                failed_so_far += failed
                cursors[pending_stream] = json.dumps(failed_so_far)
            yield RawBatch("bitbucket_pull_requests", page.items,
                           parent={"repository_uuid": uuid}, cursors=cursors,
                           failed_keys=tuple((uuid, number) for number in failed))

    def _pending_pull_requests(self, uuid: str, path: str, pending_stream: str
                               ) -> Iterator[RawBatch]:
        """The details an earlier sync could not read (`retry_pending`)."""
        gone = yield from retry_pending(
            self.context.state, pending_stream, "bitbucket_pull_requests",
            lambda number: self._pull_request_details(uuid, path, number),
            parent={"repository_uuid": uuid})
        for number in gone:
            log.info("Bitbucket repository %s: pull request %s answered 404 twice; treated as "
                     "deleted upstream", uuid, number)

    def _pull_request_details(self, uuid: str, path: str, number: int
                              ) -> Generator[RawBatch, None, bool]:
        """The pull request's participants and commits; False when either answered 404 (a
        replica behind its listing, or deleted since it was listed)."""
        parent = {"repository_uuid": uuid, "pull_request_number": number}
        try:
            detail = self.client.get_json(f"{path}/pullrequests/{number}").data
            yield RawBatch("bitbucket_pr_participants",
                           list(detail.get("participants") or []), parent=parent)
            for page in self._pages(f"{path}/pullrequests/{number}/commits"):
                yield RawBatch("bitbucket_pr_commits", page.items, parent=parent)
        except NotFoundError:
            yield from incomplete_under(parent, "bitbucket_pr_participants",
                                        "bitbucket_pr_commits")
            return False
        return True

    # -- main-branch commits, newest first back to the last head seen --------------------------

    def _commits(self, uuid: str, path: str, mainbranch: dict) -> Iterator[RawBatch]:
        """The main branch's commits, newest first, down to the head the last sync saw (git's
        order puts everything merged since before it) or, the first time, the history start.
        The new head is committed once the walk is complete and durable."""
        branch = mainbranch.get("name") if isinstance(mainbranch, dict) else None
        if not branch:
            return  # an empty repository has no main branch yet
        stream = f"commits:{uuid}"
        known_head = self.context.state.cursor(stream)
        start = self._history_start()
        head = None
        parent = {"repository_uuid": uuid}
        for page in self._pages(f"{path}/commits/{quote(branch, safe='')}"):
            head = head or (page.items[0]["hash"] if page.items else None)
            fresh = []
            done = False
            for commit in page.items:
                if commit["hash"] == known_head or _time(commit["date"]) < start:
                    done = True
                    break
                fresh.append(commit)
            yield RawBatch("bitbucket_commits", fresh, parent=parent)
            if done:
                break
        if head is not None and head != known_head:
            yield RawBatch("bitbucket_commits", [], parent=parent, cursors={stream: head})

    # -- pipelines and deployments, newest first back to the last ones seen --------------------

    def _runs(self, kind: str, uuid: str, path: str, started: str,
              params: dict) -> Iterator[RawBatch]:
        stream = f"{kind}:{uuid}"
        cursor = self.context.state.cursor(stream)
        since = (datetime.fromisoformat(cursor) - RUN_OVERLAP if cursor is not None
                 else self._history_start())
        newest = datetime.fromisoformat(cursor) if cursor is not None else None
        entity = f"bitbucket_{kind}"
        parent = {"repository_uuid": uuid}
        for page in self._pages(f"{path}/{kind}", params):
            times = [_time(value) for value in (_dotted(item, started) for item in page.items)
                     if value]
            kept = [item for item in page.items
                    if not _dotted(item, started) or _time(_dotted(item, started)) >= since]
            newest = max(filter(None, [newest, *times]), default=None)
            yield RawBatch(entity, kept, parent=parent)
            if len(kept) < len(page.items):
                break
        if newest is not None and newest.isoformat() != cursor:
            yield RawBatch(entity, [], parent=parent, cursors={stream: newest.isoformat()})

    def _history_start(self) -> datetime:
        raw = str(self.context.settings.get("history_days") or DEFAULT_HISTORY_DAYS)
        if not raw.isdigit() or int(raw) < 1:
            raise BitbucketSettingsError(
                f"history_days of {self.context.error_context().describe()} must be a whole "
                f"number of days, not {raw!r}. Re-connect with "
                f"`sieve connect {self.context.org_slug} bitbucket --history-days 365`.")
        return datetime.now(UTC) - timedelta(days=int(raw))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _dotted(record: dict, path: str):
    value = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
