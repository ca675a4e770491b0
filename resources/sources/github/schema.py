"""GitHub's allow-list (REST v3 entities): what Sieve keeps of each record."""

from __future__ import annotations

from collections.abc import Mapping

from resources.sources.allow_list import (
    Column,
    Entity,
    PersonColumns,
    col,
    item_count,
    logins,
    names,
    parent,
    shas,
    text_length,
    ts,
)


def is_pull_request(raw: Mapping, parent: Mapping) -> bool:
    """GitHub's issues endpoint also lists pull requests; those belong to pull_requests."""
    return "pull_request" in raw


def _user(prefix: str, path: str) -> tuple[Column, Column]:
    """A GitHub user reference as login + numeric id."""
    return (col(f"{prefix}_login", "VARCHAR", f"{path}.login"),
            col(f"{prefix}_id", "BIGINT", f"{path}.id"))


def _git_identity(prefix: str, path: str, time_column: str) -> tuple[Column, ...]:
    """A commit's author or committer as GitHub returns it under `commit`."""
    return (
        col(f"{prefix}_name", "VARCHAR", f"{path}.name", scrub=True),
        col(f"{prefix}_email", "VARCHAR", f"{path}.email"),
        ts(time_column, f"{path}.date"),
    )


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
    ("node_id",),
    description="Deployment statuses; description and URLs are dropped. Keyed by node id: "
    "GraphQL, which fetches a hundred deployments' statuses a query, has no numeric id for "
    "them (`id` stays empty on that path).",
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
    "github_workflow_runs", "github",
    "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs (deploy workflows only)",
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
    description="Actions workflow runs of the production deploy workflows (names matching "
    "production_workflow_names), the only runs the marts read; other workflows' runs are never "
    "listed. display_title and head_commit (commit message) are dropped.",
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

ENTITIES = (
    GITHUB_REPOSITORIES, GITHUB_PULL_REQUESTS, GITHUB_PULL_REQUEST_REVIEWS,
    GITHUB_PULL_REQUEST_COMMITS, GITHUB_PULL_REQUEST_SERVICES, GITHUB_COMMITS, GITHUB_ISSUES,
    GITHUB_DEPLOYMENTS, GITHUB_DEPLOYMENT_STATUSES, GITHUB_RELEASES, GITHUB_TAGS,
    GITHUB_WORKFLOW_RUNS, GITHUB_USERS,
)

USER_DIRECTORY = PersonColumns("github_users", "github", "id", "login", "email", "name",
                                "type = 'Bot'")
