"""Merge requests, pipelines and users through GitLab's GraphQL API: the documents Sieve sends,
and their answers projected onto the REST shapes the allow-list reads, so the stored tables are
the same.

One query fetches a page of a project's merge requests (oldest update first, from the stream's
cursor) with the approvers, commits, labels, reviewers, diff stats and the system notes that
date approvals and closings; a nested connection longer than its first page is completed by
follow-up queries for that merge request only. Another query fetches a page of a project's
pipelines with what REST only gives per pipeline (user, durations, start and finish), so no
pipeline costs a request of its own. Every field selected is listed in
``FIELD_PURPOSE``; descriptions, note bodies and commit messages are never selected
(``tests/unit/test_gitlab_graphql_documents.py``). Request plan: docs/sources/gitlab.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from resources.http.graphql import (
    GraphQLClient,
    GraphQLPaginationError,
    GraphQLQueryError,
    GraphQLResult,
    QueryTooLargeError,
    with_shrinking_page,
)

PAGE_SIZE = 100
USERS_PAGE_SIZE = 100
NESTED_PAGE_SIZE = {"assignees": 20, "reviewers": 20, "approvedBy": 20, "labels": 20,
                    "commits": 100, "notes": 100}
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
USER = "{ id username }"
NESTED_NODES = {
    "assignees": "id username",
    "reviewers": "id username",
    "approvedBy": "id username",
    "labels": "title",
    "commits": ("sha authorName authorEmail authoredDate committerName committerEmail "
                "committedDate"),
    "notes": f"systemNoteIconName createdAt author {USER}",
}
NESTED_ARGUMENTS = {"notes": "filter: ONLY_ACTIVITY, "}
MERGE_REQUEST_SCALARS = (
    f"id iid projectId title state draft createdAt updatedAt mergedAt closedAt preparedAt "
    f"author {USER} mergeUser {USER} sourceBranch targetBranch sourceProjectId targetProjectId "
    "diffHeadSha mergeCommitSha squashCommitSha milestone { iid } detailedMergeStatus "
    "userNotesCount upvotes downvotes diffStatsSummary { fileCount } commitCount"
)
USER_FIELDS = "id username name state bot publicEmail createdAt"
PIPELINE_FIELDS = (f"id iid sha ref refPath status source duration queuedDuration createdAt "
                   f"updatedAt startedAt finishedAt user {USER}")
# A tag pipeline's ``refPath`` (GitLab's ``Ci::Pipeline#source_ref_path``); REST says ``tag``.
TAG_REF_PREFIX = "refs/tags/"
# System note icons (GitLab's SystemNoteHelper) of the events Sieve keeps.
EVENT_BY_ICON = {"approval": "approved", "unapproval": "unapproved", "issue-close": "closed"}
# GitLab refuses a query over its complexity or size limit with this text and no data.
_TOO_LARGE = re.compile(r"exceeds max complexity|Query too large")

# Allow-list columns the GraphQL API cannot fill without downloading what Sieve must not (a
# description's length needs the description) or has no field for (a commit's parents).
NOT_REQUESTED = {
    "gitlab_merge_requests": ("description_length",),
    "gitlab_mr_commits": ("parent_shas",),
}

# Every field a document selects, by (GraphQL type, field): what it fills or is for.
FIELD_PURPOSE: dict[tuple[str, str], str] = {
    ("Query", "project"): "scope", ("Query", "users"): "gitlab_users",
    ("Project", "mergeRequests"): "gitlab_merge_requests",
    ("Project", "mergeRequest"): "follow-ups",
    ("MergeRequestConnection", "pageInfo"): "pagination",
    ("MergeRequestConnection", "nodes"): "gitlab_merge_requests",
    ("PageInfo", "hasNextPage"): "pagination", ("PageInfo", "endCursor"): "pagination",
    ("MergeRequest", "id"): "gitlab_merge_requests.id",
    ("MergeRequest", "iid"): "gitlab_merge_requests.iid",
    ("MergeRequest", "projectId"): "gitlab_merge_requests.project_id",
    ("MergeRequest", "title"): "gitlab_merge_requests.title",
    ("MergeRequest", "state"): "gitlab_merge_requests.state",
    ("MergeRequest", "draft"): "gitlab_merge_requests.is_draft",
    ("MergeRequest", "createdAt"): "gitlab_merge_requests.created_at",
    ("MergeRequest", "updatedAt"): "gitlab_merge_requests.updated_at",
    ("MergeRequest", "mergedAt"): "gitlab_merge_requests.merged_at",
    ("MergeRequest", "closedAt"): "gitlab_merge_requests.closed_at",
    ("MergeRequest", "preparedAt"): "gitlab_merge_requests.prepared_at",
    ("MergeRequest", "author"): "gitlab_merge_requests.author_*",
    ("MergeRequest", "mergeUser"): "gitlab_merge_requests.merged_by_*",
    ("MergeRequest", "sourceBranch"): "gitlab_merge_requests.source_branch",
    ("MergeRequest", "targetBranch"): "gitlab_merge_requests.target_branch",
    ("MergeRequest", "sourceProjectId"): "gitlab_merge_requests.source_project_id",
    ("MergeRequest", "targetProjectId"): "gitlab_merge_requests.target_project_id",
    ("MergeRequest", "diffHeadSha"): "gitlab_merge_requests.sha",
    ("MergeRequest", "mergeCommitSha"): "gitlab_merge_requests.merge_commit_sha",
    ("MergeRequest", "squashCommitSha"): "gitlab_merge_requests.squash_commit_sha",
    ("MergeRequest", "milestone"): "gitlab_merge_requests.milestone_iid",
    ("Milestone", "iid"): "gitlab_merge_requests.milestone_iid",
    ("MergeRequest", "detailedMergeStatus"): "gitlab_merge_requests.detailed_merge_status",
    ("MergeRequest", "userNotesCount"): "gitlab_merge_requests.user_notes_count",
    ("MergeRequest", "upvotes"): "gitlab_merge_requests.upvotes",
    ("MergeRequest", "downvotes"): "gitlab_merge_requests.downvotes",
    ("MergeRequest", "diffStatsSummary"): "gitlab_merge_requests.changes_count",
    ("DiffStatsSummary", "fileCount"): "gitlab_merge_requests.changes_count",
    ("MergeRequest", "commitCount"): "completeness check",
    ("MergeRequest", "assignees"): "gitlab_merge_requests.assignee_usernames",
    ("MergeRequest", "reviewers"): "gitlab_merge_requests.reviewer_usernames",
    ("MergeRequest", "approvedBy"): "gitlab_mr_approvals",
    ("MergeRequest", "labels"): "gitlab_merge_requests.labels",
    ("MergeRequest", "commits"): "gitlab_mr_commits",
    ("MergeRequest", "notes"): "gitlab_mr_approvals.approved_at",
    ("UserCoreConnection", "pageInfo"): "pagination",
    ("UserCoreConnection", "nodes"): "users",
    ("LabelConnection", "pageInfo"): "pagination", ("LabelConnection", "nodes"): "labels",
    ("CommitConnection", "pageInfo"): "pagination",
    ("CommitConnection", "nodes"): "gitlab_mr_commits",
    ("NoteConnection", "pageInfo"): "pagination",
    ("NoteConnection", "count"): "completeness check",
    ("NoteConnection", "nodes"): "gitlab_mr_approvals.approved_at",
    ("Label", "title"): "gitlab_merge_requests.labels",
    ("UserCore", "id"): "user ids", ("UserCore", "username"): "usernames",
    ("UserCore", "name"): "gitlab_users.name", ("UserCore", "state"): "gitlab_users.state",
    ("UserCore", "bot"): "gitlab_users.is_bot",
    ("UserCore", "publicEmail"): "gitlab_users.public_email",
    ("UserCore", "createdAt"): "gitlab_users.created_at",
    ("Commit", "sha"): "gitlab_mr_commits.sha",
    ("Commit", "authorName"): "gitlab_mr_commits.author_name",
    ("Commit", "authorEmail"): "gitlab_mr_commits.author_email",
    ("Commit", "authoredDate"): "gitlab_mr_commits.authored_at",
    ("Commit", "committerName"): "gitlab_mr_commits.committer_name",
    ("Commit", "committerEmail"): "gitlab_mr_commits.committer_email",
    ("Commit", "committedDate"): "gitlab_mr_commits.committed_at",
    ("Note", "systemNoteIconName"): "event kind (approved, unapproved, closed)",
    ("Note", "createdAt"): "gitlab_mr_approvals.approved_at",
    ("Note", "author"): "gitlab_mr_approvals.approver_id, closed_by_*",
    ("Project", "pipelines"): "gitlab_pipelines",
    ("PipelineConnection", "pageInfo"): "pagination",
    ("PipelineConnection", "nodes"): "gitlab_pipelines",
    ("Pipeline", "id"): "gitlab_pipelines.id", ("Pipeline", "iid"): "gitlab_pipelines.iid",
    ("Pipeline", "sha"): "gitlab_pipelines.sha", ("Pipeline", "ref"): "gitlab_pipelines.ref",
    ("Pipeline", "refPath"): "gitlab_pipelines.is_tag",
    ("Pipeline", "status"): "gitlab_pipelines.status",
    ("Pipeline", "source"): "gitlab_pipelines.source",
    ("Pipeline", "duration"): "gitlab_pipelines.duration_seconds",
    ("Pipeline", "queuedDuration"): "gitlab_pipelines.queued_duration_seconds",
    ("Pipeline", "createdAt"): "gitlab_pipelines.created_at",
    ("Pipeline", "updatedAt"): "gitlab_pipelines.updated_at",
    ("Pipeline", "startedAt"): "gitlab_pipelines.started_at",
    ("Pipeline", "finishedAt"): "gitlab_pipelines.finished_at",
    ("Pipeline", "user"): "gitlab_pipelines.user_*",
}


def nested_selection(name: str, after: bool = False) -> str:
    """One nested connection of a merge request: its first page, or the one after ``$after``."""
    count = " count" if name == "notes" else ""
    cursor = ", after: $after" if after else ""
    return (f"{name}({NESTED_ARGUMENTS.get(name, '')}first: {NESTED_PAGE_SIZE[name]}{cursor}) "
            f"{{ {PAGE_INFO}{count} nodes {{ {NESTED_NODES[name]} }} }}")


def page_document() -> str:
    nested = " ".join(nested_selection(name) for name in NESTED_NODES)
    return (
        "query SieveMergeRequests($fullPath: ID!, $updatedAfter: Time, $first: Int!, "
        "$after: String) { project(fullPath: $fullPath) { mergeRequests(updatedAfter: "
        "$updatedAfter, sort: UPDATED_ASC, first: $first, after: $after) { "
        f"{PAGE_INFO} nodes {{ {MERGE_REQUEST_SCALARS} {nested} }} }} }} }}"
    )


def pipelines_document() -> str:
    """A page of a project's pipelines: GitLab lists them newest first, with no sort argument."""
    return (
        "query SievePipelines($fullPath: ID!, $updatedAfter: Time, $first: Int!, "
        "$after: String) { project(fullPath: $fullPath) { pipelines(updatedAfter: "
        "$updatedAfter, first: $first, after: $after) { "
        f"{PAGE_INFO} nodes {{ {PIPELINE_FIELDS} }} }} }} }}"
    )


def follow_up_document(name: str) -> str:
    return ("query SieveMergeRequestMore($fullPath: ID!, $iid: String!, $after: String) { "
            "project(fullPath: $fullPath) { mergeRequest(iid: $iid) { "
            f"{nested_selection(name, after=True)} }} }} }}")


def users_document() -> str:
    return ("query SieveUsers($ids: [ID!], $first: Int!, $after: String) { users(ids: $ids, "
            f"first: $first, after: $after) {{ {PAGE_INFO} nodes {{ {USER_FIELDS} }} }} }}")


def every_document() -> list[str]:
    return [page_document(), pipelines_document(), users_document(),
            *map(follow_up_document, NESTED_NODES)]


# -- running queries --------------------------------------------------------------------------


def run(client: GraphQLClient, document: str, variables: dict, what: str) -> GraphQLResult:
    """One query, asked again once when errors come beside the data (a node the server could
    not resolve this time); errors that persist fail the sync, naming ``what``, rather than
    leave a table short. A refusal over GitLab's complexity or size limit becomes a
    ``QueryTooLargeError``, which ``with_shrinking_page`` answers with a smaller page."""
    result = None
    for _ in range(2):
        try:
            result = client.query(document, variables, what=what)
        except GraphQLQueryError as error:
            if type(error) is GraphQLQueryError and _TOO_LARGE.search(error.api_message or ""):
                raise QueryTooLargeError(str(error), context=error.context, host=error.host,
                                         endpoint=error.endpoint,
                                         api_message=error.api_message) from None
            raise
        if not result.errors:
            return result
    first = result.errors[0]
    where = ".".join(str(step) for step in first.path) or "the query"
    raise GraphQLQueryError(
        f"GitLab answered the GraphQL query for {what} ({client.http.context.describe()}) "
        f"twice with an error at {where} ({first.message}). Sieve stopped rather than store "
        f"an incomplete table; re-run the sync, and if it persists reconnect with `sieve "
        f"connect {client.http.context.org_slug} gitlab --api rest` and report it.",
        context=client.http.context, endpoint="POST /api/graphql", api_message=first.message)


def merge_request_pages(client: GraphQLClient, full_path: str,
                        updated_after: str | None) -> Iterator[list[dict]]:
    """Each page of the project's merge requests updated after ``updated_after``, oldest
    update first, every nested connection complete."""
    for nodes in project_pages(client, full_path, page_document(), "mergeRequests",
                               updated_after, f"merge requests of {full_path}"):
        yield [complete(client, full_path, node) for node in nodes]


def pipeline_pages(client: GraphQLClient, full_path: str,
                   updated_after: str | None) -> Iterator[list[dict]]:
    """Each page of the project's pipelines updated after ``updated_after``, newest first."""
    yield from project_pages(client, full_path, pipelines_document(), "pipelines",
                             updated_after, f"pipelines of {full_path}")


def project_pages(client: GraphQLClient, full_path: str, document: str, name: str,
                  updated_after: str | None, what: str) -> Iterator[list[dict]]:
    """The nodes of each page of the project's connection ``name``, walked to its end."""
    after: str | None = None
    seen: set[str] = set()
    while True:
        def one_page(first: int, after: str | None = after) -> GraphQLResult:
            variables = {"fullPath": full_path, "updatedAfter": updated_after,
                         "first": first, "after": after}
            return run(client, document, variables, what)

        result = with_shrinking_page(one_page, PAGE_SIZE)
        project = result.data.get("project")
        if project is None:
            raise GraphQLQueryError(
                f"GitLab's GraphQL API does not show project {full_path} "
                f"({client.http.context.describe()}) although its REST API listed it; check "
                "that the token can read it, and re-run the sync.",
                context=client.http.context, endpoint="POST /api/graphql")
        connection = project[name]
        yield connection["nodes"]
        after = next_cursor(connection["pageInfo"], seen, what, client)
        if after is None:
            return


def next_cursor(page_info: dict, seen: set[str], what: str,
                client: GraphQLClient) -> str | None:
    """The cursor of the next page, or None at the end; a cursor met before, or a next page
    without a cursor, is an error rather than an endless or short walk."""
    if not page_info.get("hasNextPage"):
        return None
    cursor = page_info.get("endCursor")
    if not cursor or cursor in seen:
        raise GraphQLPaginationError(
            f"GitLab's GraphQL API sent a {'repeated' if cursor else 'missing'} cursor while "
            f"listing {what} ({client.http.context.describe()}); the walk was stopped. Re-run "
            "the sync; if it repeats, reconnect with `--api rest` and report it.",
            context=client.http.context, endpoint="POST /api/graphql")
    seen.add(cursor)
    return cursor


def complete(client: GraphQLClient, full_path: str, node: dict) -> dict:
    """The merge request with every nested connection walked to its end, and checked against
    the counts GitLab gives beside it."""
    what = f"merge request !{node['iid']} of {full_path}"
    for name in NESTED_NODES:
        page = node[name]
        seen: set[str] = set()
        while (after := next_cursor(page["pageInfo"], seen, what, client)) is not None:
            result = run(client, follow_up_document(name),
                         {"fullPath": full_path, "iid": node["iid"], "after": after}, what)
            more = result.data["project"]["mergeRequest"][name]
            page = {**more, "nodes": page["nodes"] + more["nodes"]}
        node = {**node, name: page}
    expected = {"commits": node.get("commitCount"), "notes": node["notes"].get("count")}
    for name, count in expected.items():
        if count is not None and len(node[name]["nodes"]) < count:
            raise GraphQLPaginationError(
                f"GitLab's GraphQL API gave {len(node[name]['nodes'])} of the {count} {name} "
                f"of {what} ({client.http.context.describe()}): a connection ended early. "
                "Re-run the sync; if it repeats, reconnect with `--api rest` and report it.",
                context=client.http.context, endpoint="POST /api/graphql")
    return node


def users(client: GraphQLClient, user_ids: Iterable[int]) -> Iterator[list[dict]]:
    """The users with these ids, up to a hundred per query, as REST's ``/users/:id`` shapes;
    users GitLab no longer shows are left out, as REST's 404s are skipped."""
    ids = sorted(user_ids)
    for start in range(0, len(ids), USERS_PAGE_SIZE):
        batch = [f"gid://gitlab/User/{user_id}" for user_id in ids[start:start + USERS_PAGE_SIZE]]
        result = run(client, users_document(), {"ids": batch, "first": USERS_PAGE_SIZE},
                     "users")
        records = [user_record(node) for node in result.data["users"]["nodes"] if node]
        if records:
            yield records


# -- projection onto the REST shapes ----------------------------------------------------------


def gid_number(global_id: str | None) -> int | None:
    """``gid://gitlab/User/42`` -> 42."""
    if not global_id:
        return None
    tail = str(global_id).rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def rest_user(node: dict | None) -> dict | None:
    if not node:
        return None
    return {"id": gid_number(node.get("id")), "username": node.get("username")}


def user_record(node: dict) -> dict:
    return {"id": gid_number(node["id"]), "username": node["username"], "name": node["name"],
            "state": node["state"], "bot": node["bot"], "public_email": node["publicEmail"],
            "created_at": node["createdAt"]}


def system_events(notes: Iterable[dict]) -> list[tuple[str, str, dict]]:
    """(event, time, author) of the system notes Sieve keeps; nothing else of a note."""
    events = []
    for note in notes:
        event = EVENT_BY_ICON.get(note.get("systemNoteIconName") or "")
        if event is not None:
            events.append((event, note["createdAt"], rest_user(note.get("author"))))
    return events


def merge_request_record(node: dict, events: list[tuple[str, str, dict]]) -> dict:
    """A merge request as REST's single-MR endpoint shapes it (the fields the allow-list
    reads). ``closed_by`` comes from the last "closed" system note, as GitLab records it."""
    milestone = node.get("milestone")
    stats = node.get("diffStatsSummary") or {}
    status = node.get("detailedMergeStatus")
    return {
        "id": gid_number(node["id"]), "iid": int(node["iid"]), "project_id": node["projectId"],
        "title": node["title"], "state": node["state"], "draft": node["draft"],
        "author": rest_user(node["author"]), "merge_user": rest_user(node["mergeUser"]),
        "closed_by": closed_by(node["state"], events),
        "assignees": [rest_user(u) for u in node["assignees"]["nodes"]],
        "reviewers": [rest_user(u) for u in node["reviewers"]["nodes"]],
        "source_branch": node["sourceBranch"], "target_branch": node["targetBranch"],
        "source_project_id": node["sourceProjectId"],
        "target_project_id": node["targetProjectId"], "sha": node["diffHeadSha"],
        "merge_commit_sha": node["mergeCommitSha"], "squash_commit_sha": node["squashCommitSha"],
        "labels": [label["title"] for label in node["labels"]["nodes"]],
        "milestone": {"iid": int(milestone["iid"])} if milestone else None,
        "detailed_merge_status": status.lower() if status else None,
        "user_notes_count": node["userNotesCount"], "upvotes": node["upvotes"],
        "downvotes": node["downvotes"], "changes_count": stats.get("fileCount"),
        "created_at": node["createdAt"], "updated_at": node["updatedAt"],
        "merged_at": node["mergedAt"], "closed_at": node["closedAt"],
        "prepared_at": node["preparedAt"],
    }


def closed_by(state: str, events: list[tuple[str, str, dict]]) -> dict | None:
    if state != "closed":
        return None
    closings = [author for event, _, author in events if event == "closed"]
    return closings[-1] if closings else None


def approval_records(approvers: Iterable[dict | None],
                     events: list[tuple[str, str, dict]]) -> list[dict]:
    """REST's ``approved_by`` entries, each with the time of that user's last approval."""
    return [{"user": user, "approved_at": approved_at(events, user["id"])}
            for user in approvers if user]


def approved_at(events: list[tuple[str, str, dict]], user_id: int | None) -> str | None:
    """When the user last approved: GitLab keeps one approval per user, renewed on re-approval."""
    times = [at for event, at, author in events
             if event == "approved" and author and author["id"] == user_id]
    return max(times, key=datetime.fromisoformat) if times else None


def pipeline_record(node: dict, project_id: int) -> dict:
    """A pipeline as REST's single-pipeline endpoint shapes it (the fields the allow-list
    reads): numeric ids, REST's lower-case status, ``tag`` from the ref path."""
    return {
        "id": gid_number(node["id"]), "iid": int(node["iid"]), "project_id": project_id,
        "sha": node["sha"], "ref": node["ref"],
        "tag": (node["refPath"] or "").startswith(TAG_REF_PREFIX),
        "status": node["status"].lower(), "source": node["source"],
        "user": rest_user(node["user"]), "duration": node["duration"],
        "queued_duration": node["queuedDuration"], "created_at": node["createdAt"],
        "updated_at": node["updatedAt"], "started_at": node["startedAt"],
        "finished_at": node["finishedAt"],
    }


def commit_record(node: dict) -> dict:
    return {"id": node["sha"], "author_name": node["authorName"],
            "author_email": node["authorEmail"], "authored_date": node["authoredDate"],
            "committer_name": node["committerName"], "committer_email": node["committerEmail"],
            "committed_date": node["committedDate"]}
