"""GitLab's allow-list (REST v4 entities): what Sieve keeps of each record."""

from __future__ import annotations

from resources.sources.allow_list import (
    Column,
    Entity,
    PersonColumns,
    col,
    integer,
    item_count,
    names,
    parent,
    text_length,
    ts,
    usernames,
)


def _gitlab_user(prefix: str, path: str) -> tuple[Column, Column]:
    return (col(f"{prefix}_username", "VARCHAR", f"{path}.username"),
            col(f"{prefix}_id", "BIGINT", f"{path}.id"))


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

ENTITIES = (
    GITLAB_PROJECTS, GITLAB_MERGE_REQUESTS, GITLAB_MR_APPROVALS, GITLAB_MR_COMMITS,
    GITLAB_COMMITS, GITLAB_PIPELINES, GITLAB_DEPLOYMENTS, GITLAB_USERS,
)

USER_DIRECTORY = PersonColumns("gitlab_users", "gitlab", "id", "username",
                                "coalesce(email, public_email)", "name",
                                "coalesce(is_bot, false)")
