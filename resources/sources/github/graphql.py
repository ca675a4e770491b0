"""Pull requests and issues through GitHub's GraphQL API: the documents Sieve sends, and their
answers projected onto the REST shapes the allow-list reads, so the stored tables are the same.

One query fetches a page of a repository's pull requests (most recently updated first) with the
reviews, commits, labels, assignees, review requests and (for monorepos) changed file paths the
allow-list needs; a nested connection longer than its first page is walked again by follow-up
queries for that pull request only. Another query fetches a page of a repository's issues
updated since the stream's cursor; releases come a hundred a query without their notes, tags
ride on the default branch's history queries. The people seen in the records come a hundred a
query as aliased ``user(login:)`` fields. Every field selected is listed in ``FIELD_PURPOSE`` with the
allow-list column it feeds (``tests/unit/test_github_graphql_documents.py`` parses the documents
against GitHub's schema and fails on any other field); bodies, comment text, commit messages and
patches are never selected, so they are never downloaded. Request plan: docs/sources/github.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

from resources.http.graphql import (
    GraphQLClient,
    GraphQLPaginationError,
    GraphQLQueryError,
    GraphQLResult,
    with_shrinking_page,
)

PAGE_SIZE = 100
# Nested connections every pull request has (commits) or most have (reviews; files, where
# asked): their first page comes with the pull request, one request per pull request each in
# GitHub's cost formula (a point per hundred pull requests each).
PAGED_CONNECTIONS = ("commits", "reviews")
# Nested connections most pull requests leave empty: the page asks only their ``totalCount``
# (a connection selecting no nodes is not charged), and their nodes come afterwards, for the
# pull requests that have any, ``PARTS_PER_QUERY`` pull requests a query (``PullRequestParts``,
# one request per non-empty connection: a point per hundred of those).
DEFERRED_CONNECTIONS = ("labels", "assignees", "reviewRequests")
PARTS_PER_QUERY = 300
# Nested page sizes: large enough that follow-up queries are rare. They cost no points (GitHub
# charges a nested connection per parent, whatever its size) but count towards the node limit.
NESTED_PAGE_SIZE = {"commits": 100, "reviews": 50, "labels": 50, "assignees": 20,
                    "reviewRequests": 20, "files": 100}
# An issue's labels and assignees in one page each: GitHub allows at most 10 assignees, and a
# longer label list is an error naming the issue rather than a short row.
ISSUE_NESTED_PAGE_SIZE = {"labels": 100, "assignees": 10}
# A deployment's statuses in one page: a deployment has a handful (queued, in progress, its
# outcome, inactive once superseded); one with more is completed through REST. The page size
# costs no points (one nested connection per deployment) and returns only what exists.
STATUSES_PER_DEPLOYMENT = 100
# A commit's parents in one page: two for a merge; more than a hundred (an octopus merge
# beyond any seen) is an error naming the commit rather than a short list.
PARENTS_PER_COMMIT = 100
# People per query: aliased ``user(login:)`` fields, each one node (one point per query).
USERS_PER_QUERY = 100
# GitHub lists at most 250 commits of a pull request (REST and GraphQL alike).
MAX_PULL_REQUEST_COMMITS = 250

ACTOR = "{ login ... on User { databaseId } ... on Bot { databaseId } }"
# A pull request's author also with its type (``author_type``); no other table keeps one.
TYPED_ACTOR = "{ __typename login ... on User { databaseId } ... on Bot { databaseId } }"
GIT_ACTOR = "{ name email date user { login databaseId } }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
RATE_LIMIT = "rateLimit { cost remaining resetAt }"
DEPLOYMENT_STATUS_FIELDS = f"id state environment createdAt updatedAt creator {ACTOR}"
NESTED_NODES = {
    "commits": f"commit {{ oid author {GIT_ACTOR} committer {GIT_ACTOR} }}",
    "reviews": (f"id databaseId state submittedAt authorAssociation author {ACTOR} "
                "commit { oid } comments { totalCount }"),
    "labels": "name",
    "assignees": "login",
    "reviewRequests": "requestedReviewer { __typename }",
    "files": "path additions deletions",
}
PULL_REQUEST_SCALARS = (
    f"id databaseId number title state isDraft locked authorAssociation author {TYPED_ACTOR} "
    f"createdAt updatedAt closedAt mergedAt merged mergedBy {ACTOR} "
    "headRefName headRefOid headRepository { databaseId } baseRefName baseRefOid "
    "mergeCommit { oid } potentialMergeCommit { oid } milestone { number } "
    "additions deletions changedFiles comments { totalCount }"
)
ISSUE_FIELDS = (
    f"id databaseId number title state stateReason locked authorAssociation author {ACTOR} "
    "milestone { number } comments { totalCount } createdAt updatedAt closedAt "
    + " ".join(f"{name}(first: {size}) {{ totalCount nodes {{ {NESTED_NODES[name]} }} }}"
               for name, size in ISSUE_NESTED_PAGE_SIZE.items())
)

# Allow-list columns the GraphQL API cannot fill without downloading what Sieve must not (a
# body's length needs the body) or without a cost out of proportion (a commit's parents are a
# connection under every commit): left empty on this path; see docs/sources/github.md.
NOT_REQUESTED = {
    "github_pull_requests": ("body_length",),
    "github_pull_request_reviews": ("body_length",),
    "github_pull_request_commits": ("parent_shas",),
    "github_issues": ("body_length",),
    # GraphQL's DeploymentStatus has no databaseId; its id (REST's node_id) is the key.
    "github_deployment_statuses": ("id",),
    # GraphQL's Release has no target_commitish (the branch a tag was to be created from); no
    # model reads it.
    "github_releases": ("body_length", "target_commitish"),
}

# Every field a document selects, by (GraphQL type, field), and what it is for: the
# allow-list columns it fills, or how the collection uses it.
FIELD_PURPOSE: dict[tuple[str, str], str] = {
    ("Query", "rateLimit"): "points budget", ("Query", "repository"): "scope",
    ("RateLimit", "cost"): "points budget", ("RateLimit", "remaining"): "points budget",
    ("RateLimit", "resetAt"): "points budget",
    ("Repository", "pullRequests"): "pagination", ("Repository", "pullRequest"): "follow-ups",
    ("PullRequestConnection", "pageInfo"): "pagination",
    ("PullRequestConnection", "nodes"): "github_pull_requests",
    ("PageInfo", "hasNextPage"): "pagination", ("PageInfo", "endCursor"): "pagination",
    ("PullRequest", "id"): "github_pull_requests.node_id",
    ("PullRequest", "databaseId"): "github_pull_requests.id",
    ("PullRequest", "number"): "github_pull_requests.number",
    ("PullRequest", "title"): "github_pull_requests.title",
    ("PullRequest", "state"): "github_pull_requests.state",
    ("PullRequest", "isDraft"): "github_pull_requests.is_draft",
    ("PullRequest", "locked"): "github_pull_requests.is_locked",
    ("PullRequest", "authorAssociation"): "github_pull_requests.author_association",
    ("PullRequest", "author"): "github_pull_requests.author_login",
    ("PullRequest", "createdAt"): "github_pull_requests.created_at",
    ("PullRequest", "updatedAt"): "github_pull_requests.updated_at",
    ("PullRequest", "closedAt"): "github_pull_requests.closed_at",
    ("PullRequest", "mergedAt"): "github_pull_requests.merged_at",
    ("PullRequest", "merged"): "github_pull_requests.is_merged",
    ("PullRequest", "mergedBy"): "github_pull_requests.merged_by_login",
    ("PullRequest", "headRefName"): "github_pull_requests.head_ref",
    ("PullRequest", "headRefOid"): "github_pull_requests.head_sha",
    ("PullRequest", "headRepository"): "github_pull_requests.head_repository_id",
    ("Repository", "databaseId"): "github_pull_requests.head_repository_id",
    ("PullRequest", "baseRefName"): "github_pull_requests.base_ref",
    ("PullRequest", "baseRefOid"): "github_pull_requests.base_sha",
    ("PullRequest", "mergeCommit"): "github_pull_requests.merge_commit_sha",
    ("PullRequest", "potentialMergeCommit"): "github_pull_requests.merge_commit_sha",
    ("PullRequest", "milestone"): "github_pull_requests.milestone_number",
    ("Milestone", "number"): "github_pull_requests.milestone_number",
    ("PullRequest", "additions"): "github_pull_requests.additions",
    ("PullRequest", "deletions"): "github_pull_requests.deletions",
    ("PullRequest", "changedFiles"): "github_pull_requests.changed_files",
    ("PullRequest", "comments"): "github_pull_requests.comments",
    ("IssueCommentConnection", "totalCount"): "github_pull_requests.comments",
    ("PullRequest", "commits"): "github_pull_request_commits",
    ("PullRequestCommitConnection", "totalCount"): "github_pull_requests.commits",
    ("PullRequestCommitConnection", "pageInfo"): "pagination",
    ("PullRequestCommitConnection", "nodes"): "github_pull_request_commits",
    ("PullRequestCommit", "commit"): "github_pull_request_commits",
    ("Commit", "oid"): "github_pull_request_commits.sha",
    ("Commit", "author"): "github_pull_request_commits.author_*",
    ("Commit", "committer"): "github_pull_request_commits.committer_*",
    ("GitActor", "name"): "github_pull_request_commits.author_name",
    ("GitActor", "email"): "github_pull_request_commits.author_email",
    ("GitActor", "date"): "github_pull_request_commits.authored_at",
    ("GitActor", "user"): "github_pull_request_commits.author_login",
    ("User", "login"): "logins", ("User", "databaseId"): "user ids",
    ("Bot", "databaseId"): "user ids",
    ("Actor", "login"): "logins", ("Actor", "__typename"): "github_pull_requests.author_type",
    ("PullRequest", "reviews"): "github_pull_request_reviews",
    ("PullRequestReviewConnection", "totalCount"): "completeness check",
    ("PullRequestReviewConnection", "pageInfo"): "pagination",
    ("PullRequestReviewConnection", "nodes"): "github_pull_request_reviews",
    ("PullRequestReview", "id"): "github_pull_request_reviews.node_id",
    ("PullRequestReview", "databaseId"): "github_pull_request_reviews.id",
    ("PullRequestReview", "state"): "github_pull_request_reviews.state",
    ("PullRequestReview", "submittedAt"): "github_pull_request_reviews.submitted_at",
    ("PullRequestReview", "authorAssociation"): "github_pull_request_reviews.author_association",
    ("PullRequestReview", "author"): "github_pull_request_reviews.reviewer_login",
    ("PullRequestReview", "commit"): "github_pull_request_reviews.commit_id",
    ("PullRequestReview", "comments"): "github_pull_requests.review_comments",
    ("PullRequestReviewCommentConnection", "totalCount"): "github_pull_requests.review_comments",
    ("PullRequest", "labels"): "github_pull_requests.labels",
    ("LabelConnection", "totalCount"): "completeness check",
    ("LabelConnection", "pageInfo"): "pagination",
    ("LabelConnection", "nodes"): "github_pull_requests.labels",
    ("Label", "name"): "github_pull_requests.labels",
    ("PullRequest", "assignees"): "github_pull_requests.assignee_logins",
    ("UserConnection", "totalCount"): "completeness check",
    ("UserConnection", "pageInfo"): "pagination",
    ("UserConnection", "nodes"): "github_pull_requests.assignee_logins",
    ("PullRequest", "reviewRequests"): "github_pull_requests.requested_reviewers_count",
    ("ReviewRequestConnection", "totalCount"): "completeness check",
    ("ReviewRequestConnection", "pageInfo"): "pagination",
    ("ReviewRequestConnection", "nodes"): "github_pull_requests.requested_reviewers_count",
    ("ReviewRequest", "requestedReviewer"): "github_pull_requests.requested_teams_count",
    ("RequestedReviewer", "__typename"): "github_pull_requests.requested_teams_count",
    ("PullRequest", "files"): "github_pull_request_services",
    ("PullRequestChangedFileConnection", "totalCount"): "completeness check",
    ("PullRequestChangedFileConnection", "pageInfo"): "pagination",
    ("PullRequestChangedFileConnection", "nodes"): "github_pull_request_services",
    ("PullRequestChangedFile", "path"): "github_pull_request_services.service",
    ("PullRequestChangedFile", "additions"): "github_pull_request_services.additions",
    ("PullRequestChangedFile", "deletions"): "github_pull_request_services.deletions",
    ("Repository", "issues"): "github_issues",
    ("IssueConnection", "pageInfo"): "pagination", ("IssueConnection", "nodes"): "github_issues",
    ("Issue", "id"): "github_issues.node_id", ("Issue", "databaseId"): "github_issues.id",
    ("Issue", "number"): "github_issues.number", ("Issue", "title"): "github_issues.title",
    ("Issue", "state"): "github_issues.state",
    ("Issue", "stateReason"): "github_issues.state_reason",
    ("Issue", "locked"): "github_issues.is_locked",
    ("Issue", "authorAssociation"): "github_issues.author_association",
    ("Issue", "author"): "github_issues.author_login",
    ("Issue", "milestone"): "github_issues.milestone_number",
    ("Issue", "comments"): "github_issues.comments",
    ("Issue", "createdAt"): "github_issues.created_at",
    ("Issue", "updatedAt"): "github_issues.updated_at",
    ("Issue", "closedAt"): "github_issues.closed_at",
    ("Issue", "labels"): "github_issues.labels",
    ("Issue", "assignees"): "github_issues.assignee_logins",
    ("Repository", "deployments"): "github_deployment_statuses",
    ("DeploymentConnection", "pageInfo"): "pagination",
    ("DeploymentConnection", "nodes"): "github_deployment_statuses",
    ("Deployment", "id"): "github_deployment_statuses.deployment_id",
    ("Deployment", "statuses"): "github_deployment_statuses",
    ("DeploymentStatusConnection", "totalCount"): "completeness check",
    ("DeploymentStatusConnection", "nodes"): "github_deployment_statuses",
    ("DeploymentStatus", "id"): "github_deployment_statuses.node_id",
    ("DeploymentStatus", "state"): "github_deployment_statuses.state",
    ("DeploymentStatus", "environment"): "github_deployment_statuses.environment",
    ("DeploymentStatus", "createdAt"): "github_deployment_statuses.created_at",
    ("DeploymentStatus", "updatedAt"): "github_deployment_statuses.updated_at",
    ("DeploymentStatus", "creator"): "github_deployment_statuses.creator_login",
    ("Repository", "defaultBranchRef"): "github_commits",
    ("Ref", "target"): "github_commits",  # and github_tags.commit_sha
    ("Commit", "history"): "github_commits",
    ("CommitHistoryConnection", "pageInfo"): "pagination",
    ("CommitHistoryConnection", "nodes"): "github_commits",
    ("Commit", "id"): "github_commits.node_id", ("Commit", "parents"): "github_commits.parent_shas",
    ("CommitConnection", "totalCount"): "completeness check",
    ("CommitConnection", "nodes"): "github_commits.parent_shas",
    ("Commit", "signature"): "github_commits.is_verified",
    ("GitSignature", "isValid"): "github_commits.is_verified",
    ("Repository", "releases"): "github_releases",
    ("ReleaseConnection", "pageInfo"): "pagination",
    ("ReleaseConnection", "nodes"): "github_releases",
    ("Release", "id"): "github_releases.node_id", ("Release", "databaseId"): "github_releases.id",
    ("Release", "tagName"): "github_releases.tag_name", ("Release", "name"): "github_releases.name",
    ("Release", "isDraft"): "github_releases.is_draft",
    ("Release", "isPrerelease"): "github_releases.is_prerelease",
    ("Release", "author"): "github_releases.author_login",
    ("Release", "releaseAssets"): "github_releases.assets_count",
    ("ReleaseAssetConnection", "totalCount"): "github_releases.assets_count",
    ("Release", "createdAt"): "github_releases.created_at",
    ("Release", "publishedAt"): "github_releases.published_at",
    ("Repository", "refs"): "github_tags", ("RefConnection", "pageInfo"): "pagination",
    ("RefConnection", "nodes"): "github_tags", ("Ref", "name"): "github_tags.name",
    ("GitObject", "__typename"): "github_tags.commit_sha",
    ("GitObject", "oid"): "github_tags.commit_sha", ("Tag", "target"): "github_tags.commit_sha",
    ("Query", "user"): "github_users",
    ("User", "__typename"): "github_users.type", ("User", "id"): "github_users.node_id",
    ("User", "name"): "github_users.name", ("User", "email"): "github_users.email",
    ("User", "isSiteAdmin"): "github_users.is_site_admin",
    ("User", "createdAt"): "github_users.created_at",
    ("User", "updatedAt"): "github_users.updated_at",
}


def nested_connections(with_files: bool) -> tuple[str, ...]:
    return (*PAGED_CONNECTIONS, *DEFERRED_CONNECTIONS, *(("files",) if with_files else ()))


def connection_selection(name: str, first: int | str, after: str | None = None) -> str:
    """A nested connection's page with its ``totalCount``, and its ``pageInfo`` only on a
    follow-up (``after`` given): a first page shorter than its count is walked again from the
    start (``complete``), so the hundreds of first pages that are whole carry no cursor."""
    arguments = f"first: {first}" + (f", after: {after}" if after else "")
    paging = f"totalCount {PAGE_INFO}" if after else "totalCount"
    return f"{name}({arguments}) {{ {paging} nodes {{ {NESTED_NODES[name]} }} }}"


def pull_request_selection(with_files: bool) -> str:
    """A pull request's fields: its paged connections with their first page, the deferred ones
    by their count alone (no point: only their nodes are charged)."""
    paged = [name for name in nested_connections(with_files) if name not in DEFERRED_CONNECTIONS]
    nested = " ".join(connection_selection(name, NESTED_PAGE_SIZE[name]) for name in paged)
    counts = " ".join(f"{name} {{ totalCount }}" for name in DEFERRED_CONNECTIONS)
    return f"{PULL_REQUEST_SCALARS} {nested} {counts}"


def page_document(with_files: bool) -> str:
    """A page of a repository's pull requests, most recently updated first."""
    return (
        "query PullRequestPage($owner: String!, $name: String!, $first: Int!, $after: String, "
        "$dryRun: Boolean = false) { rateLimit(dryRun: $dryRun) { cost remaining resetAt } "
        "repository(owner: $owner, name: $name) { pullRequests(first: $first, after: $after, "
        "orderBy: {field: UPDATED_AT, direction: DESC}) { pageInfo { hasNextPage endCursor } "
        f"nodes {{ {pull_request_selection(with_files)} }} }} }} }}"
    )


def single_document(with_files: bool) -> str:
    """One pull request, all over again (after a partial error left part of it empty)."""
    return (
        "query PullRequest($owner: String!, $name: String!, $number: Int!) { "
        f"{RATE_LIMIT} repository(owner: $owner, name: $name) {{ "
        f"pullRequest(number: $number) {{ {pull_request_selection(with_files)} }} }} }}"
    )


def follow_up_document(connection: str) -> str:
    """The next page of one nested connection of one pull request."""
    return (
        f"query PullRequest_{connection}($owner: String!, $name: String!, $number: Int!, "
        f"$first: Int!, $after: String) {{ {RATE_LIMIT} "
        "repository(owner: $owner, name: $name) { pullRequest(number: $number) { "
        f"{connection_selection(connection, '$first', '$after')} }} }} }}"
    )


def parts_document(wanted: list[tuple[int, tuple[str, ...]]]) -> str:
    """The deferred connections (names) of pull requests (numbers), each pull request under
    its alias ``p0``.. (variables ``$n0``..)."""
    variables = "".join(f", $n{i}: Int!" for i in range(len(wanted)))
    fields = " ".join(
        f"p{i}: pullRequest(number: $n{i}) {{ "
        + " ".join(connection_selection(name, NESTED_PAGE_SIZE[name]) for name in names) + " }"
        for i, (_, names) in enumerate(wanted))
    return (f"query PullRequestParts($owner: String!, $name: String!{variables}) {{ "
            f"{RATE_LIMIT} repository(owner: $owner, name: $name) {{ {fields} }} }}")


def issues_document() -> str:
    """A page of a repository's issues updated at or after ``$since``, latest update first."""
    return (
        "query IssuePage($owner: String!, $name: String!, $since: DateTime, $first: Int!, "
        f"$after: String) {{ {RATE_LIMIT} repository(owner: $owner, name: $name) {{ "
        "issues(first: $first, after: $after, filterBy: {since: $since}, "
        "orderBy: {field: UPDATED_AT, direction: DESC}) { pageInfo { hasNextPage endCursor } "
        f"nodes {{ {ISSUE_FIELDS} }} }} }} }}"
    )


def deployment_statuses_document() -> str:
    """A page of a repository's deployments, newest created first, each with its statuses."""
    return (
        "query DeploymentStatuses($owner: String!, $name: String!, $first: Int!, "
        f"$after: String) {{ {RATE_LIMIT} repository(owner: $owner, name: $name) {{ "
        "deployments(first: $first, after: $after, orderBy: {field: CREATED_AT, direction: "
        "DESC}) { pageInfo { hasNextPage endCursor } nodes { id "
        f"statuses(first: {STATUSES_PER_DEPLOYMENT}) {{ totalCount nodes {{ "
        f"{DEPLOYMENT_STATUS_FIELDS} }} }} }} }} }} }}"
    )


# Tags a query: the most a page holds (a tag is one node and no point beside the history).
TAGS_PER_QUERY = 100
TAG_NODES = "name target { __typename oid ... on Tag { target { __typename oid } } }"


def history_document() -> str:
    """A page of the default branch's commits committed at or after ``$since``, newest first,
    with only what ``github_commits`` keeps (no message, no file, no size); while ``$withTags``,
    the page of tags after ``$tagsAfter`` rides along (1 more request of 101: still 1 point)."""
    return (
        "query BranchHistory($owner: String!, $name: String!, $since: GitTimestamp, "
        "$first: Int!, $after: String, $tagsAfter: String, $withTags: Boolean!) { "
        f"{RATE_LIMIT} repository(owner: $owner, name: $name) {{ refs(first: {TAGS_PER_QUERY}, "
        'after: $tagsAfter, refPrefix: "refs/tags/") @include(if: $withTags) { '
        f"pageInfo {{ hasNextPage endCursor }} nodes {{ {TAG_NODES} }} }} "
        "defaultBranchRef { target { ... on Commit { history(first: $first, after: $after, "
        "since: $since) { pageInfo { hasNextPage endCursor } nodes { oid id "
        f"parents(first: {PARENTS_PER_COMMIT}) {{ totalCount nodes {{ oid }} }} "
        f"author {GIT_ACTOR} committer {GIT_ACTOR} signature {{ isValid }} }} }} }} }} }} }} }}"
    )


RELEASE_FIELDS = ("id databaseId tagName name isDraft isPrerelease author { login databaseId } "
                  "releaseAssets { totalCount } createdAt publishedAt")


def releases_document() -> str:
    """A page of a repository's releases, newest created first, with only what
    ``github_releases`` keeps: no release notes (REST's ``body``), no author profile, no assets'
    uploaders."""
    return (
        "query Releases($owner: String!, $name: String!, $first: Int!, $after: String) { "
        f"{RATE_LIMIT} repository(owner: $owner, name: $name) {{ releases(first: $first, "
        "after: $after, orderBy: {field: CREATED_AT, direction: DESC}) { "
        f"pageInfo {{ hasNextPage endCursor }} nodes {{ {RELEASE_FIELDS} }} }} }} }}"
    )


def tags_document() -> str:
    """A page of a repository's tags, each with the object it points at: a commit, or an
    annotated tag whose own target is asked for (REST's /tags names the commit either way)."""
    return (
        "query Tags($owner: String!, $name: String!, $first: Int!, $after: String) { "
        f"{RATE_LIMIT} repository(owner: $owner, name: $name) {{ refs(first: $first, "
        'after: $after, refPrefix: "refs/tags/") { pageInfo { hasNextPage endCursor } '
        f"nodes {{ {TAG_NODES} }} }} }} }}"
    )


USER_FIELDS = "__typename id databaseId login name email isSiteAdmin createdAt updatedAt"


def users_document(count: int) -> str:
    """``count`` people by login (variables ``$u0``..), each under its alias ``u0``.."""
    variables = ", ".join(f"$u{i}: String!" for i in range(count))
    fields = " ".join(f"u{i}: user(login: $u{i}) {{ {USER_FIELDS} }}" for i in range(count))
    return f"query Users({variables}) {{ {RATE_LIMIT} {fields} }}"


def every_document() -> list[str]:
    """Every document the collection can send (for the minimization test)."""
    documents = [*(page_document(files) for files in (False, True)), issues_document(),
                 users_document(USERS_PER_QUERY), deployment_statuses_document(),
                 history_document(), releases_document(), tags_document()]
    documents += [single_document(files) for files in (False, True)]
    documents += [follow_up_document(name) for name in nested_connections(True)]
    documents.append(parts_document([(1, DEFERRED_CONNECTIONS)] * PARTS_PER_QUERY))
    return documents


# -- projection onto the REST shapes the allow-list reads -------------------------------------

NOREPLY = re.compile(r"^(\d+)\+([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


def user_of(actor: dict | None) -> dict | None:
    if not actor:
        return None
    return {"login": actor.get("login"), "id": actor.get("databaseId"),
            "type": actor.get("__typename")}


def git_user_of(git_actor: dict | None) -> dict | None:
    """The account of a commit's author or committer. GraphQL links a Git identity to users
    only, where REST also links apps' bots; their no-reply address names the account."""
    if not git_actor:
        return None
    if git_actor.get("user"):
        return user_of(git_actor["user"])
    match = NOREPLY.match(git_actor.get("email") or "")
    if match and match.group(2).endswith("[bot]"):
        return {"login": match.group(2), "id": int(match.group(1))}
    return None


def pull_request_record(node: dict, repository_id: int) -> dict:
    """A pull request node as REST's /pulls/{number} would give it (what the allow-list reads)."""
    merge_commit = node.get("mergeCommit") or node.get("potentialMergeCommit") or {}
    requested = [r.get("requestedReviewer") or {} for r in node["reviewRequests"]["nodes"]]
    head_repository = node.get("headRepository")
    return {
        "id": node["databaseId"], "node_id": node["id"], "number": node["number"],
        "title": node["title"], "state": "open" if node["state"] == "OPEN" else "closed",
        "draft": node["isDraft"], "locked": node["locked"], "user": user_of(node["author"]),
        "author_association": node["authorAssociation"],
        "labels": [{"name": label["name"]} for label in node["labels"]["nodes"]],
        "assignees": [{"login": user["login"]} for user in node["assignees"]["nodes"]],
        "requested_reviewers": [r for r in requested if r.get("__typename") != "Team"],
        "requested_teams": [r for r in requested if r.get("__typename") == "Team"],
        "head": {"ref": node["headRefName"], "sha": node["headRefOid"],
                 "repo": {"id": head_repository["databaseId"]} if head_repository else None},
        "base": {"ref": node["baseRefName"], "sha": node["baseRefOid"],
                 "repo": {"id": repository_id}},
        "merge_commit_sha": merge_commit.get("oid"), "merged": node["merged"],
        "merged_by": user_of(node.get("mergedBy")),
        "milestone": node.get("milestone"),
        "comments": node["comments"]["totalCount"],
        "review_comments": sum(r["comments"]["totalCount"] for r in node["reviews"]["nodes"]),
        "commits": node["commits"]["totalCount"], "additions": node["additions"],
        "deletions": node["deletions"], "changed_files": node["changedFiles"],
        "created_at": node["createdAt"], "updated_at": node["updatedAt"],
        "closed_at": node["closedAt"], "merged_at": node["mergedAt"],
    }


def issue_record(node: dict) -> dict:
    """An issue node as REST's issue listing gives it (what the allow-list reads)."""
    reason = node.get("stateReason")
    return {
        "id": node["databaseId"], "node_id": node["id"], "number": node["number"],
        "title": node["title"], "state": node["state"].lower(),
        "state_reason": reason.lower() if reason else None, "locked": node["locked"],
        "user": user_of(node["author"]), "author_association": node["authorAssociation"],
        "assignees": [{"login": user["login"]} for user in node["assignees"]["nodes"]],
        "labels": [{"name": label["name"]} for label in node["labels"]["nodes"]],
        "milestone": node.get("milestone"), "comments": node["comments"]["totalCount"],
        "created_at": node["createdAt"], "updated_at": node["updatedAt"],
        "closed_at": node["closedAt"],
    }


def user_profile_record(node: dict) -> dict:
    """A user node as REST's /users/{login} gives it (what the allow-list reads). GraphQL
    answers a hidden email with an empty string, REST with null."""
    return {"id": node["databaseId"], "node_id": node["id"], "login": node["login"],
            "type": node["__typename"], "site_admin": node["isSiteAdmin"], "name": node["name"],
            "email": node["email"] or None, "created_at": node["createdAt"],
            "updated_at": node["updatedAt"]}


def deployment_status_record(node: dict) -> dict:
    """A deployment status node as REST's /statuses lists it, without the ``id`` GraphQL does
    not have."""
    return {"node_id": node["id"], "state": node["state"].lower(),
            "environment": node["environment"], "creator": user_of(node["creator"]),
            "created_at": node["createdAt"], "updated_at": node["updatedAt"]}


def release_record(node: dict) -> dict:
    """A release node as REST's /releases lists it (what the allow-list reads): the assets as a
    list of their count's length, for ``assets_count``; no ``body``, no ``target_commitish``."""
    return {"id": node["databaseId"], "node_id": node["id"], "tag_name": node["tagName"],
            "name": node["name"], "draft": node["isDraft"], "prerelease": node["isPrerelease"],
            "author": user_of(node["author"]),
            "assets": [{}] * node["releaseAssets"]["totalCount"],
            "created_at": node["createdAt"], "published_at": node["publishedAt"]}


def tag_record(node: dict) -> dict | None:
    """A tag ref as REST's /tags lists it; None for one that names no commit within two steps
    (a tag of a tag of a tag, of a tree or a blob: REST's /tags decides those)."""
    target = node.get("target") or {}
    if target.get("__typename") == "Tag":
        target = target.get("target") or {}
    if target.get("__typename") != "Commit":
        return None
    return {"name": node["name"], "commit": {"sha": target["oid"]}}


def review_record(node: dict) -> dict:
    return {"id": node["databaseId"], "node_id": node["id"], "user": user_of(node["author"]),
            "state": node["state"], "commit_id": (node.get("commit") or {}).get("oid"),
            "author_association": node["authorAssociation"], "submitted_at": node["submittedAt"]}


def commit_record(node: dict) -> dict:
    commit = node["commit"]

    def identity(actor: dict | None) -> dict:
        actor = actor or {}
        return {"name": actor.get("name"), "email": actor.get("email"), "date": actor.get("date")}

    return {"sha": commit["oid"],
            "commit": {"author": identity(commit["author"]),
                       "committer": identity(commit["committer"])},
            "author": git_user_of(commit["author"]), "committer": git_user_of(commit["committer"])}


def branch_commit_record(node: dict) -> dict:
    """A default-branch commit node as REST's /commits lists it (what the allow-list reads)."""
    record = commit_record({"commit": node})
    record["node_id"] = node["id"]
    record["parents"] = [{"sha": parent["oid"]} for parent in node["parents"]["nodes"]]
    record["commit"]["verification"] = {"verified": bool((node.get("signature") or {})
                                                         .get("isValid"))}
    return record


def file_record(node: dict) -> dict:
    """A changed file as REST's /files lists it, for ``service_counts`` (path dropped there)."""
    return {"filename": node["path"], "additions": node["additions"],
            "deletions": node["deletions"]}


# -- collecting a repository's pull requests --------------------------------------------------


@dataclass
class RepositoryTarget:
    """The repository whose pull requests are collected, and whether file paths are needed."""

    owner: str
    name: str
    with_files: bool
    # Page size: the largest GitHub allows, halved for good once the server finds it too large.
    first: int = 0
    variables: dict = field(init=False)

    def __post_init__(self) -> None:
        self.first = self.first or PAGE_SIZE
        self.variables = {"owner": self.owner, "name": self.name}

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def pull_request_pages(client: GraphQLClient, target: RepositoryTarget) -> Iterator[list[dict]]:
    """The repository's pull request nodes, a page at a time, most recently updated first, with
    partial errors mended; the caller ``complete``s the ones it keeps and stops when it reaches
    what it has stored."""
    after: str | None = None
    seen_cursors: set[str] = set()
    while True:
        result = _mended_page(client, target, after)
        yield result.data["repository"]["pullRequests"]["nodes"]
        info = result.data["repository"]["pullRequests"]["pageInfo"]
        if not info["hasNextPage"]:
            return
        after = info["endCursor"]
        if not after or after in seen_cursors:
            raise GraphQLPaginationError(
                f"GitHub sent the same page cursor twice while listing the pull requests of "
                f"repository {target.full_name} ({client.http.context.describe()}); the walk "
                "stopped rather than loop. Re-run the sync; if it repeats, reconnect with "
                f"`--api rest` and report it.", context=client.http.context)
        seen_cursors.add(after)


def _page(client: GraphQLClient, target: RepositoryTarget, after: str | None) -> GraphQLResult:
    def run(first: int) -> GraphQLResult:
        result = client.query(page_document(target.with_files),
                              {**target.variables, "first": first, "after": after},
                              what=f"the pull requests of repository {target.full_name}")
        target.first = first  # a size that passed stays for the rest of the walk
        if not result.data.get("repository"):
            raise _partial_error(client, target, result, "the listing")
        return result

    return with_shrinking_page(run, target.first)


def _mended_page(client: GraphQLClient, target: RepositoryTarget, after: str | None
                 ) -> GraphQLResult:
    """A page with every partial error mended: a page that lost a node is fetched again once;
    a pull request left partly empty is fetched again on its own."""
    result = _page(client, target, after)
    if _lost_a_node(result):
        result = _page(client, target, after)
        if _lost_a_node(result):
            raise _partial_error(client, target, result, "a pull request of the listing")
    nodes = result.data["repository"]["pullRequests"]["nodes"]
    broken = _broken_positions(result)
    nodes[:] = [single(client, target, node["number"]) if i in broken else node
                for i, node in enumerate(nodes)]
    return result


def _lost_a_node(result: GraphQLResult) -> bool:
    nodes = result.data["repository"]["pullRequests"]["nodes"]
    broken = _broken_positions(result)
    return None in broken or any(nodes[i] is None for i in broken) or None in nodes


def _broken_positions(result: GraphQLResult) -> set[int | None]:
    """Positions in the page's nodes that an error left empty (None: an error elsewhere)."""
    prefix = ("repository", "pullRequests", "nodes")
    positions: set[int | None] = set()
    for error in result.errors:
        path = error.path
        if tuple(path[:3]) == prefix and len(path) > 3 and isinstance(path[3], int):
            positions.add(path[3])
        elif not (path and path[0] == "rateLimit"):
            positions.add(None)
    return positions


def single(client: GraphQLClient, target: RepositoryTarget, number: int) -> dict:
    """One pull request fetched again; still partial, it is an error naming it."""
    result = client.query(single_document(target.with_files),
                          {**target.variables, "number": number},
                          what=f"pull request #{number} of repository {target.full_name}")
    node = (result.data.get("repository") or {}).get("pullRequest")
    if result.errors or node is None:
        raise _partial_error(client, target, result, f"pull request #{number}")
    return node


def deferred_parts(node: dict) -> tuple[str, ...]:
    """The deferred connections of a pull request node that are not empty."""
    return tuple(name for name in DEFERRED_CONNECTIONS
                 if "nodes" not in node[name] and node[name]["totalCount"])


def fill_deferred(client: GraphQLClient, target: RepositoryTarget, nodes: list[dict]) -> None:
    """Give each node its deferred connections: empty ones as they are, the others' first page
    from ``PullRequestParts`` queries (``complete`` follows them on). A pull request the query
    does not find (deleted since its page) is an error naming it, as a partial page is."""
    wanted = [(node, deferred_parts(node)) for node in nodes]
    for node, names in wanted:
        for name in DEFERRED_CONNECTIONS:
            if name not in names and "nodes" not in node[name]:
                node[name] = {"totalCount": 0, "nodes": []}
    wanted = [(node, names) for node, names in wanted if names]
    size = PARTS_PER_QUERY  # halved for good when GitHub finds a query too large

    def run(first: int) -> int:
        nonlocal size
        chunk = wanted[:first]
        result = client.query(
            parts_document([(node["number"], names) for node, names in chunk]),
            {**target.variables, **{f"n{i}": node["number"] for i, (node, _) in enumerate(chunk)}},
            what=f"the labels, assignees and review requests of {len(chunk)} pull requests of "
                 f"repository {target.full_name}")
        size = first
        found = result.data.get("repository") or {}
        for i, (node, names) in enumerate(chunk):
            parts = found.get(f"p{i}")
            if not parts:
                raise _partial_error(client, target, result, f"pull request #{node['number']}")
            for name in names:
                node[name] = parts[name]
        return len(chunk)

    while wanted:
        del wanted[:with_shrinking_page(run, size)]


def complete(client: GraphQLClient, target: RepositoryTarget, node: dict) -> dict:
    """The node (its deferred connections filled) with each nested connection checked against
    its ``totalCount``: a first page shorter than that (it carries no cursor) is walked again
    from the start by follow-up queries; one still short after two walks is an error naming
    the pull request (never a silently short table)."""
    if any("nodes" not in node[name] for name in DEFERRED_CONNECTIONS):
        fill_deferred(client, target, [node])
    for name in nested_connections(target.with_files):
        connection = node[name]
        nodes = list(connection["nodes"])
        walks = 0
        while not _is_whole(name, nodes, connection["totalCount"]):
            if walks == 2:
                raise GraphQLPaginationError(
                    f"GitHub listed {len(nodes)} of the {connection['totalCount']} {name} of "
                    f"pull request #{node['number']} in repository {target.full_name} "
                    f"({client.http.context.describe()}), twice. Re-run the sync; if it "
                    "repeats, reconnect with `--api rest` and report it.",
                    context=client.http.context)
            nodes = _follow(client, target, node["number"], name,
                            {"hasNextPage": True, "endCursor": None})
            walks += 1
        node[name] = {**connection, "nodes": nodes}
    return node


def _is_whole(name: str, nodes: list, total: int) -> bool:
    if name == "commits" and len(nodes) >= MAX_PULL_REQUEST_COMMITS:
        return True
    return len(nodes) == total


def _follow(client: GraphQLClient, target: RepositoryTarget, number: int, name: str,
            page_info: dict) -> list[dict]:
    """The rest of one nested connection, from ``page_info`` on."""
    nodes: list[dict] = []
    seen: set[str | None] = set()
    while page_info["hasNextPage"]:
        after = page_info["endCursor"]
        if after in seen:
            break  # a cursor that repeats: the count check decides what happens next
        seen.add(after)
        result = client.query(follow_up_document(name),
                              {**target.variables, "number": number, "after": after,
                               "first": NESTED_PAGE_SIZE[name]},
                              what=f"the {name} of pull request #{number} of repository "
                                   f"{target.full_name}")
        pull_request = (result.data.get("repository") or {}).get("pullRequest")
        if result.errors or not pull_request:
            raise _partial_error(client, target, result, f"pull request #{number}")
        nodes += pull_request[name]["nodes"]
        page_info = pull_request[name]["pageInfo"]
    return nodes


def _partial_error(client: GraphQLClient, target: RepositoryTarget, result: GraphQLResult,
                   what: str) -> GraphQLQueryError:
    first = result.errors[0].message if result.errors else "it came back empty"
    return GraphQLQueryError(
        f"GitHub's GraphQL API left {what} of repository {target.full_name} incomplete "
        f"({client.http.context.describe()}): {first}. Nothing of it was stored; re-run the "
        "sync, and if it persists reconnect with `--api rest`.",
        context=client.http.context, api_message=first)


# -- collecting a repository's issues ---------------------------------------------------------


def issue_pages(client: GraphQLClient, target: RepositoryTarget,
                since: str | None) -> Iterator[list[dict]]:
    """The repository's issues updated at or after ``since``, a page at a time, latest update
    first, each with its labels and assignees whole."""
    for connection in _connection_pages(client, target, issues_document(), "issues",
                                        {"since": since}):
        for node in connection["nodes"]:
            _check_whole_issue(client, target, node)
        yield connection["nodes"]


def _connection_pages(client: GraphQLClient, target: RepositoryTarget, document: str,
                      name: str, variables: dict,
                      locate: Callable[[dict], dict | None] | None = None,
                      after: str | None = None) -> Iterator[dict]:
    """Each page of the repository's connection ``name`` (a query of ``document``; ``locate``
    finds it in the repository's answer when it is nested deeper, None: no such connection),
    from the cursor ``after`` on:
    a page with errors is asked once more, then it is an error naming the repository; a
    cursor that repeats stops the walk with an error rather than loop."""
    locate = locate or (lambda repository: repository[name])
    what = f"the {name} of repository {target.full_name}"
    seen_cursors: set[str] = set()
    while True:
        def run(first: int, after: str | None = after) -> GraphQLResult:
            asked = {**target.variables, **variables, "first": first, "after": after}
            result = client.query(document, asked, what=what)
            if result.errors:  # a node GitHub could not resolve this time: once more
                result = client.query(document, asked, what=what)
            if result.errors or not result.data.get("repository"):
                raise _partial_error(client, target, result, f"the {name}")
            return result

        connection = locate(with_shrinking_page(run, PAGE_SIZE).data["repository"])
        if connection is None:
            return
        yield connection
        info = connection["pageInfo"]
        if not info["hasNextPage"]:
            return
        after = info["endCursor"]
        if not after or after in seen_cursors:
            raise GraphQLPaginationError(
                f"GitHub sent the same page cursor twice while listing {what} "
                f"({client.http.context.describe()}); the walk stopped rather than loop. Re-run "
                "the sync; if it repeats, reconnect with `--api rest` and report it.",
                context=client.http.context)
        seen_cursors.add(after)


def _check_whole_issue(client: GraphQLClient, target: RepositoryTarget, node: dict) -> None:
    for name in ISSUE_NESTED_PAGE_SIZE:
        connection = node[name]
        if len(connection["nodes"]) < connection["totalCount"]:
            raise GraphQLPaginationError(
                f"GitHub listed {len(connection['nodes'])} of the {connection['totalCount']} "
                f"{name} of issue #{node['number']} in repository {target.full_name} "
                f"({client.http.context.describe()}); Sieve reads at most "
                f"{ISSUE_NESTED_PAGE_SIZE[name]} and stops rather than store a short row. "
                "Reconnect with `--api rest` for this organization.",
                context=client.http.context)


# -- the people seen in the records ------------------------------------------------------------


def user_pages(client: GraphQLClient, logins: list[str]
               ) -> Generator[list[dict], None, list[str]]:
    """The user accounts among ``logins``, ``USERS_PER_QUERY`` a query, as REST records; returns
    the logins GraphQL did not answer as users (apps' bots and organizations are no ``User``,
    an account may be gone or hidden), for REST's /users/{login} to decide one by one."""
    unresolved: list[str] = []
    for start in range(0, len(logins), USERS_PER_QUERY):
        chunk = logins[start:start + USERS_PER_QUERY]
        result = client.query(users_document(len(chunk)),
                              {f"u{i}": login for i, login in enumerate(chunk)},
                              what=f"{len(chunk)} people seen in the records")
        found = [result.data.get(f"u{i}") for i in range(len(chunk))]
        unresolved += [login for login, node in zip(chunk, found) if not node]
        yield [user_profile_record(node) for node in found if node]
    return unresolved


# -- the statuses of a repository's deployments ----------------------------------------------


def deployment_status_pages(client: GraphQLClient, target: RepositoryTarget,
                            wanted: set[str]) -> Iterator[tuple[str, list[dict] | None]]:
    """(node id, its status nodes) for each deployment whose node id is in ``wanted``, newest
    created first, a hundred deployments a query, until every one is found or the listing
    ends; None for a deployment with more statuses than a page holds (the caller asks REST).
    Deployments are matched by node id, REST's ``node_id``: ``databaseId`` is a 32-bit ``Int``
    that GitHub's numeric ids may outgrow."""
    wanted = set(wanted)
    if not wanted:
        return
    for connection in _connection_pages(client, target, deployment_statuses_document(),
                                        "deployments", {}):
        for node in connection["nodes"]:
            if node["id"] in wanted:
                wanted.discard(node["id"])
                statuses = node["statuses"]
                whole = len(statuses["nodes"]) == statuses["totalCount"]
                yield node["id"], statuses["nodes"] if whole else None
        if not wanted:
            return


# -- releases and tags -------------------------------------------------------------------------


def release_pages(client: GraphQLClient, target: RepositoryTarget) -> Iterator[list[dict]]:
    """The repository's releases as REST records, a hundred a query, newest created first."""
    for connection in _connection_pages(client, target, releases_document(), "releases", {}):
        yield [release_record(node) for node in connection["nodes"]]


# -- the default branch's commits ---------------------------------------------------------


def _history(repository: dict) -> dict | None:
    """The default branch's history in a repository answer; None for an empty repository."""
    return ((repository.get("defaultBranchRef") or {}).get("target") or {}).get("history")


def history_pages(client: GraphQLClient, target: RepositoryTarget, since: str | None,
                  tags: list[dict | None]) -> Iterator[list[dict]]:
    """The default branch's commits committed at or after ``since``, a page at a time, newest
    first, each with its parents whole. Each query also carries the next page of the
    repository's tags while there are more (their records appended to ``tags``, see
    ``tag_record``); the tags left when the history ends come by ``Tags`` queries."""
    variables: dict = {"since": since, "tagsAfter": None, "withTags": True}

    def locate(repository: dict) -> dict | None:
        refs = repository.get("refs")
        if refs is not None:  # this query's page of tags
            tags.extend(tag_record(node) for node in refs["nodes"])
            info = refs["pageInfo"]
            variables.update(withTags=info["hasNextPage"], tagsAfter=info["endCursor"])
        return _history(repository)

    for connection in _connection_pages(client, target, history_document(), "history",
                                        variables, locate=locate):
        for node in connection["nodes"]:
            parents = node["parents"]
            if len(parents["nodes"]) < parents["totalCount"]:
                raise GraphQLPaginationError(
                    f"GitHub listed {len(parents['nodes'])} of the {parents['totalCount']} "
                    f"parents of commit {node['oid']} in repository {target.full_name} "
                    f"({client.http.context.describe()}); Sieve reads at most "
                    f"{PARENTS_PER_COMMIT} and stops rather than store a short row. Reconnect "
                    "with `--api rest` for this organization.", context=client.http.context)
        yield connection["nodes"]
    if variables["withTags"]:
        for connection in _connection_pages(client, target, tags_document(), "tags", {},
                                            locate=lambda repository: repository["refs"],
                                            after=variables["tagsAfter"]):
            tags.extend(tag_record(node) for node in connection["nodes"])
