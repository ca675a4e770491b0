"""The allow-list: one declared schema per stored entity (hard rule 2).

Each `Entity` names its table, its columns (DuckDB type, where the value comes from in the
raw API record, an optional transform), its natural key and the free-text columns that must
pass the PII scrubber. Extraction (`resources.extraction.project`) keeps exactly these
columns; any field of the raw record not declared here is dropped.

Conventions:

- Every table starts with `connection_id` (injected by the caller) and its natural key
  starts with it too, so a connection's data can be removed as a whole and upserts are
  idempotent per connection.
- `source` is a dotted path into the raw record ("user.login"), or "parent:<name>" for a
  value the caller supplies because the API record does not carry it (the pull request
  number of a review, the channel of a Slack message...).
- Timestamps are stored as UTC `TIMESTAMP`; the original UTC offset is kept only for git
  commits, where it says something about when people work.
- Bodies, descriptions, comment text, diffs, patches, file contents and commit messages are
  never kept; some entities keep their length (`body_length`).

Decisions: commit messages are not kept at all, not even the subject line (subjects are
where secrets, customer names and pasted snippets end up, and pull request titles already
carry the human description, scrubbed); the git reader never asks git for them. Sprint
goals are dropped (free-text planning content; only `goal_length` is kept). Names of people,
titles, sprint/board/release names and Slack text are kept and scrubbed; identifiers (logins,
emails, keys, refs, enum values) are kept as they are.

`python -m resources.schemas > docs/allow-list.md` regenerates the documentation.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PARENT_PREFIX = "parent:"


# --- transforms: each takes a non-null raw value --------------------------------------------


def utc_timestamp(value: str) -> datetime:
    """ISO-8601 text (any offset, "Z", or Jira's "+0000") as a naive UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def utc_offset_minutes(value: str) -> int:
    """The UTC offset of an ISO-8601 timestamp, in minutes (git's "+02:00" is 120)."""
    offset = datetime.fromisoformat(value).utcoffset()
    return int(offset / timedelta(minutes=1)) if offset is not None else 0


def epoch_timestamp(value: str | int | float) -> datetime:
    """Unix seconds (Slack's "1512085950.000216" or an int) as a naive UTC datetime."""
    return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)


def text(value: str | int) -> str:
    """Jira ids are strings in the REST API but numbers in the Agile API (and in some
    older payloads): store them alike so they join."""
    return str(value)


def text_length(value: str) -> int:
    return len(value)


def item_count(value: list) -> int:
    return len(value)


def names(value: list) -> list[str]:
    """Label names: GitHub gives objects with `name`, GitLab plain strings."""
    return [item["name"] if isinstance(item, dict) else item for item in value]


def logins(value: list[dict]) -> list[str]:
    return [user["login"] for user in value]


def usernames(value: list[dict]) -> list[str]:
    return [user["username"] for user in value]


def shas(value: list[dict]) -> list[str]:
    return [parent["sha"] for parent in value]


def reaction_total(value: list[dict]) -> int:
    return sum(reaction.get("count", 0) for reaction in value)


def integer(value: str | int) -> int | None:
    """GitLab's `changes_count` is text and says "1000+" past a limit."""
    digits = str(value).rstrip("+")
    return int(digits) if digits.isdigit() else None


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


# --- refusals: a record we must not store at all ---------------------------------------------


def is_pull_request(raw: Mapping, parent: Mapping) -> bool:
    """GitHub's issues endpoint also lists pull requests; those belong to pull_requests."""
    return "pull_request" in raw


def is_private_conversation(raw: Mapping, parent: Mapping) -> bool:
    """Private channels, DMs and group DMs are private communication: never stored."""
    return bool(
        raw.get("is_private") or raw.get("is_im") or raw.get("is_mpim") or raw.get("is_group")
    )


# Slack ids starting with D are direct messages, G legacy private channels and group DMs.
_PRIVATE_CHANNEL_ID_PREFIXES = ("D", "G")
_PRIVATE_CHANNEL_TYPES = frozenset({"im", "mpim", "group", "private_channel"})


def is_private_message(raw: Mapping, parent: Mapping) -> bool:
    return (
        str(parent.get("channel_id", "")).startswith(_PRIVATE_CHANNEL_ID_PREFIXES)
        or raw.get("channel_type") in _PRIVATE_CHANNEL_TYPES
        or bool(parent.get("channel_is_private"))
    )


def has_no_status_change(raw: Mapping, parent: Mapping) -> bool:
    """A changelog entry that changed other fields only: not a status transition."""
    return _status_item(raw.get("items") or ()) is None


# --- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    source: str
    transform: Callable[[Any], Any] | None = None
    scrub: bool = False

    @property
    def parent_key(self) -> str | None:
        if self.source.startswith(PARENT_PREFIX):
            return self.source[len(PARENT_PREFIX):]
        return None


# eq=False: entities are compared and hashed by identity, which keeps the per-entity
# projection plan cache in resources.extraction a cheap dictionary lookup.
@dataclass(frozen=True, eq=False)
class Entity:
    name: str
    system: str
    endpoint: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    refuse: Callable[[Mapping, Mapping], bool] | None = None
    description: str = ""
    scrubbed_columns: tuple[str, ...] = field(init=False)
    parent_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names_ = [column.name for column in self.columns]
        duplicates = {name for name in names_ if names_.count(name) > 1}
        if duplicates:
            raise ValueError(f"entity {self.name}: duplicate columns {sorted(duplicates)}")
        if "connection_id" in names_:
            raise ValueError(f"entity {self.name}: connection_id is added to every table, "
                             "do not declare it")
        unknown = set(self.natural_key) - set(names_)
        if unknown:
            raise ValueError(f"entity {self.name}: natural key names unknown {sorted(unknown)}")
        object.__setattr__(
            self, "scrubbed_columns", tuple(c.name for c in self.columns if c.scrub)
        )
        object.__setattr__(
            self, "parent_keys", tuple(c.parent_key for c in self.columns if c.parent_key)
        )

    @property
    def table(self) -> str:
        return self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return ("connection_id", *(column.name for column in self.columns))

    @property
    def primary_key(self) -> tuple[str, ...]:
        return ("connection_id", *self.natural_key)


def col(
    name: str,
    type_: str,
    source: str | None = None,
    transform: Callable[[Any], Any] | None = None,
    *,
    scrub: bool = False,
) -> Column:
    return Column(name, type_, source or name, transform, scrub)


def ts(name: str, source: str | None = None) -> Column:
    return col(name, "TIMESTAMP", source, utc_timestamp)


def parent(name: str, type_: str) -> Column:
    return col(name, type_, PARENT_PREFIX + name)


def _user(prefix: str, path: str) -> tuple[Column, Column]:
    """A GitHub user reference as login + numeric id."""
    return (col(f"{prefix}_login", "VARCHAR", f"{path}.login"),
            col(f"{prefix}_id", "BIGINT", f"{path}.id"))


def _gitlab_user(prefix: str, path: str) -> tuple[Column, Column]:
    return (col(f"{prefix}_username", "VARCHAR", f"{path}.username"),
            col(f"{prefix}_id", "BIGINT", f"{path}.id"))


def _git_identity(prefix: str, path: str, time_column: str) -> tuple[Column, ...]:
    """A commit's author or committer as GitHub returns it under `commit`."""
    return (
        col(f"{prefix}_name", "VARCHAR", f"{path}.name", scrub=True),
        col(f"{prefix}_email", "VARCHAR", f"{path}.email"),
        ts(time_column, f"{path}.date"),
    )


# --- GitHub (REST v3) -------------------------------------------------------------------------

GITHUB_REPOSITORIES = Entity(
    "github_repositories", "github", "GET /orgs/{org}/repos, /users/{user}/repos",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"), col("name", "VARCHAR"),
        col("full_name", "VARCHAR"), *_user("owner", "owner"),
        col("is_private", "BOOLEAN", "private"), col("is_fork", "BOOLEAN", "fork"),
        col("is_archived", "BOOLEAN", "archived"), col("visibility", "VARCHAR"),
        col("default_branch", "VARCHAR"), col("language", "VARCHAR"),
        col("topics", "VARCHAR[]"), col("size_kb", "BIGINT", "size"),
        col("stargazers_count", "INTEGER"), col("forks_count", "INTEGER"),
        col("open_issues_count", "INTEGER"),
        ts("created_at"), ts("updated_at"), ts("pushed_at"),
    ),
    ("id",),
    description="Repositories; the description is dropped.",
)

GITHUB_PULL_REQUESTS = Entity(
    "github_pull_requests", "github",
    "GET /repos/{owner}/{repo}/pulls and /pulls/{number} (detail adds size and merge fields)",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"),
        col("repository_id", "BIGINT", "base.repo.id"), col("number", "INTEGER"),
        col("title", "VARCHAR", scrub=True), col("state", "VARCHAR"),
        col("is_draft", "BOOLEAN", "draft"), col("is_locked", "BOOLEAN", "locked"),
        *_user("author", "user"), col("author_type", "VARCHAR", "user.type"),
        col("author_association", "VARCHAR"),
        col("labels", "VARCHAR[]", "labels", names, scrub=True),
        col("assignee_logins", "VARCHAR[]", "assignees", logins),
        col("requested_reviewers_count", "INTEGER", "requested_reviewers", item_count),
        col("requested_teams_count", "INTEGER", "requested_teams", item_count),
        col("head_ref", "VARCHAR", "head.ref"), col("head_sha", "VARCHAR", "head.sha"),
        col("head_repository_id", "BIGINT", "head.repo.id"),
        col("base_ref", "VARCHAR", "base.ref"), col("base_sha", "VARCHAR", "base.sha"),
        col("merge_commit_sha", "VARCHAR"), col("is_merged", "BOOLEAN", "merged"),
        *_user("merged_by", "merged_by"),
        col("milestone_number", "INTEGER", "milestone.number"),
        col("comments", "INTEGER"), col("review_comments", "INTEGER"),
        col("commits", "INTEGER"), col("additions", "INTEGER"), col("deletions", "INTEGER"),
        col("changed_files", "INTEGER"),
        col("body_length", "INTEGER", "body", text_length),
        ts("created_at"), ts("updated_at"), ts("closed_at"), ts("merged_at"),
    ),
    ("id",),
    description="Pull requests; the body is dropped (its length kept). additions, deletions, "
    "changed_files, commits, merged and merged_by only come with the detail endpoint.",
)

GITHUB_PULL_REQUEST_REVIEWS = Entity(
    "github_pull_request_reviews", "github", "GET /repos/{owner}/{repo}/pulls/{number}/reviews",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"),
        parent("repository_id", "BIGINT"), parent("pull_number", "INTEGER"),
        *_user("reviewer", "user"), col("state", "VARCHAR"),
        col("commit_id", "VARCHAR"), col("author_association", "VARCHAR"),
        col("body_length", "INTEGER", "body", text_length), ts("submitted_at"),
    ),
    ("id",),
    description="Reviews; the review body is dropped (its length kept).",
)

GITHUB_PULL_REQUEST_COMMITS = Entity(
    "github_pull_request_commits", "github", "GET /repos/{owner}/{repo}/pulls/{number}/commits",
    (
        parent("repository_id", "BIGINT"), parent("pull_number", "INTEGER"),
        col("sha", "VARCHAR"), col("parent_shas", "VARCHAR[]", "parents", shas),
        *_git_identity("author", "commit.author", "authored_at"),
        *_git_identity("committer", "commit.committer", "committed_at"),
        *_user("author", "author"), *_user("committer", "committer"),
    ),
    ("repository_id", "pull_number", "sha"),
    description="Commits of a pull request; the commit message is dropped entirely.",
)

GITHUB_PULL_REQUEST_SERVICES = Entity(
    "github_pull_request_services", "github",
    "GET /repos/{owner}/{repo}/pulls/{number}/files, reduced in memory to counts per service",
    (
        parent("repository_id", "BIGINT"), parent("pull_number", "INTEGER"),
        col("service", "VARCHAR"), col("files_changed", "INTEGER"),
        col("additions", "INTEGER"), col("deletions", "INTEGER"),
    ),
    ("repository_id", "pull_number", "service"),
    description="Which services of a monorepo a pull request changed (the organization's path "
    "rules), as counts per service. Only for repositories with service rules; file names, "
    "patches and contents are never stored.",
)

GITHUB_COMMITS = Entity(
    "github_commits", "github",
    "GET /repos/{owner}/{repo}/commits and /commits/{sha} (detail adds stats and files)",
    (
        parent("repository_id", "BIGINT"), col("sha", "VARCHAR"), col("node_id", "VARCHAR"),
        col("parent_shas", "VARCHAR[]", "parents", shas),
        *_git_identity("author", "commit.author", "authored_at"),
        *_git_identity("committer", "commit.committer", "committed_at"),
        *_user("author", "author"), *_user("committer", "committer"),
        col("is_verified", "BOOLEAN", "commit.verification.verified"),
        col("additions", "INTEGER", "stats.additions"),
        col("deletions", "INTEGER", "stats.deletions"),
        col("files_changed", "INTEGER", "files", item_count),
    ),
    ("repository_id", "sha"),
    description="Commits; message, patches and file names are dropped (only the file count).",
)

GITHUB_ISSUES = Entity(
    "github_issues", "github", "GET /repos/{owner}/{repo}/issues",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"), parent("repository_id", "BIGINT"),
        col("number", "INTEGER"), col("title", "VARCHAR", scrub=True),
        col("state", "VARCHAR"), col("state_reason", "VARCHAR"),
        col("is_locked", "BOOLEAN", "locked"), *_user("author", "user"),
        col("author_association", "VARCHAR"),
        col("assignee_logins", "VARCHAR[]", "assignees", logins),
        col("labels", "VARCHAR[]", "labels", names, scrub=True),
        col("milestone_number", "INTEGER", "milestone.number"),
        col("comments", "INTEGER"), col("body_length", "INTEGER", "body", text_length),
        ts("created_at"), ts("updated_at"), ts("closed_at"),
    ),
    ("id",),
    refuse=is_pull_request,
    description="Issues that are not pull requests (records with `pull_request` are refused); "
    "body and comments' text are dropped.",
)

GITHUB_DEPLOYMENTS = Entity(
    "github_deployments", "github", "GET /repos/{owner}/{repo}/deployments",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"), parent("repository_id", "BIGINT"),
        col("sha", "VARCHAR"), col("ref", "VARCHAR"), col("task", "VARCHAR"),
        col("environment", "VARCHAR"), col("original_environment", "VARCHAR"),
        col("is_production_environment", "BOOLEAN", "production_environment"),
        col("is_transient_environment", "BOOLEAN", "transient_environment"),
        *_user("creator", "creator"), ts("created_at"), ts("updated_at"),
    ),
    ("id",),
    description="Deployments; description and payload are dropped.",
)

GITHUB_DEPLOYMENT_STATUSES = Entity(
    "github_deployment_statuses", "github",
    "GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"), parent("repository_id", "BIGINT"),
        parent("deployment_id", "BIGINT"), col("state", "VARCHAR"),
        col("environment", "VARCHAR"), *_user("creator", "creator"),
        ts("created_at"), ts("updated_at"),
    ),
    ("id",),
    description="Deployment statuses; description and URLs are dropped.",
)

GITHUB_RELEASES = Entity(
    "github_releases", "github", "GET /repos/{owner}/{repo}/releases",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"), parent("repository_id", "BIGINT"),
        col("tag_name", "VARCHAR"), col("target_commitish", "VARCHAR"),
        col("name", "VARCHAR", scrub=True), col("is_draft", "BOOLEAN", "draft"),
        col("is_prerelease", "BOOLEAN", "prerelease"), *_user("author", "author"),
        col("assets_count", "INTEGER", "assets", item_count),
        col("body_length", "INTEGER", "body", text_length),
        ts("created_at"), ts("published_at"),
    ),
    ("id",),
    description="Releases; release notes are dropped (their length kept).",
)

GITHUB_TAGS = Entity(
    "github_tags", "github", "GET /repos/{owner}/{repo}/tags",
    (parent("repository_id", "BIGINT"), col("name", "VARCHAR"),
     col("commit_sha", "VARCHAR", "commit.sha")),
    ("repository_id", "name"),
    description="Tags: name and the commit they point at.",
)

GITHUB_WORKFLOW_RUNS = Entity(
    "github_workflow_runs", "github", "GET /repos/{owner}/{repo}/actions/runs",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"),
        col("repository_id", "BIGINT", "repository.id"), col("workflow_id", "BIGINT"),
        col("name", "VARCHAR"), col("path", "VARCHAR"), col("event", "VARCHAR"),
        col("status", "VARCHAR"), col("conclusion", "VARCHAR"),
        col("head_branch", "VARCHAR"), col("head_sha", "VARCHAR"),
        col("run_number", "INTEGER"), col("run_attempt", "INTEGER"),
        *_user("actor", "actor"), *_user("triggering_actor", "triggering_actor"),
        ts("created_at"), ts("updated_at"), ts("run_started_at"),
    ),
    ("id",),
    description="Actions workflow runs; display_title and head_commit (commit message) are "
    "dropped.",
)

GITHUB_USERS = Entity(
    "github_users", "github", "GET /users/{login}",
    (
        col("id", "BIGINT"), col("node_id", "VARCHAR"), col("login", "VARCHAR"),
        col("type", "VARCHAR"), col("is_site_admin", "BOOLEAN", "site_admin"),
        col("name", "VARCHAR", scrub=True), col("email", "VARCHAR"),
        ts("created_at"), ts("updated_at"),
    ),
    ("id",),
    description="Users: login, name and public email only; location, company, bio, blog and "
    "social accounts are dropped.",
)

# --- GitLab (REST v4) -------------------------------------------------------------------------

GITLAB_PROJECTS = Entity(
    "gitlab_projects", "gitlab", "GET /groups/{id}/projects, /projects/{id}",
    (
        col("id", "BIGINT"), col("name", "VARCHAR", scrub=True), col("path", "VARCHAR"),
        col("path_with_namespace", "VARCHAR"),
        col("namespace_id", "BIGINT", "namespace.id"),
        col("namespace_full_path", "VARCHAR", "namespace.full_path"),
        col("default_branch", "VARCHAR"), col("visibility", "VARCHAR"),
        col("is_archived", "BOOLEAN", "archived"), col("is_empty_repo", "BOOLEAN", "empty_repo"),
        col("forked_from_project_id", "BIGINT", "forked_from_project.id"),
        col("topics", "VARCHAR[]"), col("star_count", "INTEGER"), col("forks_count", "INTEGER"),
        col("open_issues_count", "INTEGER"),
        ts("created_at"), ts("updated_at"), ts("last_activity_at"),
    ),
    ("id",),
    description="Projects; the description is dropped.",
)

GITLAB_MERGE_REQUESTS = Entity(
    "gitlab_merge_requests", "gitlab", "GET /projects/{id}/merge_requests",
    (
        col("id", "BIGINT"), col("iid", "INTEGER"), col("project_id", "BIGINT"),
        col("title", "VARCHAR", scrub=True), col("state", "VARCHAR"),
        col("is_draft", "BOOLEAN", "draft"), *_gitlab_user("author", "author"),
        col("assignee_usernames", "VARCHAR[]", "assignees", usernames),
        col("reviewer_usernames", "VARCHAR[]", "reviewers", usernames),
        col("reviewers_count", "INTEGER", "reviewers", item_count),
        *_gitlab_user("merged_by", "merge_user"), *_gitlab_user("closed_by", "closed_by"),
        col("source_branch", "VARCHAR"), col("target_branch", "VARCHAR"),
        col("source_project_id", "BIGINT"), col("target_project_id", "BIGINT"),
        col("sha", "VARCHAR"), col("merge_commit_sha", "VARCHAR"),
        col("squash_commit_sha", "VARCHAR"),
        col("labels", "VARCHAR[]", "labels", names, scrub=True),
        col("milestone_iid", "INTEGER", "milestone.iid"),
        col("detailed_merge_status", "VARCHAR"), col("user_notes_count", "INTEGER"),
        col("upvotes", "INTEGER"), col("downvotes", "INTEGER"),
        col("changes_count", "INTEGER", "changes_count", integer),
        col("description_length", "INTEGER", "description", text_length),
        ts("created_at"), ts("updated_at"), ts("merged_at"), ts("closed_at"),
        ts("prepared_at"),
    ),
    ("id",),
    description="Merge requests; the description is dropped (its length kept). changes_count "
    "only comes with the single-MR endpoint.",
)

GITLAB_MR_APPROVALS = Entity(
    "gitlab_mr_approvals", "gitlab",
    "GET /projects/{id}/merge_requests/{iid}/approvals: one record per `approved_by` entry",
    (
        parent("project_id", "BIGINT"), parent("merge_request_iid", "INTEGER"),
        *_gitlab_user("approver", "user"), ts("approved_at"),
    ),
    ("project_id", "merge_request_iid", "approver_id"),
    description="Who approved a merge request (and when, on GitLab versions that say).",
)


def _gitlab_commit_columns() -> tuple[Column, ...]:
    return (
        col("sha", "VARCHAR", "id"), col("parent_shas", "VARCHAR[]", "parent_ids"),
        col("author_name", "VARCHAR", scrub=True), col("author_email", "VARCHAR"),
        ts("authored_at", "authored_date"),
        col("committer_name", "VARCHAR", scrub=True), col("committer_email", "VARCHAR"),
        ts("committed_at", "committed_date"),
    )


GITLAB_MR_COMMITS = Entity(
    "gitlab_mr_commits", "gitlab", "GET /projects/{id}/merge_requests/{iid}/commits",
    (parent("project_id", "BIGINT"), parent("merge_request_iid", "INTEGER"),
     *_gitlab_commit_columns()),
    ("project_id", "merge_request_iid", "sha"),
    description="Commits of a merge request; title and message are dropped.",
)

GITLAB_COMMITS = Entity(
    "gitlab_commits", "gitlab", "GET /projects/{id}/repository/commits?with_stats=true",
    (
        parent("project_id", "BIGINT"), *_gitlab_commit_columns(),
        col("additions", "INTEGER", "stats.additions"),
        col("deletions", "INTEGER", "stats.deletions"),
    ),
    ("project_id", "sha"),
    description="Commits; title and message are dropped.",
)

GITLAB_PIPELINES = Entity(
    "gitlab_pipelines", "gitlab", "GET /projects/{id}/pipelines and /pipelines/{id}",
    (
        col("id", "BIGINT"), col("iid", "INTEGER"), col("project_id", "BIGINT"),
        col("sha", "VARCHAR"), col("ref", "VARCHAR"), col("is_tag", "BOOLEAN", "tag"),
        col("status", "VARCHAR"), col("source", "VARCHAR"),
        *_gitlab_user("user", "user"), col("duration_seconds", "DOUBLE", "duration"),
        col("queued_duration_seconds", "DOUBLE", "queued_duration"),
        ts("created_at"), ts("updated_at"), ts("started_at"), ts("finished_at"),
    ),
    ("id",),
    description="Pipelines; user, durations and start/finish times only come with the detail "
    "endpoint.",
)

GITLAB_DEPLOYMENTS = Entity(
    "gitlab_deployments", "gitlab", "GET /projects/{id}/deployments",
    (
        col("id", "BIGINT"), col("iid", "INTEGER"), parent("project_id", "BIGINT"),
        col("sha", "VARCHAR"), col("ref", "VARCHAR"), col("status", "VARCHAR"),
        col("environment_id", "BIGINT", "environment.id"),
        col("environment_name", "VARCHAR", "environment.name"),
        col("deployable_id", "BIGINT", "deployable.id"),
        col("deployable_status", "VARCHAR", "deployable.status"),
        col("pipeline_id", "BIGINT", "deployable.pipeline.id"),
        *_gitlab_user("user", "user"), ts("created_at"), ts("updated_at"),
        ts("finished_at", "deployable.finished_at"),
    ),
    ("id",),
    description="Deployments; the deployable's commit (and its message) is dropped.",
)

GITLAB_USERS = Entity(
    "gitlab_users", "gitlab", "GET /groups/{id}/members/all, /users/{id}",
    (
        col("id", "BIGINT"), col("username", "VARCHAR"), col("name", "VARCHAR", scrub=True),
        col("state", "VARCHAR"), col("is_bot", "BOOLEAN", "bot"),
        col("public_email", "VARCHAR"), col("email", "VARCHAR"), ts("created_at"),
    ),
    ("id",),
    description="Users: username, name and emails only; location, organization, job title, "
    "bio and social accounts are dropped.",
)

# --- Jira (Cloud REST v3 + Agile 1.0) ---------------------------------------------------------

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
        ),
        ("id",),
        description="Issues; description, comments, attachments and environment are dropped. "
        f"Story points, sprints and the legacy epic link come from configurable custom fields "
        f"(defaults {story_points_field}, {sprint_field}, {epic_link_field}).",
    )


JIRA_ISSUES = jira_issues_entity()

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

# --- Slack (Web API) --------------------------------------------------------------------------

SLACK_CHANNELS = Entity(
    "slack_channels", "slack", "conversations.list?types=public_channel",
    (
        col("id", "VARCHAR"), col("name", "VARCHAR"),
        col("is_archived", "BOOLEAN"), col("is_general", "BOOLEAN"),
        col("creator_id", "VARCHAR", "creator"), col("num_members", "INTEGER"),
        col("created_at", "TIMESTAMP", "created", epoch_timestamp),
    ),
    ("id",),
    refuse=is_private_conversation,
    description="Public channels only: a record flagged is_private, is_im, is_mpim or is_group "
    "is refused. Topic and purpose are dropped.",
)

SLACK_MESSAGES = Entity(
    "slack_messages", "slack", "conversations.history, conversations.replies (public channels)",
    (
        parent("channel_id", "VARCHAR"), col("ts", "VARCHAR"),
        col("posted_at", "TIMESTAMP", "ts", epoch_timestamp),
        col("thread_ts", "VARCHAR"), col("user_id", "VARCHAR", "user"),
        col("bot_id", "VARCHAR"), col("subtype", "VARCHAR"),
        col("reply_count", "INTEGER"), col("reply_users_count", "INTEGER"),
        col("reactions_count", "INTEGER", "reactions", reaction_total),
        col("text", "VARCHAR", scrub=True),
        col("text_length", "INTEGER", "text", text_length),
    ),
    ("channel_id", "ts"),
    refuse=is_private_message,
    description="Messages of public channels, text scrubbed; files, attachments and blocks are "
    "dropped. Refused when the channel is a DM/private (id prefix D or G, a non-public "
    "channel_type, or parent channel_is_private).",
)

SLACK_USERS = Entity(
    "slack_users", "slack", "users.list",
    (
        col("id", "VARCHAR"), col("team_id", "VARCHAR"), col("name", "VARCHAR"),
        col("real_name", "VARCHAR", "profile.real_name", scrub=True),
        col("display_name", "VARCHAR", "profile.display_name", scrub=True),
        col("email", "VARCHAR", "profile.email"), col("is_bot", "BOOLEAN"),
        col("is_app_user", "BOOLEAN"), col("is_deleted", "BOOLEAN", "deleted"),
        col("updated_at", "TIMESTAMP", "updated", epoch_timestamp),
    ),
    ("id",),
    description="Users; phone, title (job position), time zone, status and avatars are dropped.",
)

# --- git (local clone, records from resources.connectors.git.read_git_commits) ---------------

GIT_COMMITS = Entity(
    "git_commits", "git", "git log --numstat (header fields only)",
    (
        col("sha", "VARCHAR"), col("parent_shas", "VARCHAR[]", "parents"),
        col("author_name", "VARCHAR", scrub=True), col("author_email", "VARCHAR"),
        ts("authored_at", "author_date"),
        col("author_utc_offset_minutes", "SMALLINT", "author_date", utc_offset_minutes),
        col("committer_name", "VARCHAR", scrub=True), col("committer_email", "VARCHAR"),
        ts("committed_at", "committer_date"),
        col("committer_utc_offset_minutes", "SMALLINT", "committer_date", utc_offset_minutes),
        col("files_changed", "INTEGER"), col("binary_files_changed", "INTEGER"),
        col("insertions", "INTEGER"), col("deletions", "INTEGER"),
    ),
    ("sha",),
    description="Commits of a local clone: identity, times with their UTC offset, and "
    "numstat totals (merges have none). No message, no diff, no file names or contents.",
)

ENTITIES: dict[str, Entity] = {
    entity_.name: entity_
    for entity_ in (
        GITHUB_REPOSITORIES, GITHUB_PULL_REQUESTS, GITHUB_PULL_REQUEST_REVIEWS,
        GITHUB_PULL_REQUEST_COMMITS, GITHUB_PULL_REQUEST_SERVICES, GITHUB_COMMITS,
        GITHUB_ISSUES, GITHUB_DEPLOYMENTS,
        GITHUB_DEPLOYMENT_STATUSES, GITHUB_RELEASES, GITHUB_TAGS, GITHUB_WORKFLOW_RUNS,
        GITHUB_USERS,
        GITLAB_PROJECTS, GITLAB_MERGE_REQUESTS, GITLAB_MR_APPROVALS, GITLAB_MR_COMMITS,
        GITLAB_COMMITS, GITLAB_PIPELINES, GITLAB_DEPLOYMENTS, GITLAB_USERS,
        JIRA_PROJECTS, JIRA_ISSUES, JIRA_ISSUE_STATUS_CHANGES, JIRA_SPRINTS, JIRA_BOARDS,
        JIRA_USERS,
        SLACK_CHANNELS, SLACK_MESSAGES, SLACK_USERS,
        GIT_COMMITS,
    )
}


def entity(name: str) -> Entity:
    """The declared entity called `name` (also its table name), e.g. "github_pull_requests"."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(
            f"no allow-listed entity {name!r}; declared entities: {', '.join(ENTITIES)}"
        ) from None


def entities_for(system: str) -> list[Entity]:
    """Entities of one source system: github, gitlab, jira, slack or git."""
    return [entity_ for entity_ in ENTITIES.values() if entity_.system == system]


def scrubbed_columns() -> dict[str, tuple[str, ...]]:
    """Table name → free-text columns that pass the PII scrubber, for every entity."""
    return {name: e.scrubbed_columns for name, e in ENTITIES.items() if e.scrubbed_columns}


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


def _describe_source(column: Column) -> str:
    if column.parent_key:
        return f"supplied by the caller (`parent['{column.parent_key}']`)"
    text = f"`{column.source}`"
    if column.transform is not None:
        text += f" → `{column.transform.__name__}`"
    return text


def allow_list_markdown() -> str:
    """The allow-list as Markdown: docs/allow-list.md is this function's output."""
    out = [
        "# Allow-list: what Sieve stores",
        "",
        "Generated from `resources/schemas.py` by `python -m resources.schemas > "
        "docs/allow-list.md`; a test fails when this file is stale. Every field of an API "
        "record that is not listed here is dropped at extraction. Columns marked *scrubbed* "
        "pass the PII scrubber (`resources/pii.py`), which replaces phone numbers, IP "
        "addresses, card numbers, national ids, IBANs, dates of birth, street addresses, "
        "passport and driver's licence numbers with typed placeholders such as `[phone]`.",
        "",
        "Every table also has `connection_id` (VARCHAR, first column and first key column), "
        "and timestamps are UTC.",
        "",
        "## Decisions",
        "",
        "- **Commit messages**: not kept, not even the subject line, for GitHub, GitLab and "
        "local git. Subjects are where secrets, customer names and pasted snippets end up; "
        "pull/merge request titles already carry the human description, scrubbed. The git "
        "reader never asks git for the message.",
        "- **Sprint goals**: dropped (free-text planning content); `goal_length` is kept.",
        "- **Version numbers vs IPv4**: a dotted quad such as `1.2.3.4` is scrubbed as an IP "
        "address unless written as a version (`v1.2.3.4`, or right after version/ver/release/"
        "build/firmware). Three-part versions (`1.2.3`) never look like addresses.",
        "- **Identifiers are not scrubbed**: logins, emails, keys, branch refs and enum values "
        "are kept as they are (they join tables); names of people and human-written titles "
        "are scrubbed.",
        "",
    ]
    for system in ("github", "gitlab", "jira", "slack", "git"):
        for entity_ in entities_for(system):
            out += [
                f"## `{entity_.table}`",
                "",
                f"Source: {entity_.endpoint}. {entity_.description}",
                "",
                f"Natural key: `{', '.join(entity_.primary_key)}`.",
                "",
                "| column | type | from | scrubbed |",
                "|---|---|---|---|",
            ]
            out += [
                f"| `{c.name}` | {c.type} | {_describe_source(c)} | {'yes' if c.scrub else ''} |"
                for c in entity_.columns
            ]
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(allow_list_markdown())
