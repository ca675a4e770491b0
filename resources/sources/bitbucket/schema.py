"""Bitbucket Cloud's allow-list (REST API 2.0): what Sieve keeps of repositories, pull requests
with their participants and commits, main-branch commits, pipelines, environments, deployments
and workspace members.

People appear by their Atlassian account id (``*_account_id``), the same id their Jira account
has, so a Bitbucket account and a Jira account of one person are one account to identity
linking; commit authors also by the email of their git identity. Descriptions, decline reasons,
comments, commit messages and release names are dropped; user uuids and nicknames are kept only
in the people directory.
"""

from __future__ import annotations

import re

from resources.sources.allow_list import Column, Entity, PersonColumns, col, parent, text_length, ts

# A git identity as Bitbucket renders it: "Name <email>".
_RAW_AUTHOR = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")


def raw_author_email(value: str) -> str | None:
    """The email of a commit's ``author.raw`` ("Ana Lima <ana@example.com>")."""
    found = _RAW_AUTHOR.match(value)
    return found["email"].strip() or None if found else None


def raw_author_name(value: str) -> str | None:
    """The name of a commit's ``author.raw``; the whole text when it carries no email."""
    found = _RAW_AUTHOR.match(value)
    name = found["name"] if found else value
    return name.strip() or None


def _commit_columns() -> tuple[Column, ...]:
    return (
        col("sha", "VARCHAR", "hash"),
        col("author_email", "VARCHAR", "author.raw", raw_author_email),
        col("author_name", "VARCHAR", "author.raw", raw_author_name, scrub=True),
        col("author_account_id", "VARCHAR", "author.user.account_id"),
        ts("committed_at", "date"),
    )


BITBUCKET_REPOSITORIES = Entity(
    "bitbucket_repositories", "bitbucket", "GET /2.0/repositories/{workspace}",
    (
        col("uuid", "VARCHAR"), col("slug", "VARCHAR"), col("full_name", "VARCHAR"),
        col("name", "VARCHAR", scrub=True), col("workspace", "VARCHAR", "workspace.slug"),
        col("project_key", "VARCHAR", "project.key"),
        col("default_branch", "VARCHAR", "mainbranch.name"),
        col("is_private", "BOOLEAN"), col("language", "VARCHAR"),
        ts("created_at", "created_on"), ts("updated_at", "updated_on"),
    ),
    ("uuid",),
    description="Repositories of the workspace; the description is dropped.",
)

BITBUCKET_PULL_REQUESTS = Entity(
    "bitbucket_pull_requests", "bitbucket",
    "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests (q updated_on > cursor)",
    (
        parent("repository_uuid", "VARCHAR"), col("number", "INTEGER", "id"),
        col("title", "VARCHAR", scrub=True), col("state", "VARCHAR"),
        col("is_draft", "BOOLEAN", "draft"),
        col("author_account_id", "VARCHAR", "author.account_id"),
        col("source_branch", "VARCHAR", "source.branch.name"),
        col("source_commit", "VARCHAR", "source.commit.hash"),
        col("destination_branch", "VARCHAR", "destination.branch.name"),
        col("merge_commit_sha", "VARCHAR", "merge_commit.hash"),
        col("closed_by_account_id", "VARCHAR", "closed_by.account_id"),
        col("comment_count", "INTEGER"), col("task_count", "INTEGER"),
        col("description_length", "INTEGER", "description", text_length),
        ts("created_at", "created_on"), ts("updated_at", "updated_on"),
    ),
    ("repository_uuid", "number"),
    description="Pull requests; the description (its length kept), the decline reason and "
    "the rendered summary are dropped. Bitbucket gives no merge or close time: a merged pull "
    "request's merge commit, else its last update, times it.",
)

BITBUCKET_PR_PARTICIPANTS = Entity(
    "bitbucket_pr_participants", "bitbucket",
    "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{id}: `participants`",
    (
        parent("repository_uuid", "VARCHAR"), parent("pull_request_number", "INTEGER"),
        col("user_account_id", "VARCHAR", "user.account_id"), col("role", "VARCHAR"),
        col("is_approved", "BOOLEAN", "approved"), col("state", "VARCHAR"),
        ts("participated_at", "participated_on"),
    ),
    ("repository_uuid", "pull_request_number", "user_account_id"),
    description="Reviewers and other participants of a pull request: role, whether they "
    "approved, their review state and when they last took part (an approval's time).",
)

BITBUCKET_PR_COMMITS = Entity(
    "bitbucket_pr_commits", "bitbucket",
    "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{id}/commits",
    (parent("repository_uuid", "VARCHAR"), parent("pull_request_number", "INTEGER"),
     *_commit_columns()),
    ("repository_uuid", "pull_request_number", "sha"),
    description="Commits of a pull request; the message is dropped.",
)

BITBUCKET_COMMITS = Entity(
    "bitbucket_commits", "bitbucket", "GET /2.0/repositories/{workspace}/{repo_slug}/commits",
    (parent("repository_uuid", "VARCHAR"), *_commit_columns(),
     col("parent_shas", "VARCHAR[]", "parents", lambda parents: [p["hash"] for p in parents])),
    ("repository_uuid", "sha"),
    description="Commits of the main branch; the message is dropped.",
)

BITBUCKET_PIPELINES = Entity(
    "bitbucket_pipelines", "bitbucket", "GET /2.0/repositories/{workspace}/{repo_slug}/pipelines",
    (
        col("uuid", "VARCHAR"), parent("repository_uuid", "VARCHAR"),
        col("build_number", "INTEGER"), col("state", "VARCHAR", "state.name"),
        col("result", "VARCHAR", "state.result.name"),
        col("ref_type", "VARCHAR", "target.ref_type"),
        col("ref_name", "VARCHAR", "target.ref_name"),
        col("commit_sha", "VARCHAR", "target.commit.hash"),
        col("duration_seconds", "INTEGER", "duration_in_seconds"),
        ts("created_at", "created_on"), ts("completed_at", "completed_on"),
    ),
    ("uuid",),
    description="Pipeline runs; the creator and the trigger's details are dropped.",
)

BITBUCKET_ENVIRONMENTS = Entity(
    "bitbucket_environments", "bitbucket",
    "GET /2.0/repositories/{workspace}/{repo_slug}/environments",
    (
        col("uuid", "VARCHAR"), parent("repository_uuid", "VARCHAR"),
        col("name", "VARCHAR", scrub=True),
        col("environment_type", "VARCHAR", "environment_type.name"),
        col("rank", "INTEGER", "environment_type.rank"),
    ),
    ("uuid",),
    description="Deployment environments and their type (Test, Staging or Production).",
)

BITBUCKET_DEPLOYMENTS = Entity(
    "bitbucket_deployments", "bitbucket",
    "GET /2.0/repositories/{workspace}/{repo_slug}/deployments",
    (
        col("uuid", "VARCHAR"), parent("repository_uuid", "VARCHAR"),
        col("environment_uuid", "VARCHAR", "environment.uuid"),
        col("state", "VARCHAR", "state.name"), col("status", "VARCHAR", "state.status.name"),
        col("commit_sha", "VARCHAR", "release.commit.hash"),
        col("pipeline_uuid", "VARCHAR", "deployable.pipeline.uuid"),
        ts("started_at", "state.started_on"), ts("completed_at", "state.completed_on"),
    ),
    ("uuid",),
    description="Deployments to an environment; the release's name and URL are dropped.",
)

BITBUCKET_USERS = Entity(
    "bitbucket_users", "bitbucket", "GET /2.0/workspaces/{workspace}/members",
    (
        col("account_id", "VARCHAR", "user.account_id"), col("uuid", "VARCHAR", "user.uuid"),
        col("nickname", "VARCHAR", "user.nickname"),
        col("display_name", "VARCHAR", "user.display_name", scrub=True),
    ),
    ("account_id",),
    description="Workspace members: Atlassian account id, uuid, nickname and display name "
    "(Bitbucket shows no emails); the avatar and links are dropped.",
)

ENTITIES = (
    BITBUCKET_REPOSITORIES, BITBUCKET_PULL_REQUESTS, BITBUCKET_PR_PARTICIPANTS,
    BITBUCKET_PR_COMMITS, BITBUCKET_COMMITS, BITBUCKET_PIPELINES, BITBUCKET_ENVIRONMENTS,
    BITBUCKET_DEPLOYMENTS, BITBUCKET_USERS,
)

# Atlassian account ids are the accounts Jira knows too: one system, so they link.
USER_DIRECTORY = PersonColumns("bitbucket_users", "jira", "account_id", "nickname", None,
                               "display_name")
