"""Jira's allow-list (Cloud REST v3 and Agile 1.0 entities): what Sieve keeps of each record."""

from __future__ import annotations

import re
from collections.abc import Mapping

from resources.sources.allow_list import (
    Entity,
    PersonColumns,
    calendar_date,
    col,
    parent,
    text,
    text_length,
    ts,
)

_SERVER_SPRINT_ID = re.compile(r"\bid=(\d+)")


def sprint_ids(value: list) -> list[int]:
    """Jira Cloud gives sprint objects; Server/DC gives "...Sprint@1a2b[id=7,...]" strings."""
    ids = []
    for sprint in value:
        if isinstance(sprint, dict):
            ids.append(int(sprint["id"]))
        else:
            match = _SERVER_SPRINT_ID.search(str(sprint))
            if match:
                ids.append(int(match.group(1)))
    return ids


def version_ids(value: list[dict]) -> list[str]:
    """The ids of an issue's fix versions (their names and dates are kept once, per version)."""
    return [str(version["id"]) for version in value]


def _status_item(items: list[dict]) -> dict | None:
    for item in items:
        if item.get("fieldId") == "status" or item.get("field") == "status":
            return item
    return None


def status_from_id(items: list[dict]) -> str | None:
    item = _status_item(items)
    return item.get("from") if item else None


def status_from_name(items: list[dict]) -> str | None:
    item = _status_item(items)
    return item.get("fromString") if item else None


def status_to_id(items: list[dict]) -> str | None:
    item = _status_item(items)
    return item.get("to") if item else None


def status_to_name(items: list[dict]) -> str | None:
    item = _status_item(items)
    return item.get("toString") if item else None


def has_no_status_change(raw: Mapping, parent: Mapping) -> bool:
    """A changelog entry that changed other fields only: not a status transition."""
    return _status_item(raw.get("items") or ()) is None


DEFAULT_JIRA_STORY_POINTS_FIELD = "customfield_10016"
DEFAULT_JIRA_SPRINT_FIELD = "customfield_10020"
DEFAULT_JIRA_EPIC_LINK_FIELD = "customfield_10014"

JIRA_PROJECTS = Entity(
    "jira_projects", "jira", "GET /rest/api/3/project/search",
    (
        col("id", "VARCHAR", "id", text), col("key", "VARCHAR"),
        col("name", "VARCHAR", scrub=True),
        col("project_type_key", "VARCHAR", "projectTypeKey"),
        col("style", "VARCHAR"), col("is_simplified", "BOOLEAN", "simplified"),
        col("is_private", "BOOLEAN", "isPrivate"),
        col("category_name", "VARCHAR", "projectCategory.name"),
        col("lead_account_id", "VARCHAR", "lead.accountId"),
    ),
    ("id",),
    description="Projects; the description is dropped.",
)


def jira_issues_entity(
    story_points_field: str = DEFAULT_JIRA_STORY_POINTS_FIELD,
    sprint_field: str = DEFAULT_JIRA_SPRINT_FIELD,
    epic_link_field: str = DEFAULT_JIRA_EPIC_LINK_FIELD,
) -> Entity:
    """The Jira issues schema for a site's custom field ids (see `jira_field_ids`)."""
    return Entity(
        "jira_issues", "jira", "GET /rest/api/3/search/jql (fields=*navigable)",
        (
            col("id", "VARCHAR", "id", text), col("key", "VARCHAR"),
            col("project_id", "VARCHAR", "fields.project.id", text),
            col("project_key", "VARCHAR", "fields.project.key"),
            col("summary", "VARCHAR", "fields.summary", scrub=True),
            col("issue_type", "VARCHAR", "fields.issuetype.name"),
            col("issue_type_id", "VARCHAR", "fields.issuetype.id", text),
            col("is_subtask", "BOOLEAN", "fields.issuetype.subtask"),
            col("hierarchy_level", "INTEGER", "fields.issuetype.hierarchyLevel"),
            col("status", "VARCHAR", "fields.status.name"),
            col("status_id", "VARCHAR", "fields.status.id", text),
            col("status_category", "VARCHAR", "fields.status.statusCategory.key"),
            col("priority", "VARCHAR", "fields.priority.name"),
            col("resolution", "VARCHAR", "fields.resolution.name"),
            col("labels", "VARCHAR[]", "fields.labels", scrub=True),
            col("parent_key", "VARCHAR", "fields.parent.key"),
            col("parent_issue_type", "VARCHAR", "fields.parent.fields.issuetype.name"),
            col("epic_link_key", "VARCHAR", f"fields.{epic_link_field}"),
            col("story_points", "DOUBLE", f"fields.{story_points_field}"),
            col("sprint_ids", "BIGINT[]", f"fields.{sprint_field}", sprint_ids),
            col("assignee_account_id", "VARCHAR", "fields.assignee.accountId"),
            col("reporter_account_id", "VARCHAR", "fields.reporter.accountId"),
            col("creator_account_id", "VARCHAR", "fields.creator.accountId"),
            ts("created_at", "fields.created"), ts("updated_at", "fields.updated"),
            ts("resolved_at", "fields.resolutiondate"),
            col("due_date", "DATE", "fields.duedate", calendar_date),
            col("fix_version_ids", "VARCHAR[]", "fields.fixVersions", version_ids),
        ),
        ("id",),
        description="Issues; description, comments, attachments and environment are dropped. "
        f"Story points, sprints and the legacy epic link come from configurable custom fields "
        f"(defaults {story_points_field}, {sprint_field}, {epic_link_field}).",
    )


JIRA_ISSUES = jira_issues_entity()

JIRA_FIX_VERSIONS = Entity(
    "jira_fix_versions", "jira", "GET /rest/api/3/project/{projectIdOrKey}/version",
    (
        col("id", "VARCHAR", "id", text), parent("project_key", "VARCHAR"),
        col("name", "VARCHAR", scrub=True),
        col("release_date", "DATE", "releaseDate", calendar_date),
        col("is_released", "BOOLEAN", "released"), col("is_archived", "BOOLEAN", "archived"),
    ),
    ("id",),
    description="Fix versions (releases) of each project; the description, start date and "
    "driver are dropped. Issues name theirs in jira_issues.fix_version_ids.",
)

JIRA_ISSUE_STATUS_CHANGES = Entity(
    "jira_issue_status_changes", "jira",
    "GET /rest/api/3/issue/{key}/changelog (or expand=changelog): one record per history",
    (
        col("history_id", "VARCHAR", "id", text), parent("issue_id", "VARCHAR"),
        parent("issue_key", "VARCHAR"),
        col("author_account_id", "VARCHAR", "author.accountId"),
        ts("changed_at", "created"),
        col("from_status_id", "VARCHAR", "items", status_from_id),
        col("from_status", "VARCHAR", "items", status_from_name),
        col("to_status_id", "VARCHAR", "items", status_to_id),
        col("to_status", "VARCHAR", "items", status_to_name),
    ),
    ("history_id",),
    refuse=has_no_status_change,
    description="Status transitions only; histories without a status item yield no row, and "
    "the other changed fields (with their old/new text) are dropped.",
)

JIRA_SPRINTS = Entity(
    "jira_sprints", "jira", "GET /rest/agile/1.0/board/{boardId}/sprint",
    (
        col("id", "BIGINT"), col("name", "VARCHAR", scrub=True), col("state", "VARCHAR"),
        col("origin_board_id", "BIGINT", "originBoardId"),
        ts("created_at", "createdDate"), ts("start_at", "startDate"),
        ts("end_at", "endDate"), ts("completed_at", "completeDate"),
        col("goal_length", "INTEGER", "goal", text_length),
    ),
    ("id",),
    description="Sprints; the goal text is dropped (its length kept).",
)

JIRA_BOARDS = Entity(
    "jira_boards", "jira", "GET /rest/agile/1.0/board",
    (
        col("id", "BIGINT"), col("name", "VARCHAR", scrub=True), col("type", "VARCHAR"),
        col("project_id", "VARCHAR", "location.projectId", text),
        col("project_key", "VARCHAR", "location.projectKey"),
    ),
    ("id",),
    description="Boards.",
)

JIRA_USERS = Entity(
    "jira_users", "jira", "GET /rest/api/3/users/search, /rest/api/3/user",
    (
        col("account_id", "VARCHAR", "accountId"),
        col("account_type", "VARCHAR", "accountType"),
        col("display_name", "VARCHAR", "displayName", scrub=True),
        col("email", "VARCHAR", "emailAddress"), col("is_active", "BOOLEAN", "active"),
    ),
    ("account_id",),
    description="Users; time zone, locale and avatars are dropped.",
)

ENTITIES = (
    JIRA_PROJECTS, JIRA_ISSUES, JIRA_ISSUE_STATUS_CHANGES, JIRA_SPRINTS, JIRA_BOARDS,
    JIRA_USERS, JIRA_FIX_VERSIONS,
)

USER_DIRECTORY = PersonColumns("jira_users", "jira", "account_id", None, "email",
                                "display_name", "account_type = 'app'")


def jira_field_ids(fields: list[Mapping]) -> dict[str, str]:
    """Keyword arguments for `jira_issues_entity` from a site's GET /rest/api/3/field.

    Story points are the field named "Story Points" (company-managed) or "Story point
    estimate" (team-managed); sprint and epic link are recognised by their schema type.
    """
    found: dict[str, str] = {}
    for field_ in fields:
        custom = (field_.get("schema") or {}).get("custom", "")
        if custom == "com.pyxis.greenhopper.jira:gh-sprint":
            found.setdefault("sprint_field", field_["id"])
        elif custom == "com.pyxis.greenhopper.jira:gh-epic-link":
            found.setdefault("epic_link_field", field_["id"])
        elif field_.get("name") in ("Story Points", "Story point estimate"):
            found.setdefault("story_points_field", field_["id"])
    return found
