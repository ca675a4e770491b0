"""Jira Cloud connector: projects, issues, status changes, boards, sprints and users seen.

Request plan, costs, cursors and known limits: docs/sources/jira.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from resources.errors import SieveError
from resources.http import (
    BasicEmailToken,
    HttpClient,
    NotFoundError,
    PaginationStyle,
    RequestRejectedError,
    RetryPolicy,
)
from resources.security.vault import Secret
from resources.sources import entity
from resources.sources.allow_list import Entity
from resources.sources.connector import Connector, RawBatch
from resources.sources.credentials import connection_auth
from resources.sources.jira.schema import jira_field_ids, jira_issues_entity

log = logging.getLogger("sieve.connectors.jira")

API = "/rest/api/3"
AGILE = "/rest/agile/1.0"
SEARCH_PAGE_SIZE = 100
CHANGELOG_PAGE_SIZE = 100
PROJECT_PAGE_SIZE = 50  # the most Jira Cloud's project search returns (JRACLOUD-84803)
AGILE_PAGE_SIZE = 50
VERSION_PAGE_SIZE = 50
CURSOR_OVERLAP = timedelta(hours=1)
# Without the reader's zone the cursor is rendered in UTC and widened by the largest UTC offset.
UNKNOWN_ZONE_OVERLAP = timedelta(hours=14)
JQL_DATE_FORMAT = "%Y-%m-%d %H:%M"
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)
# The issue fields the allow-list reads, apart from the site's custom fields.
STANDARD_ISSUE_FIELDS = (
    "summary", "project", "issuetype", "status", "priority", "resolution", "labels", "parent",
    "assignee", "reporter", "creator", "created", "updated", "resolutiondate", "duedate",
    "fixVersions",
)
USER_FIELDS = ("assignee", "reporter", "creator")
# Boards of these types may hold sprints; kanban boards never do.
SPRINT_BOARD_TYPES = ("scrum", "simple")


class JiraSettingsError(SieveError):
    """The connection's settings name something this Jira site does not show the reader."""


class JiraConnector(Connector):
    source = "jira"
    entities = ("jira_projects", "jira_issues", "jira_issue_status_changes", "jira_boards",
                "jira_sprints", "jira_users", "jira_fix_versions")

    @cached_property
    def client(self) -> HttpClient:
        return self._new_client(RetryPolicy())

    def _new_client(self, retry: RetryPolicy) -> HttpClient:
        return self.http_client(self.context.settings["base_url"],
                                connection_auth(self.context, token_auth), retry=retry)

    def check(self) -> str:
        with self._new_client(CHECK_RETRY) as client:
            account = client.get_json(f"{API}/myself").data
            kind = account.get("accountType", "unknown") if isinstance(account, dict) else "unknown"
            return f"Jira site {client.base_url} accepted the credentials ({kind} account)"

    def declared_entity(self, name: str) -> Entity:
        """The allow-list entity to project ``name`` with: issues use this site's field ids."""
        if name == "jira_issues":
            return self.issues_entity
        return entity(name)

    @cached_property
    def issues_entity(self) -> Entity:
        return jira_issues_entity(**self._custom_field_ids)

    @cached_property
    def _custom_field_ids(self) -> dict[str, str]:
        try:
            fields = self.client.get_json(f"{API}/field").data
        except NotFoundError:
            log.warning("Jira field list not available for %s; using the default custom field "
                        "ids for story points, sprints and epic link",
                        self.context.error_context().describe())
            return {}
        return jira_field_ids(fields if isinstance(fields, list) else [])

    def fetch(self) -> Iterator[RawBatch]:
        users = _UsersSeen()
        projects = []
        for batch in self._projects():
            projects.extend(batch.records)
            yield batch
            yield from users.batch(project.get("lead") for project in batch.records)
        for project in projects:
            yield from self._fix_versions(project)
            yield from self._issues(project, users)
        yield from self._boards_and_sprints(projects)

    # -- projects ------------------------------------------------------------------------------

    def _configured_keys(self) -> list[str]:
        raw = self.context.settings.get("projects") or []
        keys = raw.split(",") if isinstance(raw, str) else raw
        return sorted({key.strip().upper() for key in keys if key.strip()})

    def _projects(self) -> Iterator[RawBatch]:
        wanted = self._configured_keys()
        params: dict = {"maxResults": PROJECT_PAGE_SIZE, "expand": "lead"}
        if wanted:
            params["keys"] = wanted
        found: set[str] = set()
        for page in self.client.paginate(f"{API}/project/search", params,
                                         style=PaginationStyle.JIRA_AGILE):
            kept = [p for p in page.items if not wanted or p.get("key") in wanted]
            found.update(p["key"] for p in kept)
            yield RawBatch("jira_projects", kept)
        missing = sorted(set(wanted) - found)
        if missing:
            raise JiraSettingsError(
                f"Jira project(s) {', '.join(missing)} of "
                f"{self.context.error_context().describe()} are not visible to the connected "
                f"account at {self.client.base_url}. Check the keys, or grant the account "
                f"Browse Projects there, then re-connect with "
                f"`sieve connect {self.context.org_slug} jira --projects ...`."
            )

    def _fix_versions(self, project: dict) -> Iterator[RawBatch]:
        """Every version of the project, each sync: a project has a few dozen at most, and a
        version's release changes no issue's ``updated``, so no cursor could find it."""
        for page in self.client.paginate(f"{API}/project/{project['id']}/version",
                                         {"maxResults": VERSION_PAGE_SIZE},
                                         style=PaginationStyle.JIRA_AGILE):
            yield RawBatch("jira_fix_versions", page.items, parent={"project_key": project["key"]})

    # -- issues, changelogs, users -------------------------------------------------------------

    def _issues(self, project: dict, users: _UsersSeen) -> Iterator[RawBatch]:
        stream = f"issues:{project['id']}"
        cursor = self.context.state.cursor(stream)
        clauses = [f'project = "{project["key"]}"']
        if cursor is not None:
            clauses.append(f'updated >= "{self._jql_date(cursor)}"')
        params = {
            "jql": " AND ".join(clauses) + " ORDER BY updated ASC, key ASC",
            "maxResults": SEARCH_PAGE_SIZE,
            "fields": ",".join(self._issue_fields()),
            "expand": "changelog",
        }
        latest = datetime.fromisoformat(cursor) if cursor is not None else None
        for page in self.client.paginate(f"{API}/search/jql", params,
                                         style=PaginationStyle.JIRA_SEARCH):
            if not page.items:
                continue
            yield RawBatch("jira_issues", page.items)
            for issue in page.items:
                yield from self._status_changes(issue, users)
            latest = max(filter(None, [latest, *(_updated_utc(issue) for issue in page.items)]))
            seen = (issue["fields"].get(name) for issue in page.items for name in USER_FIELDS)
            yield from users.batch(seen, cursors={stream: latest.isoformat()})

    def _issue_fields(self) -> list[str]:
        declared = self.issues_entity
        custom = {column.source.split(".", 1)[1] for column in declared.columns
                  if column.source.startswith("fields.customfield_")}
        return [*STANDARD_ISSUE_FIELDS, *sorted(custom)]

    def _status_changes(self, issue: dict, users: _UsersSeen) -> Iterator[RawBatch]:
        parent = {"issue_id": issue["id"], "issue_key": issue["key"]}
        changelog = issue.get("changelog") or {}
        histories = changelog.get("histories") or []
        if len(histories) >= changelog.get("total", len(histories)):
            pages: Iterable[list] = [histories] if histories else []
        else:
            pages = (page.items for page in self.client.paginate(
                f"{API}/issue/{issue['id']}/changelog", {"maxResults": CHANGELOG_PAGE_SIZE},
                style=PaginationStyle.JIRA_AGILE))
        for records in pages:
            yield RawBatch("jira_issue_status_changes", records, parent=parent)
            yield from users.batch(history.get("author") for history in records)

    def _jql_date(self, cursor: str) -> str:
        """The cursor as JQL reads it: minute precision in the reader's time zone."""
        since = datetime.fromisoformat(cursor) - CURSOR_OVERLAP
        zone = self._reader_zone
        if zone is None:
            return (since - UNKNOWN_ZONE_OVERLAP).strftime(JQL_DATE_FORMAT)
        return since.replace(tzinfo=UTC).astimezone(zone).strftime(JQL_DATE_FORMAT)

    @cached_property
    def _reader_zone(self) -> ZoneInfo | None:
        account = self.client.get_json(f"{API}/myself").data
        name = account.get("timeZone") if isinstance(account, dict) else None
        try:
            return ZoneInfo(name) if isinstance(name, str) and name else None
        except (ZoneInfoNotFoundError, ValueError):
            return None

    # -- boards and sprints --------------------------------------------------------------------

    def _boards_and_sprints(self, projects: list[dict]) -> Iterator[RawBatch]:
        if self._configured_keys():
            listings = [{"projectKeyOrId": project["key"]} for project in projects]
        else:
            listings = [{}]
        for filters in listings:
            for page in self.client.paginate(f"{AGILE}/board",
                                             {"maxResults": AGILE_PAGE_SIZE, **filters},
                                             style=PaginationStyle.JIRA_AGILE):
                yield RawBatch("jira_boards", page.items)
                for board in page.items:
                    if board.get("type") in SPRINT_BOARD_TYPES:
                        yield from self._sprints(board)

    def _sprints(self, board: dict) -> Iterator[RawBatch]:
        pages = self.client.paginate(f"{AGILE}/board/{board['id']}/sprint",
                                     {"maxResults": AGILE_PAGE_SIZE},
                                     style=PaginationStyle.JIRA_AGILE)
        try:
            for page in pages:
                yield RawBatch("jira_sprints", page.items)
        except RequestRejectedError as error:
            # A team-managed ("simple") board answers 400 when its sprints feature is off.
            if board.get("type") != "simple" or error.status != 400:
                raise


class _UsersSeen:
    """Users met in this sync's records, each handed on once (keys only are remembered)."""

    def __init__(self) -> None:
        self._account_ids: set[str] = set()

    def batch(self, users: Iterable[dict | None], cursors: dict[str, str] | None = None
              ) -> Iterator[RawBatch]:
        fresh = []
        for user in users:
            account_id = user.get("accountId") if isinstance(user, dict) else None
            if account_id and account_id not in self._account_ids:
                self._account_ids.add(account_id)
                fresh.append(user)
        if fresh or cursors:
            yield RawBatch("jira_users", fresh, cursors=cursors or {})


def token_auth(credentials: dict[str, Secret]) -> BasicEmailToken:
    """Jira Cloud: the account's email and an API token, over HTTP Basic."""
    return BasicEmailToken(credentials["email"].reveal(), credentials["token"].reveal())


def _updated_utc(issue: dict) -> datetime:
    """The issue's ``updated`` (Jira renders it in a person's zone) as naive UTC."""
    updated = datetime.fromisoformat(issue["fields"]["updated"])
    return updated.astimezone(UTC).replace(tzinfo=None)
