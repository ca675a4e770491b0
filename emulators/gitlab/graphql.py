"""GitLab GraphQL API emulator at ``/api/graphql`` of the instance root, serving the projects
of ``emulators.github.data`` like the REST emulator beside it.

Queries are parsed, validated against ``graphql_schema.graphql`` (the part of GitLab's schema
Sieve uses, from GitLab's GraphQL API reference) and executed by graphql-core. Covered,
following GitLab's "GraphQL API" page, section Limits (docs.gitlab.com/api/graphql/#limits):

- max page size: a connection answers at most 100 nodes, whatever ``first`` asks;
- max query complexity: 250 for an authenticated request, answered with no data and
  "Query has complexity of N, which exceeds max complexity of 250". The score follows
  GitLab's ``BaseResolver``/``BaseField``: each field 1, a ``sort`` argument 1, a field that
  calls Gitaly 1 more, and a connection's children once more per 100 nodes it may return
  (``child × (1 + page size / 100)``), so a page of 100 doubles what it holds;
- max query size: 10,000 characters ("Query too large");
- ``queryComplexity { score limit }``; opaque cursors with ``pageInfo``; ``updatedAfter``
  (inclusive) and ``sort`` on merge requests; ``project.pipelines`` newest first (no sort
  argument; reference: docs.gitlab.com/api/graphql/reference/#projectpipelines and
  #pipeline; GitLab's ``ResolvesPipelines`` with ``Ci::PipelinesFinder``, the finder REST's
  listing uses too) with ``updatedAfter``/``updatedBefore``, ``status``, ``ref`` and ``sha``
  (each of the last two 2 more points, as ``resolver_complexity`` adds), and the fields of
  ``Types::Ci::PipelineType`` Sieve reads (``refPath`` is ``refs/tags/…`` for a tag, as
  ``Ci::Pipeline#source_ref_path``; ``status`` REST's in upper case; ``duration`` whole
  seconds; ``queuedDuration`` a float); ``notes(filter: ONLY_ACTIVITY)`` for system
  notes, whose ``systemNoteIconName`` is GitLab's (``approval``, ``unapproval``,
  ``issue-close``);
- errors beside data with their ``path`` (a nested field a token may not read).
GraphQL requests count against the same per-user request budget as REST (one each).
Not covered: mutations, multiplexed queries, depth limits, the 30-second timeout.

Fault knobs are on ``GitLabGraphQLFaults`` (``app.graphql.faults``); every answered query is
recorded in ``app.graphql.queries`` with its complexity, and its bytes in
``app.graphql.recorded_answers`` when that is a list.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
    value_from_ast_untyped,
)

from emulators.framework import ApiError, Request, Response
from emulators.github.model import PullRequest

if TYPE_CHECKING:
    from emulators.gitlab.api import GitLabApp

SCHEMA_PATH = Path(__file__).with_name("graphql_schema.graphql")
MAX_COMPLEXITY = 250
MAX_PAGE_SIZE = 100
MAX_QUERY_SIZE = 10_000
# Fields GitLab marks ``calls_gitaly: true``: one more point each.
GITALY_FIELDS = frozenset({"commits", "diffStatsSummary", "commitCount", "commit", "beforeSha"})
# Arguments a resolver charges more for (``ResolvesPipelines.resolver_complexity``): by field.
COSTLY_ARGUMENTS = {"pipelines": {"sha": 2, "ref": 2}}
ICON_BY_EVENT = {"approved": "approval", "unapproved": "unapproval", "closed": "issue-close"}


@functools.cache
def gitlab_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text())


def gid(kind: str, number: int) -> str:
    return f"gid://gitlab/{kind}/{number}"


def query_complexity(document, variables: dict) -> int:
    """GitLab's complexity score of the document's operation (see the module docstring)."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}

    def score(selection_set) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                total += score(fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += score(selection.selection_set)
            elif isinstance(selection, FieldNode):
                total += field_score(selection)
        return total

    def field_score(node: FieldNode) -> int:
        arguments = {a.name.value: value_from_ast_untyped(a.value, variables)
                     for a in node.arguments or ()}
        costly = COSTLY_ARGUMENTS.get(node.name.value, {})
        own = (1 + ("sort" in arguments) + (node.name.value in GITALY_FIELDS)
               + sum(costly.get(name, 0) for name, value in arguments.items() if value))
        children = score(node.selection_set)
        if node.selection_set and ({"first", "last"} & arguments.keys()
                                   or any(s.name.value == "nodes" for s in
                                          node.selection_set.selections
                                          if isinstance(s, FieldNode))):
            size = min(arguments.get("first") or arguments.get("last") or MAX_PAGE_SIZE,
                       MAX_PAGE_SIZE)
            children += children * size // 100
        return own + children

    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return score(operation.selection_set)


def encode_cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"id": str(index)}).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        return int(json.loads(base64.b64decode(cursor))["id"])
    except (ValueError, KeyError, TypeError):
        raise GraphQLError("Please provide a valid cursor") from None


def connection(items: list, render: Callable, first: int | None = None,
               after: str | None = None, **_) -> dict:
    """A cursor-paginated slice of ``items``, at most ``MAX_PAGE_SIZE`` nodes."""
    start = decode_cursor(after) + 1
    size = min(first if first is not None else MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    window = list(range(start, min(start + size, len(items))))
    return {
        "count": len(items), "nodes": [render(items[i]) for i in window],
        "pageInfo": {"hasNextPage": bool(window) and window[-1] < len(items) - 1,
                     "hasPreviousPage": start > 0,
                     "startCursor": encode_cursor(window[0]) if window else None,
                     "endCursor": encode_cursor(window[-1]) if window else None},
    }


@dataclass
class GitLabGraphQLFaults:
    """What tests make the GraphQL API do wrong; each ``[..., times]`` counts down."""

    max_complexity: int = MAX_COMPLEXITY
    # [merge request iid, times]: its commits answered null with an error beside the data.
    partial: list = field(default_factory=lambda: [None, 0])
    # [None, times]: a page after the first names the cursor it was asked for as its end.
    repeat_cursor: list = field(default_factory=lambda: [None, 0])
    # [merge request iid, times]: its notes say there is no next page after the first.
    lying_has_next_page: list = field(default_factory=lambda: [None, 0])
    # Answer 404 at /api/graphql, as an instance with the API switched off would.
    disabled: bool = False

    @staticmethod
    def take(entry: list, key=None) -> bool:
        if entry[1] == 0 or (key is not None and entry[0] != key):
            return False
        entry[1] -= 1
        return True


@dataclass(frozen=True)
class RecordedQuery:
    operation: str | None
    complexity: int


class GitLabGraphQL:
    """The ``POST /api/graphql`` handler of ``GitLabApp``."""

    def __init__(self, app: GitLabApp):
        self.app = app
        self.data = app.data
        self.faults = GitLabGraphQLFaults()
        self.queries: list[RecordedQuery] = []
        self.recorded_answers: list[bytes] | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.faults = GitLabGraphQLFaults()
            self.queries.clear()
            self.recorded_answers = None

    def handle(self, request: Request) -> Response:
        if self.faults.disabled:
            raise ApiError(404, {"message": "404 Not Found"})
        try:
            body = json.loads(request.body or b"{}")
            source, variables = body["query"], body.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, {"errors": [{"message": "Unexpected end of document"}]}) from None
        if len(source) > MAX_QUERY_SIZE:
            return self._answer({"errors": [{"message": "Query too large"}]})
        try:
            document = parse(source)
        except GraphQLError as error:
            return self._answer({"errors": [{"message": error.message}]})
        errors = validate(gitlab_schema(), document)
        if errors:
            return self._answer({"errors": [_formatted(e) for e in errors]})
        complexity = query_complexity(document, variables)
        limit = self.faults.max_complexity
        if complexity > limit:
            return self._answer({"errors": [{"message": f"Query has complexity of {complexity}, "
                                                        f"which exceeds max complexity of {limit}"}]})
        root = {"project": self._project, "users": self._users,
                "queryComplexity": {"score": complexity, "limit": limit}}
        result = execute(gitlab_schema(), document, root, variable_values=variables)
        payload: dict = {"data": result.data}
        if result.errors:
            payload["errors"] = [_formatted(e) for e in result.errors]
        with self._lock:
            self.queries.append(RecordedQuery(_operation_name(document), complexity))
        return self._answer(payload)

    def _answer(self, payload: dict) -> Response:
        response = Response(body=payload)
        if self.recorded_answers is not None:
            self.recorded_answers.append(response.encoded())
        return response

    # -- resolvers ---------------------------------------------------------------------------

    def _project(self, info, fullPath: str) -> dict | None:
        group, _, name = fullPath.partition("/")
        repo = self.data.repo(name, "gitlab") if group == self.app.org.gitlab_group else None
        if repo is None or not self.app.reads_projects():  # hidden from non-members
            return None
        return {"id": gid("Project", repo.repo_id), "fullPath": fullPath,
                "mergeRequests": lambda info, **args: self._merge_requests(repo, args),
                "mergeRequest": lambda info, iid: self._merge_request(repo, iid),
                "pipelines": lambda info, **args: self._pipelines(repo, args)}

    def _merge_requests(self, repo, args: dict) -> dict:
        after = _time(args.get("updatedAfter"))
        mrs = [mr for k in range(1, self.data.item_count(repo) + 1)
               if (mr := self.data.pull_request(repo, k)) is not None
               and (after is None or mr.updated_at >= after)]
        sort = str(args.get("sort") or "created_desc").lower()
        key = (lambda m: (m.updated_at, m.number)) if sort.startswith("updated") else (
            lambda m: (m.created_at, m.number))
        mrs.sort(key=key, reverse=sort.endswith("desc"))
        page = connection(mrs, self._merge_request_json, **args)
        if args.get("after") and self.faults.take(self.faults.repeat_cursor):
            page["pageInfo"]["endCursor"] = args["after"]
        return page

    def _merge_request(self, repo, iid: str) -> dict | None:
        mr = self.data.pull_request(repo, int(iid)) if iid.isdigit() else None
        return self._merge_request_json(mr) if mr is not None else None

    def _merge_request_json(self, mr: PullRequest) -> dict:
        rest = self.app.mr_json(mr, full=True)
        node = {
            "id": gid("MergeRequest", rest["id"]), "iid": str(mr.number),
            "projectId": mr.repo.repo_id, "title": rest["title"], "description": mr.body,
            "descriptionHtml": f"<p>{mr.body}</p>", "state": rest["state"],
            "draft": mr.draft, "createdAt": rest["created_at"], "updatedAt": rest["updated_at"],
            "mergedAt": rest["merged_at"], "closedAt": rest["closed_at"],
            "preparedAt": rest["prepared_at"], "author": self.user(mr.author),
            "mergeUser": self.user(mr.merged_by),
            "sourceBranch": mr.head_ref, "targetBranch": mr.base_ref,
            "sourceProjectId": mr.repo.repo_id, "targetProjectId": mr.repo.repo_id,
            "diffHeadSha": mr.head_sha, "mergeCommitSha": rest["merge_commit_sha"],
            "squashCommitSha": rest["squash_commit_sha"], "milestone": None,
            "detailedMergeStatus": rest["detailed_merge_status"].upper(),
            "userNotesCount": rest["user_notes_count"], "upvotes": 0, "downvotes": 0,
            "diffStatsSummary": {"additions": mr.additions, "deletions": mr.deletions,
                                 "changes": mr.additions + mr.deletions,
                                 "fileCount": len(mr.files)},
            "commitCount": len(mr.commits),
            "assignees": lambda info, **args: connection([], self.user, **args),
            "reviewers": lambda info, **args: connection([r.author for r in mr.reviews],
                                                         self.user, **args),
            "approvedBy": lambda info, **args: connection(self.approvers(mr), self.user, **args),
            "labels": lambda info, **args: connection(list(mr.labels), _label, **args),
            "commits": lambda info, **args: self._commits(mr, args),
            "notes": lambda info, **args: self._notes(mr, args),
        }
        return node

    def _commits(self, mr: PullRequest, args: dict):
        if self.faults.take(self.faults.partial, mr.number):
            raise GraphQLError("You don't have permission to read this merge request's commits")
        rows = [self.app.commit_json(c, mr.repo, with_stats=False) for c in reversed(mr.commits)]
        return connection(rows, _commit, **args)

    def _notes(self, mr: PullRequest, args: dict) -> dict:
        notes = [note for note in self.app.mr_notes(mr)
                 if {"ONLY_ACTIVITY": note["system"], "ONLY_COMMENTS": not note["system"]}
                 .get(args.get("filter") or "ALL_NOTES", True)]
        page = connection(notes, self._note, **args)
        if page["pageInfo"]["hasNextPage"] and self.faults.take(
                self.faults.lying_has_next_page, mr.number):
            page["pageInfo"]["hasNextPage"] = False
        return page

    def _note(self, note: dict) -> dict:
        event = self.app.system_event(note)
        author = note["author"]
        return {"id": gid("Note", note["id"]), "body": note["body"],
                "bodyHtml": f"<p>{note['body']}</p>", "system": note["system"],
                "systemNoteIconName": ICON_BY_EVENT.get(event) if event else None,
                "createdAt": note["created_at"], "updatedAt": note["updated_at"],
                "author": {**author, "id": gid("User", author["id"])} if author else None}

    def _pipelines(self, repo, args: dict) -> dict:
        after, before = _time(args.get("updatedAfter")), _time(args.get("updatedBefore"))
        status, ref, sha = args.get("status"), args.get("ref"), args.get("sha")
        runs = [run for run in self.data.workflow_runs(repo)
                if (after is None or run.updated_at >= after)
                and (before is None or run.updated_at <= before)
                and (status is None or self.app.pipeline_json(run)["status"].upper() == status)
                and (ref is None or run.head_branch == ref)
                and (sha is None or run.head_sha == sha)]
        runs.sort(key=lambda run: run.run_id, reverse=True)
        return connection(runs, self._pipeline, **args)

    def _pipeline(self, run) -> dict:
        rest = self.app.pipeline_detail_json(run)
        branch_or_tag = "refs/tags/" if rest["tag"] else "refs/heads/"
        return {
            "id": gid("Ci::Pipeline", rest["id"]), "iid": str(rest["iid"]), "name": rest["name"],
            "sha": lambda info, format="LONG": rest["sha"][:8] if format == "SHORT" else rest["sha"],
            "beforeSha": rest["before_sha"], "ref": rest["ref"],
            "refPath": branch_or_tag + rest["ref"], "status": rest["status"].upper(),
            "source": rest["source"], "duration": rest["duration"],
            "queuedDuration": rest["queued_duration"], "coverage": rest["coverage"],
            "createdAt": rest["created_at"], "updatedAt": rest["updated_at"],
            "startedAt": rest["started_at"], "finishedAt": rest["finished_at"],
            "committedAt": rest["committed_at"], "user": self.user(run.actor),
            "commit": lambda info: self._pipeline_commit(run),
        }

    def _pipeline_commit(self, run) -> dict | None:
        commit = self.data.commit_by_sha(run.repo, run.head_sha)
        return _commit(self.app.commit_json(commit, run.repo, with_stats=False)) if commit else None

    def _users(self, info, ids=None, usernames=None, **args) -> dict:
        wanted = {int(i.rsplit("/", 1)[1]) for i in ids or () if i.rsplit("/", 1)[1].isdigit()}
        people = [p for p in self.app.org.people if not p.is_deleted
                  and (ids is None or p.gitlab_id in wanted)
                  and (usernames is None or p.gitlab_username in usernames)]
        people.sort(key=lambda p: p.gitlab_id)
        return connection(people, self.user, **args)

    # -- shapes ------------------------------------------------------------------------------

    def approvers(self, mr: PullRequest) -> list:
        """Each approver once, as GitLab keeps one approval per user."""
        seen: dict[int, object] = {}
        for review in mr.reviews:
            if review.state == "APPROVED":
                seen.setdefault(self.app.user_json(review.author)["id"], review.author)
        return list(seen.values())

    def user(self, person) -> dict | None:
        rest = self.app.user_json(person)
        if rest is None:
            return None
        full = self.app.user_full(person) if not person.is_deleted else {}
        return {"id": gid("User", rest["id"]), "username": rest["username"], "name": rest["name"],
                "state": rest["state"], "bot": full.get("bot", False),
                "publicEmail": full.get("public_email"), "createdAt": full.get("created_at"),
                "bio": "", "location": ""}


def _label(name: str) -> dict:
    return {"id": gid("ProjectLabel", sum(map(ord, name))), "title": name, "description": None}


def _commit(rest: dict) -> dict:
    return {"id": gid("CommitPresenter", rest["id"]), "sha": rest["id"],
            "shortId": rest["short_id"], "title": rest["title"], "message": rest["message"],
            "description": rest["message"].partition("\n")[2], "fullTitle": rest["title"],
            "authorName": rest["author_name"], "authorEmail": rest["author_email"],
            "authoredDate": _utc(rest["authored_date"]),
            "committerName": rest["committer_name"], "committerEmail": rest["committer_email"],
            "committedDate": _utc(rest["committed_date"])}


def _utc(text: str) -> str:
    """GitLab's GraphQL ``Time``: ISO 8601 in UTC (REST keeps the committer's offset)."""
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise GraphQLError(f"{value} is not a valid Time") from None


def _operation_name(document) -> str | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            return definition.name.value
    return None


# graphql-ruby's validation codes (GitLab's server), by graphql-core's message.
_VALIDATION_CODES = (("Cannot query field", "undefinedField"),
                     ("Unknown argument", "argumentNotAccepted"),
                     ("Unknown type", "undefinedType"),
                     ("Value '", "argumentLiteralsIncompatible"))


def _formatted(error: GraphQLError) -> dict:
    entry: dict = {"message": error.message,
                   "locations": [{"line": loc.line, "column": loc.column}
                                 for loc in error.locations or ()]}
    if error.path:
        entry["path"] = error.path
    code = next((c for start, c in _VALIDATION_CODES if error.message.startswith(start)), None)
    if code is not None and not error.path:
        entry["extensions"] = {"code": code}
    return entry
