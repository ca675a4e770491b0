"""GitHub GraphQL API (v4) emulator, at ``/graphql`` (github.com) and ``/api/graphql``
(Enterprise Server), serving the organization of ``emulators.github.data``.

Each query is parsed and validated against GitHub's public schema (``graphql_schema/``, from
octokit/graphql-schema, MIT) and executed by graphql-core, so only queries the real service
accepts are answered, with only the fields they select. Covered, following GitHub's "Rate limits
and node limits for the GraphQL API" (docs.github.com/graphql/overview/
rate-limits-and-node-limits-for-the-graphql-api) and "Using pagination in the GraphQL API":

- node limit: ``first``/``last`` required on connections that select nodes, 1..100, at most
  500,000 nodes per query (``MAX_NODE_LIMIT_EXCEEDED``);
- cost: one request per connection with ``first``/``last``, times the page sizes of the
  connections above it; the sum divided by 100 and rounded, at least 1 point. A connection
  that selects only ``totalCount`` is not counted (an assumption: the documentation's examples
  always page; observed costs of such queries agree);
- primary budget: 5,000 points per hour (``rateLimit { cost limit remaining used resetAt
  nodeCount }``, ``dryRun``, ``x-ratelimit-*`` headers with resource ``graphql``), answered 403
  with ``x-ratelimit-remaining: 0`` once spent; GraphQL requests do not spend REST requests;
- secondary limit: 2,000 points per minute, each query one point (403 with ``Retry-After``);
- cursor pagination (opaque cursors, ``pageInfo``), ``orderBy`` on pull requests and issues;
  ``issues(filterBy: {since, states})`` ("issues that have been updated at or after the given
  date", inclusive as REST's ``since``), the issue fields those of REST's issue with
  ``stateReason`` in upper case;
- ``Repository.deployments(orderBy: {field: CREATED_AT, direction}, environments:)``
  (docs.github.com/graphql/reference/objects#deployment, ``DeploymentOrderField`` has only
  ``CREATED_AT``, ascending by default) with each ``Deployment``'s ``statuses``: the records of
  REST's deployment listing and ``/statuses`` under GraphQL's names, ``id`` being REST's
  ``node_id``, states in upper case, no ``databaseId`` on a status and no
  ``production_environment``/``transient_environment`` on a deployment (the schema has
  neither); a ``databaseId`` beyond 32 bits is an error, as graphql-core's ``Int`` makes it;
- ``Repository.defaultBranchRef { target { ... on Commit { history(since:, until:) } } }``
  (docs.github.com/graphql/reference/objects#commit: "history: The linear commit history
  starting from (and including) this commit, in the same order as git log"; ``since``/``until``
  are ``GitTimestamp``s, "not converted in UTC"), each commit with ``oid``, ``id`` (REST's
  ``node_id``), ``parents``, ``author``/``committer`` as ``GitActor``s and ``signature``
  (``GitSignature.isValid``: "True if the signature is valid and verified by GitHub", what
  REST calls ``verification.verified``);
- ``Repository.releases(orderBy: {field: CREATED_AT|NAME, direction})``
  (docs.github.com/graphql/reference/releases: ``Release`` has ``tagName``, ``name``,
  ``isDraft``, ``isPrerelease``, ``author`` (a ``User``), ``releaseAssets``, ``createdAt``,
  ``publishedAt``, the notes as ``description``, and no ``target_commitish``): the records of
  REST's /releases under GraphQL's names, ``id`` being REST's ``node_id``;
- ``Repository.refs(refPrefix: "refs/tags/")`` (docs.github.com/graphql/reference/objects#ref:
  ``name`` "the ref name", ``target`` "the object the ref points to", a ``GitObject``: a
  ``Commit`` for a lightweight tag, a ``Tag`` whose own ``target`` is the commit for an
  annotated one): the tags of REST's /tags, all lightweight, alphabetical;
- ``user(login:)`` (aliased, many per query): the profile REST's ``/users/{login}`` shows, the
  email ``""`` when hidden (``User.email: String!``, "the user's publicly visible profile
  email"); an app's bot or an organization is no ``User`` and answers null with a NOT_FOUND
  error "Could not resolve to a User with the login of '...'." (as reported against the real
  API in graphql/graphql-spec#516 for an organization and refined-github#3133 for a bot);
- errors beside data with their ``path`` and GitHub's ``type`` (``NOT_FOUND``, ``FORBIDDEN``),
  and validation errors with graphql-ruby's codes (``undefinedField``).
Not covered: mutations, subscriptions, the concurrency limit, ``search``, ``node(id:)``.

Fault knobs for tests are on ``GraphQLFaults`` (``app.graphql.faults``); every answered
query is recorded in ``app.graphql.queries`` with its points and node count, and its bytes in
``app.graphql.recorded_answers`` when that is a list.
"""

from __future__ import annotations

import base64
import functools
import json
import math
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
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    execute,
    parse,
    validate,
    value_from_ast_untyped,
    visit,
)

from emulators.framework import ApiError, Request, Response, iso_z
from emulators.github.model import PullRequest
from emulators.model import stable_hex

if TYPE_CHECKING:
    from emulators.github.api import GitHubApp

SCHEMA_PATH = Path(__file__).with_name("graphql_schema") / "schema.graphql"
BUDGET_API = "github_graphql"
MAX_NODES = 500_000
MAX_PAGE = 100
SECONDARY_POINTS_PER_MINUTE = 2000
GHOST_LOGIN, GHOST_ID = "ghost", 10137
# A deployment's state from its latest status (GitHub's ``DeploymentState``: a deployment whose
# latest status is "success" is ACTIVE).
DEPLOYMENT_STATE = {"success": "ACTIVE"}
DOCS = "https://docs.github.com/graphql"


@functools.cache
def github_schema() -> GraphQLSchema:
    """GitHub's schema, built once per process (it takes a few seconds). The published SDL
    repeats two fields of one type, so its own validation is skipped."""
    return build_schema(SCHEMA_PATH.read_text(), assume_valid_sdl=True)


def selected_fields(schema: GraphQLSchema, document) -> set[tuple[str, str]]:
    """Every (type, field) a document selects, fragments and interfaces included."""
    info = TypeInfo(schema)
    found: set[tuple[str, str]] = set()

    class Collect(Visitor):
        def enter_field(self, node, *_):
            parent = info.get_parent_type()
            if parent is not None:
                found.add((parent.name, node.name.value))

    visit(document, TypeInfoVisitor(info, Collect()))
    return found


@dataclass
class QueryCost:
    requests: int = 0
    nodes: int = 0

    @property
    def points(self) -> int:
        return max(1, math.floor(self.requests / 100 + 0.5))


def query_cost(document, variables: dict) -> QueryCost:
    """GitHub's documented arithmetic over the operation's connections (see the docstring)."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    cost = QueryCost()

    def page_size(node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = value_from_ast_untyped(argument.value, variables)
                return value if isinstance(value, int) else None
        return None

    def walk(selection_set, parents: int) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                size = page_size(selection)
                if size is not None:
                    cost.requests += parents
                    cost.nodes += parents * size
                walk(selection.selection_set, parents * size if size else parents)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, parents)
            elif isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set, parents)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, 1)
    return cost


def pagination_problem(document, variables: dict) -> str | None:
    """GitHub's checks of ``first``/``last``: present where nodes are selected, 1..100."""
    problems: list[str] = []

    class Check(Visitor):
        def enter_field(self, node, *_):
            arguments = {a.name.value: value_from_ast_untyped(a.value, variables)
                         for a in node.arguments or ()}
            size = arguments.get("first", arguments.get("last"))
            children = {s.name.value for s in (node.selection_set.selections
                                               if node.selection_set else ())
                        if isinstance(s, FieldNode)}
            if size is None and children & {"nodes", "edges"} and node.name.value != "repository":
                problems.append(f"You must provide a `first` or `last` value to properly "
                                f"paginate the `{node.name.value}` connection.")
            elif isinstance(size, int) and not 1 <= size <= MAX_PAGE:
                problems.append(f"Requesting {size} records on the `{node.name.value}` "
                                f"connection exceeds the `first` limit of {MAX_PAGE} records.")

    visit(document, Check())
    return problems[0] if problems else None


def encode_cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: list, render: Callable, first: int | None = None, after: str | None = None,
               last: int | None = None, **_) -> dict:
    """A cursor-paginated slice of ``items`` as GitHub shapes connections."""
    start = decode_cursor(after) + 1
    window = list(range(start, len(items)))
    if first is not None:
        window = window[:first]
    elif last is not None:
        window = window[-last:]
    nodes = [render(items[i]) for i in window]
    return {
        "totalCount": len(items), "nodes": nodes,
        "edges": [{"cursor": encode_cursor(i), "node": n} for i, n in zip(window, nodes)],
        "pageInfo": {"hasNextPage": bool(window) and window[-1] < len(items) - 1,
                     "hasPreviousPage": start > 0,
                     "startCursor": encode_cursor(window[0]) if window else None,
                     "endCursor": encode_cursor(window[-1]) if window else None},
    }


class TypedError(GraphQLError):
    """An execution error carrying GitHub's ``type`` (NOT_FOUND, FORBIDDEN...)."""

    def __init__(self, message: str, error_type: str):
        super().__init__(message)
        self.error_type = error_type


@dataclass
class GraphQLFaults:
    """What tests make the GraphQL API do wrong; each ``times`` counts down (None: always)."""

    # A nullable field of one pull request answered null with a FORBIDDEN error beside it.
    partial: dict[int, list] = field(default_factory=dict)  # number -> [field, times]
    # The first page's nodes: one of them null with an error (the whole node lost).
    lost_node: list = field(default_factory=lambda: [None, 0])  # [number, times]
    max_nodes: int = MAX_NODES
    # (type, field) pairs an older Enterprise Server does not have.
    missing_fields: set[tuple[str, str]] = field(default_factory=set)
    # [None, times]: a page after the first names the cursor it was asked for as its end.
    repeat_cursor: list = field(default_factory=lambda: [None, 0])
    # number -> [connection, times]: that connection of that pull request says it has no next
    # page after its first page, though its totalCount says otherwise.
    lying_has_next_page: dict[int, list] = field(default_factory=dict)

    def take(self, entry: list | None) -> bool:
        if not entry or entry[1] == 0:
            return False
        if entry[1] is not None:
            entry[1] -= 1
        return True


@dataclass(frozen=True)
class RecordedQuery:
    operation: str | None
    points: int
    nodes: int


class GitHubGraphQL:
    """The ``POST /graphql`` handler of ``GitHubApp``."""

    def __init__(self, app: GitHubApp):
        self.app = app
        self.data = app.data
        self.faults = GraphQLFaults()
        self.queries: list[RecordedQuery] = []
        # Set to a list to keep every answer's bytes (privacy tests scan them).
        self.recorded_answers: list[bytes] | None = None
        self._lock = threading.Lock()
        self._minute: tuple[int, int] = (0, 0)  # (minute, secondary points spent in it)

    def reset(self) -> None:
        with self._lock:
            self.faults = GraphQLFaults()
            self.queries.clear()
            self.recorded_answers = None
            self._minute = (0, 0)

    @property
    def points(self) -> int:
        return sum(q.points for q in self.queries)

    # -- the request ---------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"{}")
            source, variables = body["query"], body.get("variables") or {}
            document = parse(source)
        except (ValueError, KeyError, TypeError, GraphQLError) as problem:
            raise ApiError(400, {"message": "Problems parsing JSON", "documentation_url": DOCS}
                           ) from problem
        request.operation = _operation_name(document) or ""
        refusal = self._refusal(document, variables)
        if refusal is not None:
            return self._answer({"errors": [refusal]})
        cost = query_cost(document, variables)
        if cost.nodes > self.faults.max_nodes:
            return self._answer({"errors": [{
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": f"This query requests up to {cost.nodes:,} possible nodes which "
                           f"exceeds the maximum of {self.faults.max_nodes:,}."}]})
        self._check_secondary_limit()
        dry_run = _dry_run(document, variables)
        state = self._spend(0 if dry_run else cost.points)
        root = {"rateLimit": lambda info, dryRun=False: self._rate_limit(cost, state)}
        if not dry_run:
            root["repository"] = self._repository
            root["user"] = self._user
        result = execute(github_schema(), document, root, variable_values=variables)
        payload: dict = {}
        if result.errors:
            payload["errors"] = [_formatted(error) for error in result.errors]
        payload["data"] = result.data
        with self._lock:
            self.queries.append(RecordedQuery(_operation_name(document), 0 if dry_run
                                              else cost.points, cost.nodes))
        return self._answer(payload)

    def _refusal(self, document, variables: dict) -> dict | None:
        """Validation against the schema (as an older server would see it), then pagination."""
        errors = validate(github_schema(), document)
        missing = selected_fields(github_schema(), document) & self.faults.missing_fields
        if missing:
            type_name, field_name = sorted(missing)[0]
            return {"path": [], "extensions": {"code": "undefinedField", "typeName": type_name,
                                               "fieldName": field_name},
                    "message": f"Field '{field_name}' doesn't exist on type '{type_name}'"}
        if errors:
            return {"extensions": {"code": "undefinedField"}, "message": errors[0].message}
        problem = pagination_problem(document, variables)
        if problem:
            return {"type": "EXCESSIVE_PAGINATION", "message": problem}
        return None

    def _check_secondary_limit(self) -> None:
        minute = int(self.app.rate_limits.now() // 60)
        with self._lock:
            current, spent = self._minute
            spent = spent + 1 if current == minute else 1
            self._minute = (minute, spent)
        if spent > SECONDARY_POINTS_PER_MINUTE:
            raise self.app.secondary_rate_limited(60, None)

    def _spend(self, points: int):
        limits = self.app.rate_limits
        state = limits.state(BUDGET_API)
        if points > state.remaining:
            headers = self._limit_headers(state)
            raise ApiError(403, {"errors": [{
                "type": "RATE_LIMITED",
                "message": f"API rate limit exceeded for user ID {self.app.viewer.github_id}."}]},
                {**headers, "X-RateLimit-Remaining": "0"})
        return limits.spend(BUDGET_API, points)

    def _rate_limit(self, cost: QueryCost, state) -> dict:
        return {"cost": cost.points, "limit": state.limit, "remaining": state.remaining,
                "used": state.used, "nodeCount": cost.nodes,
                "resetAt": iso_z(datetime.fromtimestamp(state.reset_epoch, UTC))}

    def _limit_headers(self, state) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(state.limit), "X-RateLimit-Remaining": str(state.remaining),
                "X-RateLimit-Reset": str(state.reset_epoch),
                "X-RateLimit-Used": str(min(state.used, state.limit)),
                "X-RateLimit-Resource": "graphql"}

    def _answer(self, payload: dict) -> Response:
        state = self.app.rate_limits.state(BUDGET_API)
        response = Response(body=payload, headers=self._limit_headers(state))
        if self.recorded_answers is not None:
            self.recorded_answers.append(response.encoded())
        return response

    # -- the organization as GraphQL objects ---------------------------------------------

    def _repository(self, info, owner: str, name: str, **_) -> dict | None:
        repo = self.data.repo(name, "github") if owner == self.app.org.login else None
        if repo is None:
            raise TypedError(f"Could not resolve to a Repository with the name "
                             f"'{owner}/{name}'.", "NOT_FOUND")
        index = self.data.updated_index(repo)
        numbers = [k for _, k in index]
        pulls = [k for k in numbers if not repo.is_issue_number(k)]
        return {
            "__typename": "Repository", "databaseId": repo.repo_id, "name": repo.name,
            "nameWithOwner": f"{owner}/{repo.name}",
            "pullRequests": lambda info, orderBy=None, **args: self._pull_requests(
                repo, pulls, orderBy, args),
            "pullRequest": lambda info, number, **_: self._pull_request_or_error(repo, number),
            "issues": lambda info, orderBy=None, filterBy=None, **args: self._issues(
                repo, [(at, k) for at, k in index if repo.is_issue_number(k)], orderBy,
                filterBy or {}, args),
            "deployments": lambda info, orderBy=None, environments=None, **args:
                self._deployments(repo, orderBy, environments, args),
            "defaultBranchRef": self._default_branch(repo),
            "releases": lambda info, orderBy=None, **args: self._releases(repo, orderBy, args),
            "refs": lambda info, refPrefix, **args: self._refs(repo, refPrefix, args),
        }

    def _default_branch(self, repo) -> dict | None:
        """``Repository.defaultBranchRef``: its ``target`` the newest commit, whose ``history``
        lists the branch newest first as REST's /commits does, ``since``/``until`` on the commit
        date (GitTimestamp); null for a repository without commits."""
        rows = self.data.default_branch_commits(repo)
        if not rows:
            return None

        def history(info, since=None, until=None, **args) -> dict:
            low, high = (_git_timestamp(t) for t in (since, until))
            wanted = [row for row in rows
                      if (low is None or row[0] >= low) and (high is None or row[0] <= high)]
            return connection(wanted, lambda row: self._branch_commit(repo, row[1]), **args)

        return {"__typename": "Ref", "name": "main", "prefix": "refs/heads/",
                "target": {"__typename": "Commit", "oid": rows[0][1], "history": history}}

    def _branch_commit(self, repo, sha: str) -> dict:
        """A default-branch commit: REST's /commits record under GraphQL's names; a commit made
        through the web interface (committer GitHub) carries GitHub's valid signature."""
        commit = self.data.commit_by_sha(repo, sha)
        rest = self.app.commit_json(commit, repo, "", full=False)
        return {
            **self._pull_request_commit(commit)["commit"], "__typename": "Commit",
            "id": rest["node_id"],
            "parents": lambda info, **args: connection(
                list(commit.parents), lambda parent: {"oid": parent}, **args),
            "signature": ({"__typename": "GpgSignature", "isValid": True,
                           "wasSignedByGitHub": True}
                          if rest["commit"]["verification"]["verified"] else None),
        }

    def _user(self, info, login: str) -> dict:
        """A user account as REST's /users/{login} shows it; apps' bots and organizations are
        no ``User`` (GitHub answers them NOT_FOUND here)."""
        person = self.app.profile_person(login)
        if person is None or person.is_bot:
            raise TypedError(f"Could not resolve to a User with the login of '{login}'.",
                             "NOT_FOUND")
        rest = self.app.user_profile_json(person, "")
        return {"__typename": "User", "id": rest["node_id"], "databaseId": rest["id"],
                "login": rest["login"], "name": rest["name"], "email": rest["email"] or "",
                "isSiteAdmin": rest["site_admin"], "createdAt": rest["created_at"],
                "updatedAt": rest["updated_at"], "bio": "", "company": None, "location": None}

    def _pull_requests(self, repo, numbers: list[int], order_by: dict | None, args: dict) -> dict:
        field_name = (order_by or {}).get("field", "CREATED_AT")
        ordered = list(numbers) if field_name == "UPDATED_AT" else sorted(numbers)
        if (order_by or {}).get("direction", "ASC") == "DESC":
            ordered.reverse()
        page = connection(ordered, lambda k: self._pull_request_node(repo, k), **args)
        if args.get("after") and self.faults.take(self.faults.repeat_cursor):
            page["pageInfo"]["endCursor"] = args["after"]
        return page

    def _releases(self, repo, order_by: dict | None, args: dict) -> dict:
        """``Repository.releases``: by creation (``ReleaseOrderField.CREATED_AT``) or by name,
        oldest first unless ``direction: DESC``."""
        newest_first = self.data.releases(repo)
        if (order_by or {}).get("field", "CREATED_AT") == "NAME":
            newest_first = sorted(newest_first, key=lambda rel: rel.tag, reverse=True)
        descending = (order_by or {}).get("direction", "ASC") == "DESC"
        ordered = newest_first if descending else list(reversed(newest_first))
        return connection(ordered, self._release_json, **args)

    def _release_json(self, rel) -> dict:
        """A release as REST's /releases lists it, under GraphQL's names: REST's ``body`` is
        ``description``, its ``assets`` the ``releaseAssets`` connection, the author a ``User``;
        no ``target_commitish`` (the schema has none)."""
        rest = self.app.release_json(rel, "")
        return {
            "__typename": "Release", "id": rest["node_id"], "databaseId": rest["id"],
            "tagName": rest["tag_name"], "name": rest["name"], "isDraft": rest["draft"],
            "isPrerelease": rest["prerelease"],
            "isLatest": lambda info: rel == self.data.releases(rel.repo)[0],
            "immutable": rest["immutable"], "description": rest["body"],
            "author": self._actor(rel.author), "createdAt": rest["created_at"],
            "publishedAt": rest["published_at"], "updatedAt": rest["updated_at"],
            "releaseAssets": lambda info, **args: connection(rest["assets"], dict, **args),
            "tagCommit": {"__typename": "Commit", "oid": rel.sha},
        }

    def _refs(self, repo, prefix: str, args: dict) -> dict:
        """``Repository.refs(refPrefix:)``: under ``refs/tags/`` the tags REST's /tags lists
        (the organization's are lightweight: each ``target`` the ``Commit`` itself), ``name``
        without the prefix, in alphabetical order (``RefOrderField.ALPHABETICAL``); no other
        prefix is served."""
        tags = sorted(self.data.releases(repo), key=lambda rel: rel.tag) \
            if prefix == "refs/tags/" else []
        return connection(tags, lambda rel: {
            "__typename": "Ref", "id": _node_id("REF", rel.release_id), "name": rel.tag,
            "prefix": prefix, "target": {"__typename": "Commit", "oid": rel.sha}}, **args)

    def _deployments(self, repo, order_by: dict | None, environments: list[str] | None,
                     args: dict) -> dict:
        """``Repository.deployments``: ordered by creation (the only ``DeploymentOrderField``),
        oldest first unless ``direction: DESC``; ``environments`` keeps those named."""
        newest_first = [d for d in self.data.deployments(repo)
                        if not environments or d.environment in environments]
        descending = (order_by or {}).get("direction", "ASC") == "DESC"
        ordered = newest_first if descending else list(reversed(newest_first))
        return connection(ordered, self._deployment_json, **args)

    def _deployment_json(self, d) -> dict:
        """A deployment as REST's listing shows it, under GraphQL's names; REST's
        ``production_environment`` and ``transient_environment`` have no field here."""
        statuses = list(reversed(d.statuses))  # newest first, as REST lists them
        rest = self.app.deployment_json(d, "")
        return {
            "__typename": "Deployment", "id": rest["node_id"], "databaseId": rest["id"],
            "commitOid": d.sha, "task": rest["task"], "environment": d.environment,
            "originalEnvironment": d.environment, "latestEnvironment": d.environment,
            "description": rest["description"], "payload": "{}",
            "state": DEPLOYMENT_STATE.get(d.outcome, d.outcome.upper()),
            "creator": self._actor(d.creator), "createdAt": rest["created_at"],
            "updatedAt": rest["updated_at"],
            "latestStatus": lambda info: self._deployment_status_json(d, statuses[0]),
            "statuses": lambda info, **args: connection(
                statuses, lambda status: self._deployment_status_json(d, status), **args),
        }

    def _deployment_status_json(self, d, status) -> dict:
        """A status as REST's /statuses lists it: no ``databaseId`` in GraphQL, its ``id`` is
        REST's ``node_id``; the state in upper case."""
        return {"__typename": "DeploymentStatus", "id": _node_id("DES", status.status_id),
                "state": status.state.upper(), "environment": d.environment,
                "description": status.description, "creator": self._actor(d.creator),
                "createdAt": iso_z(status.created_at), "updatedAt": iso_z(status.created_at),
                "logUrl": f"https://ci.sieve-demo.example/deploys/{d.deployment_id}",
                "environmentUrl": f"https://{d.environment}.sieve-demo.example"}

    def _issues(self, repo, index: list, order_by: dict | None, filter_by: dict,
                args: dict) -> dict:
        since, states = filter_by.get("since"), filter_by.get("states")
        floor = datetime.fromisoformat(since) if since else None
        issues = [issue for at, k in index if floor is None or at >= floor
                  if (issue := self.data.issue(repo, k)) is not None
                  and (not states or issue.state.upper() in states)]
        if (order_by or {}).get("field", "CREATED_AT") != "UPDATED_AT":
            issues.sort(key=lambda issue: issue.number)
        if (order_by or {}).get("direction", "ASC") == "DESC":
            issues.reverse()
        return connection(issues, self._issue_json, **args)

    def _issue_json(self, issue) -> dict:
        rest = self.app.issue_json(issue, "")
        reason = rest["state_reason"]
        return {
            "__typename": "Issue", "id": rest["node_id"], "databaseId": rest["id"],
            "number": issue.number, "title": rest["title"], "body": issue.body,
            "bodyText": issue.body, "bodyHTML": f"<p>{issue.body}</p>",
            "state": rest["state"].upper(),
            "stateReason": lambda info, **_: reason.upper() if reason else None,
            "locked": rest["locked"], "author": self._actor(issue.author),
            "authorAssociation": rest["author_association"], "milestone": None,
            "createdAt": rest["created_at"], "updatedAt": rest["updated_at"],
            "closedAt": rest["closed_at"],
            "comments": lambda info, **args: connection(list(issue.comments), self._comment,
                                                        **args),
            "labels": lambda info, **args: connection(list(issue.labels),
                                                      lambda n: {"name": n}, **args),
            "assignees": lambda info, **args: connection(
                [issue.assignee] if issue.assignee else [],
                lambda person: {"login": self._actor(person)["login"]}, **args),
        }

    def _pull_request_or_error(self, repo, number: int) -> dict:
        pr = self.data.pull_request(repo, number)
        if pr is None:
            raise TypedError(f"Could not resolve to a PullRequest with the number of {number}.",
                             "NOT_FOUND")
        return self._pull_request_json(pr)

    def _pull_request_node(self, repo, number: int):
        lost = self.faults.lost_node
        if lost[0] == number and self.faults.take(lost):
            return lambda info: _forbidden()
        return self._pull_request_json(self.data.pull_request(repo, number))

    def _pull_request_json(self, pr: PullRequest) -> dict:
        app, repo = self.app, pr.repo
        pr_id = repo.index * 1_000_000 + pr.number
        partial = self.faults.partial.get(pr.number)
        broken = partial[0] if partial and self.faults.take(partial) else None
        merged = pr.merged_at is not None
        node = {
            "__typename": "PullRequest", "id": _node_id("PR", pr_id),
            "databaseId": 2_000_000_000 + pr_id, "number": pr.number, "title": pr.title,
            "body": pr.body, "bodyText": pr.body, "bodyHTML": f"<p>{pr.body}</p>",
            "state": "MERGED" if merged else "CLOSED" if pr.closed_at else "OPEN",
            "isDraft": pr.draft, "locked": False, "author": self._actor(pr.author),
            "authorAssociation": app._association(pr.author),
            "createdAt": iso_z(pr.created_at), "updatedAt": iso_z(pr.updated_at),
            "closedAt": iso_z(pr.closed_at), "mergedAt": iso_z(pr.merged_at), "merged": merged,
            "mergedBy": self._actor(pr.merged_by) if pr.merged_by else None,
            "headRefName": pr.head_ref, "headRefOid": pr.head_sha,
            "headRepository": {"databaseId": repo.repo_id, "name": repo.name},
            "baseRefName": pr.base_ref, "baseRefOid": pr.commits[0].parents[0],
            "mergeCommit": {"oid": pr.merge_commit_sha} if merged and pr.merge_commit_sha else None,
            "potentialMergeCommit": ({"oid": pr.merge_commit_sha}
                                     if not merged and pr.merge_commit_sha else None),
            "milestone": None, "additions": pr.additions, "deletions": pr.deletions,
            "changedFiles": len(pr.files),
            "comments": lambda info, **args: connection(list(pr.comments), self._comment, **args),
            "commits": lambda info, **args: self._nested(pr, "commits", list(pr.commits),
                                                         self._pull_request_commit, args),
            "reviews": lambda info, **args: self._nested(pr, "reviews", list(pr.reviews),
                                                         self._review, args),
            "labels": lambda info, **args: self._nested(pr, "labels", list(pr.labels),
                                                        lambda n: {"name": n}, args),
            "assignees": lambda info, **args: self._nested(pr, "assignees", [], None, args),
            "reviewRequests": lambda info, **args: self._nested(
                pr, "reviewRequests", list(pr.requested_reviewers),
                lambda p: {"requestedReviewer": self._actor(p)}, args),
            "files": lambda info, **args: self._nested(pr, "files", list(pr.files), _file, args),
        }
        if broken:
            node[broken] = lambda info, **_: _forbidden()
        return node

    def _nested(self, pr: PullRequest, name: str, items: list, render, args: dict) -> dict:
        page = connection(items, render, **args)
        lie = self.faults.lying_has_next_page.get(pr.number)
        if lie and lie[0] == name and page["pageInfo"]["hasNextPage"] and self.faults.take(lie):
            page["pageInfo"]["hasNextPage"] = False
        return page

    def _actor(self, person) -> dict | None:
        if person is None:
            return None
        if person.is_deleted:
            return {"__typename": "User", "login": GHOST_LOGIN, "databaseId": GHOST_ID}
        return {"__typename": "Bot" if person.is_bot else "User", "login": person.login,
                "databaseId": person.github_id}

    def _git_actor(self, person, at: datetime) -> dict:
        if person is None:  # committed through the web interface
            return {"name": "GitHub", "email": "noreply@github.com", "date": iso_z(at),
                    "user": {"__typename": "User", "login": "web-flow", "databaseId": 19864447}}
        # GraphQL links a Git identity to user accounts only; apps' bots stay unlinked.
        linked = person.commit_linked and not person.is_bot
        return {"name": person.name, "email": person.commit_email, "date": iso_z(at),
                "user": self._actor(person) if linked else None}

    def _pull_request_commit(self, commit) -> dict:
        return {"commit": {
            "oid": commit.sha, "message": commit.message,
            "messageHeadline": commit.message.split("\n", 1)[0],
            "messageBody": commit.message.split("\n\n", 1)[-1],
            "authoredDate": iso_z(commit.authored_at), "committedDate": iso_z(commit.committed_at),
            "author": self._git_actor(commit.author, commit.authored_at),
            "committer": self._git_actor(commit.committer, commit.committed_at),
            "additions": commit.additions, "deletions": commit.deletions}}

    def _review(self, review) -> dict:
        return {"id": _node_id("PRR", review.review_id), "databaseId": review.review_id,
                "state": review.state, "submittedAt": iso_z(review.submitted_at),
                "author": self._actor(review.author), "body": review.body,
                "bodyText": review.body, "authorAssociation": self.app._association(review.author),
                "commit": {"oid": review.commit_id},
                # The REST emulator counts a review with text as one review comment.
                "comments": lambda info, **args: connection([review.body] if review.body else [],
                                                            lambda b: {"body": b}, **args)}

    def _comment(self, comment) -> dict:
        return {"databaseId": comment.comment_id, "body": comment.body, "bodyText": comment.body,
                "author": self._actor(comment.author), "createdAt": iso_z(comment.created_at)}


def _file(change) -> dict:
    return {"path": change.filename, "additions": change.additions, "deletions": change.deletions,
            "changeType": "ADDED" if change.status == "added" else "MODIFIED"}


def _git_timestamp(text: str | None) -> datetime | None:
    """A GitTimestamp argument; one without an offset is taken as UTC."""
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _forbidden():
    raise TypedError("Resource not accessible by integration", "FORBIDDEN")


def _node_id(kind: str, number: int) -> str:
    """The REST emulator's node ids (``emulators.github.api``), so both APIs agree."""
    return f"{kind}_kw{stable_hex(14, kind, number)}"


def _dry_run(document, variables: dict) -> bool:
    """Whether ``rateLimit(dryRun: ...)`` asks for the cost alone."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for selection in definition.selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value == "rateLimit":
                for argument in selection.arguments or ():
                    if argument.name.value == "dryRun":
                        return bool(value_from_ast_untyped(argument.value, variables))
    return False


def _operation_name(document) -> str | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            return definition.name.value
    return None


def _formatted(error: GraphQLError) -> dict:
    entry = {"message": error.message, "path": error.path,
             "locations": [{"line": loc.line, "column": loc.column}
                           for loc in error.locations or ()]}
    original = error.original_error
    if isinstance(error, TypedError):
        entry["type"] = error.error_type
    elif isinstance(original, TypedError):
        entry["type"] = original.error_type
        entry["message"] = original.message
    return entry
