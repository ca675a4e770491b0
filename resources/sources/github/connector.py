"""GitHub connector (github.com, or Enterprise Server with a base URL such as
``https://HOST/api/v3``): repositories, pull requests with their reviews and commits, default-
branch commits, issues, deployments and their statuses, releases, tags, Actions workflow runs
and the people seen in them.

Request plan, costs, cursors and known limits: docs/sources/github.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from resources.errors import SieveError
from resources.http import (
    BearerToken,
    ClientStats,
    Deduplicator,
    HttpClient,
    JsonResponse,
    NotFoundError,
    Page,
    PaginationStyle,
    RateLimitTracker,
    RequestRejectedError,
    RetryPolicy,
    Validators,
)
from resources.http.graphql import GraphQLClient, GraphQLUnsupportedError
from resources.sources.connector import Connector, ConnectorContext, RawBatch, incomplete_under
from resources.sources.credentials import connection_auth
from resources.sources.github import graphql
from resources.sources.github.estimate import (
    REPOSITORIES_PER_QUERY,
    Estimate,
    RepositoryCounts,
    counts_document,
    estimate,
)
from resources.storage.org_config import ServiceRule, rules_for_repository, service_of

log = logging.getLogger("sieve.connectors.github")

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PAGE_SIZE = 100
# (connect, read) seconds for one request.
REQUEST_TIMEOUT = (5.0, 30.0)
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)
# A workflow run unfinished for longer than this is treated as abandoned (stuck "queued" runs
# exist); waiting for it would make every sync walk all runs created since.
RUN_WAIT_LIMIT = timedelta(days=3)
# A deployment gets its statuses while it runs (minutes, hours); one created this long before
# the newest change stored is taken as settled, and the listing walk stops there. Missed: a
# status added later to an older one (GitHub's `auto_inactive` marks a superseded non-production
# deployment inactive; no mart reads inactive).
DEPLOYMENT_SETTLE_LIMIT = timedelta(days=3)
# GraphQL queries retry 5xx and timeouts less: a smaller page is the better second try.
GRAPHQL_RETRY = RetryPolicy(max_retries=3)
# The change probe: the newest-updated pull request alone. Any change to a pull request moves
# it to the top, so an unchanged first item (a free 304) means nothing changed.
PULLS_PROBE = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1}
ISSUES_PROBE = PULLS_PROBE
# The releases' probe: the newest created release alone (REST lists them newest first). A new
# release, or a change to the newest, changes it; an edit to an older one alone does not, and
# is stored with the next release (docs/sources/github.md).
RELEASES_PROBE = {"per_page": 1}
# GraphQL pull requests held before their deferred connections are fetched: a bound on memory
# and on the progress a killed sync loses (docs/sources/github.md).
HELD_PULL_REQUESTS = 400
# The runs' pull requests (head and base refs, SHAs, repositories) are not kept: not asked for.
RUNS_LISTING = {"exclude_pull_requests": "true"}

REPOSITORIES = "github_repositories"
PULL_REQUESTS = "github_pull_requests"
REVIEWS = "github_pull_request_reviews"
PULL_REQUEST_COMMITS = "github_pull_request_commits"
PULL_REQUEST_SERVICES = "github_pull_request_services"
COMMITS = "github_commits"
ISSUES = "github_issues"
DEPLOYMENTS = "github_deployments"
DEPLOYMENT_STATUSES = "github_deployment_statuses"
RELEASES = "github_releases"
TAGS = "github_tags"
WORKFLOW_RUNS = "github_workflow_runs"
USERS = "github_users"

REPOSITORIES_STREAM = "repositories"


def services_changed(pages: Iterable, rules: tuple[ServiceRule, ...]) -> list[dict]:
    """Reduce a pull request's changed files, page by page, to counts per service."""
    return service_counts((changed for page in pages for changed in page.items), rules)


def service_counts(files: Iterable[dict], rules: tuple[ServiceRule, ...]) -> list[dict]:
    """Counts per service of the repository's path rules of a pull request's changed files.
    File names and patches are read here and dropped; a file matching no rule counts for no
    service."""
    totals: dict[str, dict] = {}
    for changed in files:
        names = [changed.get("filename"), changed.get("previous_filename")]
        services = {service_of(name, rules) for name in names if name} - {None}
        for service in services:
            entry = totals.setdefault(service, {"service": service, "files_changed": 0,
                                                "additions": 0, "deletions": 0})
            entry["files_changed"] += 1
            entry["additions"] += int(changed.get("additions") or 0)
            entry["deletions"] += int(changed.get("deletions") or 0)
    return [totals[name] for name in sorted(totals)]


UNREADABLE_LISTED_PULL = ("github_pull_requests.updated_at: no readable number and updated_at "
                          "in the listing, record refused")


def listed_pull(pull: dict) -> tuple[datetime, int] | None:
    """Where a listed pull request sits in the walk (updated_at, number), or None when the
    listing's record lacks either: it cannot be placed, so it is refused, not fatal."""
    try:
        number = pull["number"]
        return (parse_timestamp(pull["updated_at"]), number) if isinstance(number, int) else None
    except (KeyError, TypeError, ValueError):
        return None


def graphql_url(base_url: str) -> str:
    """GitHub's GraphQL endpoint beside a REST root: ``https://api.github.com/graphql``, or
    ``https://HOST/api/graphql`` for an Enterprise Server's ``https://HOST/api/v3``."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    path = path[: -len("/v3")] + "/graphql" if path.endswith("/api/v3") else path + "/graphql"
    return urlunsplit(parts._replace(path=path))


def parse_timestamp(text: str) -> datetime:
    """GitHub's ISO 8601 UTC timestamps ("2024-05-01T10:00:00Z") as aware datetimes."""
    return datetime.fromisoformat(text)


def format_timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class HighWaterMark:
    """How far a stream ordered by ``updated_at`` has been stored: the newest ``updated_at``
    and the keys of the items stored at exactly that instant.

    GitHub's timestamps have one-second resolution, so an item updated in the same second as
    the newest one stored, but after it was read, shares the mark; the keys tell the two apart,
    so such an item is neither skipped nor is the stored one fetched again.
    """

    at: datetime | None = None
    keys: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str | None) -> HighWaterMark:
        return cls.from_json(json.loads(text)) if text else cls()

    @classmethod
    def from_json(cls, value: dict | None) -> HighWaterMark:
        return cls(parse_timestamp(value["at"]), set(value["keys"])) if value else cls()

    def to_json(self) -> dict | None:
        if self.at is None:
            return None
        return {"at": format_timestamp(self.at), "keys": sorted(self.keys)}

    def dumps(self) -> str | None:
        return json.dumps(self.to_json()) if self.at is not None else None

    def copy(self) -> HighWaterMark:
        return HighWaterMark(self.at, set(self.keys))

    def is_past(self, at: datetime) -> bool:
        """Whether an item updated at ``at`` is older than everything not yet stored."""
        return self.at is not None and at < self.at

    def is_new(self, at: datetime, key: str) -> bool:
        return self.at is None or at > self.at or (at == self.at and key not in self.keys)

    def advance(self, at: datetime, key: str) -> None:
        if self.at is None or at > self.at:
            self.at, self.keys = at, {key}
        elif at == self.at:
            self.keys.add(key)

    # The same arithmetic mirrored, for the lower bound of a walk in progress.

    def is_under(self, at: datetime, key: str) -> bool:
        return self.at is None or at < self.at or (at == self.at and key not in self.keys)

    def lower(self, at: datetime, key: str) -> None:
        if self.at is None or at < self.at:
            self.at, self.keys = at, {key}
        elif at == self.at:
            self.keys.add(key)


@dataclass
class NewestFirstWalk:
    """The cursor of a listing walked newest ``updated_at`` first, resumable after a kill.

    ``done`` is where the last complete walk ended. A walk stores items newest first, so
    ``done`` can only move once it ends; until then ``top`` and ``floor`` bound the span it has
    stored (every item it needed between them) and are committed page by page, so a rerun
    skips that span: it fetches what changed above ``top``, then continues below ``floor``.
    """

    done: HighWaterMark = field(default_factory=HighWaterMark)
    top: HighWaterMark = field(default_factory=HighWaterMark)
    floor: HighWaterMark = field(default_factory=HighWaterMark)

    @classmethod
    def parse(cls, text: str | None) -> NewestFirstWalk:
        if not text:
            return cls()
        value = json.loads(text)
        return cls(*(HighWaterMark.from_json(value.get(name)) for name in ("done", "top", "floor")))

    def dumps(self) -> str:
        marks = ("done", "top", "floor")
        return json.dumps({name: getattr(self, name).to_json() for name in marks})

    def copy(self) -> NewestFirstWalk:
        return NewestFirstWalk(self.done.copy(), self.top.copy(), self.floor.copy())

    def needs(self, at: datetime, key: str) -> bool:
        """Whether the item must be fetched: changed since it was stored, or never stored."""
        if self.top.at is not None:
            if self.top.is_new(at, key):
                return True
            if not self.floor.is_under(at, key):
                return False
        return self.done.is_new(at, key)

    def is_past(self, at: datetime) -> bool:
        """Whether the walk can stop: this item and every older one are stored."""
        return self.done.is_past(at)

    def stored(self, at: datetime, key: str) -> None:
        self.top.advance(at, key)
        self.floor.lower(at, key)

    def completed(self) -> NewestFirstWalk:
        done = self.done.copy()
        for key in self.top.keys:
            done.advance(self.top.at, key)
        return NewestFirstWalk(done)


@dataclass(frozen=True)
class RepositoryRef:
    """What the per-repository walk needs to know of a repository."""

    id: int
    full_name: str
    pushed_at: str | None

    @classmethod
    def of(cls, record: dict) -> RepositoryRef:
        return cls(record["id"], record["full_name"], record.get("pushed_at"))


def dump_repository_index(repositories: list[RepositoryRef]) -> str:
    return json.dumps([[r.id, r.full_name, r.pushed_at] for r in repositories])


def parse_repository_index(text: str | None) -> list[RepositoryRef]:
    return [RepositoryRef(*entry) for entry in json.loads(text)] if text else []


def repository_index_batch(found: list[RepositoryRef], validators: tuple[Validators, ...]
                           ) -> RawBatch:
    """The repositories' last batch: the index and its listing's validators, committed together
    so that a 304 always finds the index it stands for."""
    return RawBatch(REPOSITORIES, [], cursors={REPOSITORIES_STREAM: dump_repository_index(found)},
                    validators=validators)


def deploy_workflows(workflows: list[list], patterns: tuple[str, ...]) -> list[int]:
    """The ids of the workflows ([id, name] pairs) whose name matches one of the production
    workflow patterns, matched anywhere in the name as dbt's ``matches_any`` does."""
    return [workflow_id for workflow_id, name in workflows
            if any(re.search(pattern, name) for pattern in patterns)]


def run_floor(newest_created: datetime, oldest_unfinished: datetime | None) -> datetime:
    """Where the next walk of workflow runs (newest created first) may stop."""
    if oldest_unfinished is not None and oldest_unfinished >= newest_created - RUN_WAIT_LIMIT:
        return oldest_unfinished
    return newest_created


class GitHubConnector(Connector):
    source = "github"
    entities = (REPOSITORIES, PULL_REQUESTS, REVIEWS, PULL_REQUEST_COMMITS, PULL_REQUEST_SERVICES,
                COMMITS, ISSUES,
                DEPLOYMENTS, DEPLOYMENT_STATUSES, RELEASES, TAGS, WORKFLOW_RUNS, USERS)

    def __init__(self, context: ConnectorContext):
        super().__init__(context)
        self._client: HttpClient | None = None
        self._graphql_client: GraphQLClient | None = None
        # Pull requests and issues via GraphQL unless the connection says REST or the server
        # lacks it.
        self._use_graphql = (context.settings.get("api") or "rest") == "graphql"
        # Logins referenced by the records fetched in this sync, in first-seen order.
        self._logins: dict[str, None] = {}

    # -- Connector -------------------------------------------------------------------------

    def check(self) -> str:
        owner = self._owner()
        with self._new_client(CHECK_RETRY) as client:
            try:
                client.get_json(f"/orgs/{owner}")
                kind = "organization"
            except NotFoundError:
                client.get_json(f"/users/{owner}")
                kind = "user account"
            return f"GitHub {kind} {owner!r} on {urlsplit(client.base_url).netloc}"

    def fetch(self) -> Iterator[RawBatch]:
        try:
            repositories = yield from self._repositories()
            for repo in repositories:
                yield from self._pull_requests(repo)
                yield from self._optional(self._issues(repo), repo, "issues")
                yield from self._default_branch(repo)
                yield from self._deployments(repo)
                yield from self._releases(repo)
                yield from self._optional(self._workflow_runs(repo), repo, "workflow runs")
            yield from self._users()
        finally:
            for client in (self._client, self._graphql_client and self._graphql_client.http):
                if client is not None:
                    client.close()

    def estimate(self) -> Estimate:
        """What a first sync would cost (``sieve sync --estimate``), from counts alone."""
        names, listing_requests = self._repository_names()
        rules_of = {name: rules_for_repository(self.context.services, name) for name in names}
        counts: list[RepositoryCounts] = []
        points_per_hour = 0
        for start in range(0, len(names), REPOSITORIES_PER_QUERY):
            chunk = names[start:start + REPOSITORIES_PER_QUERY]
            result = self._graphql().query(
                counts_document([tuple(name.split("/", 1)) for name in chunk]), {},
                what=f"the sizes of {len(chunk)} repositories")
            points_per_hour = result.data["rateLimit"]["limit"]
            for i, name in enumerate(chunk):
                found = result.data.get(f"r{i}") or {}
                total = {key: (found.get(key) or {}).get("totalCount", 0)
                         for key in ("pullRequests", "issues", "deployments")}
                counts.append(RepositoryCounts(name, total["pullRequests"], total["issues"],
                                               total["deployments"], bool(rules_of[name])))
        core = self._http().get_json("/rate_limit").data["resources"]["core"]
        api = "graphql" if self._use_graphql else "rest"
        return estimate(api, counts, listing_requests, points_per_hour, core["limit"])

    def _repository_names(self) -> tuple[list[str], int]:
        """The connection's repositories, and the requests it took to list them."""
        owner = self._owner()
        configured = self.context.settings.get("repos") or []
        if configured:
            return [f"{owner}/{name}" for name in configured], 0
        names, requests = [], 0
        try:
            pages = self._pages(f"/orgs/{owner}/repos", {"type": "all"})
            first = next(pages)
        except NotFoundError:
            pages = self._pages(f"/users/{owner}/repos", {"type": "owner"})
            first = next(pages)
        for page in (first, *pages):
            requests += 1
            names += [record["full_name"] for record in page.items]
        return names, requests

    def stats(self) -> ClientStats | None:
        clients = [c for c in (self._client, self._graphql_client and self._graphql_client.http)
                   if c is not None]
        if not clients:
            return None
        totals = ClientStats()
        for stats in (client.stats for client in clients):
            for name, value in vars(stats).items():
                setattr(totals, name, getattr(totals, name) + value)
        return totals

    # -- plumbing --------------------------------------------------------------------------

    def _owner(self) -> str:
        owner = (self.context.settings.get("owner") or "").strip()
        if not owner:
            slug = self.context.org_slug
            raise SieveError(
                f"GitHub connection {self.context.connection.id!r} of organization {slug!r} "
                f"names no owner. Re-connect with `sieve connect {slug} github --owner "
                "ORG_OR_USER --token-env VAR`."
            )
        return owner

    def _http(self) -> HttpClient:
        """The sync's client, whose retries wait out a full rate-limit window if need be."""
        if self._client is None:
            self._client = self._new_client(RetryPolicy())
        return self._client

    def _graphql(self) -> GraphQLClient:
        """The sync's GraphQL client: its own rate-limit tracker, as its points are a budget of
        their own beside the token's REST requests."""
        if self._graphql_client is None:
            tracker = RateLimitTracker()
            http = self._new_client(GRAPHQL_RETRY, tracker)
            self._graphql_client = GraphQLClient(http, graphql_url(http.base_url), tracker)
        return self._graphql_client

    def _new_client(self, retry: RetryPolicy, tracker: RateLimitTracker | None = None
                    ) -> HttpClient:
        context = self.context
        return self.http_client(
            context.settings.get("base_url") or DEFAULT_BASE_URL,
            connection_auth(context, lambda credentials: BearerToken(credentials["token"].reveal())),
            retry=retry, timeout=REQUEST_TIMEOUT, rate_limits=tracker,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION})

    def _pages(self, path: str, params: dict | None = None, *, conditional_key: str | None = None,
               items_field: str | None = None) -> Iterator[Page]:
        return self._http().paginate(
            path, {"per_page": PAGE_SIZE, **(params or {})}, style=PaginationStyle.GITHUB,
            items_field=items_field, conditional_key=conditional_key)

    def _probe(self, repo: RepositoryRef, listing: str, params: dict) -> JsonResponse:
        """The listing's first item, conditional on the ETag stored with the stream it guards:
        a 304 (free) says nothing changed."""
        return self._http().get_json(f"/repos/{repo.full_name}/{listing}", params,
                                     conditional_key=f"{listing}-probe:{repo.id}")

    def _optional(self, batches: Iterator[RawBatch], repo: RepositoryRef, what: str
                  ) -> Iterator[RawBatch]:
        """A repository's stream that a 404/410 skips: issues or Actions can be disabled."""
        try:
            yield from batches
        except NotFoundError:
            log.info("GitHub repository %s: %s not available there; skipped", repo.id, what)

    def _cursor(self, stream: str) -> str | None:
        return self.context.state.cursor(stream)

    def _note_people(self, records: list[dict], *fields: str) -> None:
        """Remember the logins in ``fields`` (user objects or lists of them) for /users."""
        for record in records:
            for name in fields:
                value = record.get(name)
                for user in value if isinstance(value, list) else (value,):
                    if isinstance(user, dict) and user.get("login"):
                        self._logins[user["login"]] = None

    def _user_validator_key(self, login: str) -> str:
        salted = f"{self.context.connection.id}\0{login}".encode()
        return "user:" + hashlib.sha256(salted).hexdigest()[:32]

    # -- repositories ----------------------------------------------------------------------

    def _repositories(self) -> Generator[RawBatch, None, list[RepositoryRef]]:
        known = parse_repository_index(self._cursor(REPOSITORIES_STREAM))
        names = self.context.settings.get("repos") or []
        if names:
            return (yield from self._configured_repositories(names, known))
        return (yield from self._owner_repositories(known))

    def _owner_repositories(self, known: list[RepositoryRef]
                            ) -> Generator[RawBatch, None, list[RepositoryRef]]:
        found: list[RepositoryRef] = []
        validators: tuple[Validators, ...] = ()
        unique = Deduplicator(lambda record: record["id"])
        for page in self._owner_repository_pages():
            if page.not_modified:
                yield RawBatch(REPOSITORIES, [], not_modified=True)
                return known
            validators = (page.validators,) if page.validators else validators
            found += [RepositoryRef.of(record) for record in unique.fresh(page.items)]
            yield RawBatch(REPOSITORIES, page.items)
        yield repository_index_batch(found, validators)
        return found

    def _owner_repository_pages(self) -> Iterator[Page]:
        owner = self._owner()
        params = {"sort": "pushed", "direction": "desc"}
        try:
            pages = self._pages(f"/orgs/{owner}/repos", {**params, "type": "all"},
                                conditional_key=REPOSITORIES_STREAM)
            first = next(pages)
        except NotFoundError:
            # Not an organization: the owner is a user account.
            pages = self._pages(f"/users/{owner}/repos", {**params, "type": "owner"},
                                conditional_key=REPOSITORIES_STREAM)
            first = next(pages)
        yield first
        yield from pages

    def _configured_repositories(self, names: list[str], known: list[RepositoryRef]
                                 ) -> Generator[RawBatch, None, list[RepositoryRef]]:
        owner = self._owner()
        by_name = {ref.full_name.lower(): ref for ref in known}
        found: list[RepositoryRef] = []
        validators: list[Validators] = []
        for name in names:
            full_name = f"{owner}/{name}"
            response = self._http().get_json(f"/repos/{full_name}",
                                             conditional_key=f"repository:{full_name}")
            if response.not_modified:
                # Its validator was committed with the index that holds it.
                found.append(by_name[full_name.lower()])
                yield RawBatch(REPOSITORIES, [], not_modified=True)
                continue
            found.append(RepositoryRef.of(response.data))
            if response.validators:
                validators.append(response.validators)
            yield RawBatch(REPOSITORIES, [response.data])
        yield repository_index_batch(found, tuple(validators))
        return found

    # -- pull requests ---------------------------------------------------------------------

    def _pull_requests(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        yield from self._either_api(self._graphql_pull_requests, self._rest_pull_requests, repo)

    def _either_api(self, through_graphql: Callable[[RepositoryRef], Iterator[RawBatch]],
                    through_rest: Callable[[RepositoryRef], Iterator[RawBatch]],
                    repo: RepositoryRef) -> Iterator[RawBatch]:
        """The stream through GraphQL, or through REST where the connection or the server
        says so. A schema that lacks a field fails the first query, before any batch."""
        if self._use_graphql:
            try:
                yield from through_graphql(repo)
                return
            except GraphQLUnsupportedError as error:
                self._fall_back_to_rest(error)
        yield from through_rest(repo)

    def _fall_back_to_rest(self, error: GraphQLUnsupportedError) -> None:
        """Once per sync: every later repository goes straight to REST."""
        self._use_graphql = False
        log.warning("%s Pull requests, issues, commits, deployment statuses, releases, tags "
                    "and people are collected through the REST API.", error)

    def _rest_pull_requests(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        stream = f"pulls:{repo.id}"
        yield from self._pending_pull_requests(repo, f"pending:{stream}")
        stored = NewestFirstWalk.parse(self._cursor(stream))
        progress = stored.copy()
        validators: tuple[Validators, ...] = ()
        unique = Deduplicator(lambda pull: pull["number"])
        params = {"state": "all", "sort": "updated", "direction": "desc"}
        for page in self._pages(f"/repos/{repo.full_name}/pulls", params, conditional_key=stream):
            if page.not_modified:
                yield RawBatch(PULL_REQUESTS, [], not_modified=True)
                return
            validators = (page.validators,) if page.validators else validators
            changed: dict[int, int] = {}
            reached_stored = False
            listed = [(pull, listed_pull(pull)) for pull in page.items]
            unreadable = sum(1 for _, place in listed if place is None)
            if unreadable:
                yield RawBatch(PULL_REQUESTS, [], refused=(UNREADABLE_LISTED_PULL,) * unreadable)
            for pull in unique.fresh([pull for pull, place in listed if place is not None]):
                updated, number = listed_pull(pull)
                if stored.is_past(updated):
                    reached_stored = True
                    break
                if stored.needs(updated, str(number)):
                    changed[number] = pull.get("id")
                    progress.stored(updated, str(number))
            if changed:
                failed = yield from self._changed_pull_requests(repo, changed)
                yield self._walk_progress(stream, progress, failed)
            if reached_stored:
                break
        yield RawBatch(PULL_REQUESTS, [], cursors={stream: progress.completed().dumps()},
                       validators=validators)

    def _walk_progress(self, stream: str, progress: NewestFirstWalk,
                       failed: dict[int, int]) -> RawBatch:
        """The walk's progress, with the pull requests it could not fetch kept pending: the
        cursor moves past them, so they are remembered to be fetched by the next sync."""
        cursors = {stream: progress.dumps()}
        if failed:
            pending = json.loads(self._cursor(f"pending:{stream}") or "{}")
            failed_now = {str(number): pull_id for number, pull_id in failed.items()}
            cursors[f"pending:{stream}"] = json.dumps({**pending, **failed_now})
        return RawBatch(PULL_REQUESTS, [], cursors=cursors,
                        failed_keys=tuple((pull_id,) for pull_id in failed.values()))

    def _pending_pull_requests(self, repo: RepositoryRef, pending_stream: str
                               ) -> Iterator[RawBatch]:
        """Fetch the pull requests an earlier sync could not. One that answers 404 again was
        deleted upstream: it is dropped here, and the weekly reconciliation of the out-of-date
        job removes whatever of it is stored."""
        pending = {int(number): pull_id for number, pull_id in
                   json.loads(self._cursor(pending_stream) or "{}").items()}
        if not pending:
            return
        gone = yield from self._changed_pull_requests(repo, pending)
        if gone:
            log.info("GitHub repository %s: %d pull request(s) answered 404 twice; treated as "
                     "deleted upstream", repo.id, len(gone))
        yield RawBatch(PULL_REQUESTS, [], cursors={pending_stream: "{}"})

    def _changed_pull_requests(self, repo: RepositoryRef, changed: dict[int, int]
                               ) -> Generator[RawBatch, None, dict[int, int]]:
        """Each pull request (number → id) whole: detail, reviews, commits, services. Those
        that answered 404 somewhere are returned, so the caller keeps them pending."""
        failed: dict[int, int] = {}
        for number, pull_id in changed.items():
            try:
                yield from self._pull_request(repo, number)
            except NotFoundError:
                log.info("GitHub repository %s: pull request %s answered 404; kept pending",
                         repo.id, number)
                failed[number] = pull_id
                yield from incomplete_under({"repository_id": repo.id, "pull_number": number},
                                            REVIEWS, PULL_REQUEST_COMMITS, PULL_REQUEST_SERVICES)
        return failed

    def _pull_request(self, repo: RepositoryRef, number: int) -> Iterator[RawBatch]:
        base = f"/repos/{repo.full_name}/pulls/{number}"
        detail = self._http().get_json(base).data
        self._note_people([detail], "user", "merged_by", "assignees")
        yield RawBatch(PULL_REQUESTS, [detail])
        parent = {"repository_id": repo.id, "pull_number": number}
        for page in self._pages(f"{base}/reviews"):
            self._note_people(page.items, "user")
            yield RawBatch(REVIEWS, page.items, parent=parent)
        for page in self._pages(f"{base}/commits"):
            self._note_people(page.items, "author", "committer")
            yield RawBatch(PULL_REQUEST_COMMITS, page.items, parent=parent)
        rules = rules_for_repository(self.context.services, repo.full_name)
        if rules:
            yield RawBatch(PULL_REQUEST_SERVICES,
                           services_changed(self._pages(f"{base}/files"), rules),
                           parent=parent)

    def _graphql_pull_requests(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        """The REST walk's cursor and batches, with GraphQL pages instead of REST listings and
        details, spent only when the free conditional probe says something changed."""
        stream = f"pulls:{repo.id}"
        probe = self._probe(repo, "pulls", PULLS_PROBE)
        if probe.not_modified:
            yield RawBatch(PULL_REQUESTS, [], not_modified=True)
            return
        stored = NewestFirstWalk.parse(self._cursor(stream))
        progress = stored.copy()
        rules = rules_for_repository(self.context.services, repo.full_name)
        owner, name = repo.full_name.split("/", 1)
        target = graphql.RepositoryTarget(owner, name, with_files=bool(rules))
        client = self._graphql()
        # Changed pull requests held until enough of them have deferred connections to fill a
        # PullRequestParts query (or too many are held); their progress commits with them.
        held: list[dict] = []

        def release() -> Iterator[RawBatch]:
            graphql.fill_deferred(client, target, held)
            for start in range(0, len(held), graphql.PAGE_SIZE):
                nodes = [graphql.complete(client, target, node)
                         for node in held[start:start + graphql.PAGE_SIZE]]
                yield from self._graphql_batches(repo, nodes, rules)
            held.clear()
            yield RawBatch(PULL_REQUESTS, [], cursors={stream: progress.dumps()})

        for nodes in graphql.pull_request_pages(client, target):
            reached_stored = False
            for node in nodes:
                updated, number = parse_timestamp(node["updatedAt"]), node["number"]
                if stored.is_past(updated):
                    reached_stored = True
                    break
                if stored.needs(updated, str(number)):
                    held.append(node)
                    progress.stored(updated, str(number))
            # Released before another page could overflow one PullRequestParts query.
            with_parts = sum(1 for node in held if graphql.deferred_parts(node))
            if (with_parts > graphql.PARTS_PER_QUERY - graphql.PAGE_SIZE
                    or len(held) >= HELD_PULL_REQUESTS):
                yield from release()
            if reached_stored:
                break
        if held:
            yield from release()
        yield RawBatch(PULL_REQUESTS, [], cursors={stream: progress.completed().dumps()},
                       validators=(probe.validators,) if probe.validators else ())

    def _graphql_batches(self, repo: RepositoryRef, nodes: list[dict],
                         rules: tuple[ServiceRule, ...]) -> Iterator[RawBatch]:
        """Changed pull requests as the REST path yields them: details, then each one's
        reviews, commits and (monorepos) counts per service."""
        details = [graphql.pull_request_record(node, repo.id) for node in nodes]
        self._note_people(details, "user", "merged_by", "assignees")
        yield RawBatch(PULL_REQUESTS, details)
        for node in nodes:
            parent = {"repository_id": repo.id, "pull_number": node["number"]}
            reviews = [graphql.review_record(review) for review in node["reviews"]["nodes"]]
            self._note_people(reviews, "user")
            yield RawBatch(REVIEWS, reviews, parent=parent)
            commits = [graphql.commit_record(commit) for commit in node["commits"]["nodes"]]
            self._note_people(commits, "author", "committer")
            yield RawBatch(PULL_REQUEST_COMMITS, commits, parent=parent)
            if rules:
                files = (graphql.file_record(changed) for changed in node["files"]["nodes"])
                yield RawBatch(PULL_REQUEST_SERVICES, service_counts(files, rules), parent=parent)

    # -- issues ----------------------------------------------------------------------------

    def _issues(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        yield from self._either_api(self._graphql_issues, self._rest_issues, repo)

    def _graphql_issues(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        """The REST walk's records and cursor from GraphQL pages of a hundred, spent only when
        the free conditional probe (the listing's first item) says something changed."""
        stream = f"issues:{repo.id}"
        parent = {"repository_id": repo.id}
        probe = self._probe(repo, "issues", ISSUES_PROBE)
        if probe.not_modified:
            yield RawBatch(ISSUES, [], parent, not_modified=True)
            return
        since = newest = self._cursor(stream)
        owner, name = repo.full_name.split("/", 1)
        target = graphql.RepositoryTarget(owner, name, with_files=False)
        for nodes in graphql.issue_pages(self._graphql(), target, since):
            records = [graphql.issue_record(node) for node in nodes]
            newest = _latest(newest, (issue["updated_at"] for issue in records))
            self._note_people(records, "user", "assignees")
            yield RawBatch(ISSUES, records, parent=parent)
        yield RawBatch(ISSUES, [], parent, cursors={stream: newest} if newest else {},
                       validators=(probe.validators,) if probe.validators else ())

    def _rest_issues(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        stream = f"issues:{repo.id}"
        since = self._cursor(stream)
        newest = since
        validators: tuple[Validators, ...] = ()
        # No `since`: the listing's address stays the same from sync to sync, so its first
        # page's ETag holds and an unchanged repository answers a free 304. The walk stops
        # at the cursor instead (newest first; the cursor's own second is fetched again).
        params = {"state": "all", "sort": "updated", "direction": "desc"}
        floor = parse_timestamp(since) if since else None
        parent = {"repository_id": repo.id}
        for page in self._pages(f"/repos/{repo.full_name}/issues", params, conditional_key=stream):
            if page.not_modified:
                yield RawBatch(ISSUES, [], parent, not_modified=True)
                return
            validators = (page.validators,) if page.validators else validators
            fresh = [issue for issue in page.items
                     if floor is None or parse_timestamp(issue["updated_at"]) >= floor]
            newest = _latest(newest, (issue["updated_at"] for issue in fresh))
            self._note_people(fresh, "user", "assignees")
            yield RawBatch(ISSUES, fresh, parent=parent)
            if len(fresh) < len(page.items):
                break
        yield RawBatch(ISSUES, [], parent, cursors={stream: newest} if newest else {},
                       validators=validators)

    # -- default branch: commits and tags --------------------------------------------------

    def _default_branch(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        pushed_stream = f"pushed:{repo.id}"
        if repo.pushed_at is None or self._cursor(pushed_stream) == repo.pushed_at:
            return
        stream = f"commits:{repo.id}"
        since = self._cursor(stream)
        parent = {"repository_id": repo.id}
        through_rest = not self._use_graphql
        tags: list[dict | None] = []
        if self._use_graphql:
            try:
                newest = yield from self._graphql_commits(repo, since, tags)
                validators: tuple[Validators, ...] = ()
            except GraphQLUnsupportedError as error:
                self._fall_back_to_rest(error)
                through_rest = True
        if through_rest:
            newest, validators = yield from self._rest_commits(repo, since)
        if through_rest or None in tags:
            # A tag GraphQL did not resolve to a commit: REST's /tags names it.
            for page in self._pages(f"/repos/{repo.full_name}/tags"):
                yield RawBatch(TAGS, page.items, parent=parent)
        else:
            for start in range(0, len(tags), PAGE_SIZE):
                yield RawBatch(TAGS, tags[start:start + PAGE_SIZE], parent=parent)
        cursors = {pushed_stream: repo.pushed_at, **({stream: newest} if newest else {})}
        yield RawBatch(COMMITS, [], parent, cursors=cursors, validators=validators)

    def _graphql_commits(self, repo: RepositoryRef, since: str | None, tags: list[dict | None]
                         ) -> Generator[RawBatch, None, str | None]:
        """The default branch's commits since the cursor, a hundred a query with only the
        fields kept (REST's listing carries each commit's message), and the repository's tags
        (into ``tags``: a page riding on each query, only their name and commit); returns the
        new cursor."""
        owner, name = repo.full_name.split("/", 1)
        target = graphql.RepositoryTarget(owner, name, with_files=False)
        newest = since
        for nodes in graphql.history_pages(self._graphql(), target, since, tags):
            records = [graphql.branch_commit_record(node) for node in nodes]
            newest = _latest(newest, (c["commit"]["committer"]["date"] for c in records))
            self._note_people(records, "author", "committer")
            yield RawBatch(COMMITS, records, parent={"repository_id": repo.id})
        # In UTC, as REST's dates: GraphQL's keep the committer's offset.
        return format_timestamp(parse_timestamp(newest).astimezone(UTC)) if newest else None

    def _rest_commits(self, repo: RepositoryRef, since: str | None
                      ) -> Generator[RawBatch, None, tuple[str | None, tuple[Validators, ...]]]:
        """The default branch's commits since the cursor through REST's conditional listing;
        returns the new cursor and the listing's validators."""
        stream = f"commits:{repo.id}"
        newest = since
        validators: tuple[Validators, ...] = ()
        parent = {"repository_id": repo.id}
        try:
            for page in self._pages(f"/repos/{repo.full_name}/commits",
                                    {"since": since} if since else None, conditional_key=stream):
                if page.not_modified:
                    yield RawBatch(COMMITS, [], parent, not_modified=True)
                    break
                validators = (page.validators,) if page.validators else validators
                newest = _latest(newest, (c["commit"]["committer"]["date"] for c in page.items))
                self._note_people(page.items, "author", "committer")
                yield RawBatch(COMMITS, page.items, parent=parent)
        except RequestRejectedError as error:
            if error.status != 409:  # 409: the repository is empty
                raise
        return newest, validators

    # -- deployments and their statuses ----------------------------------------------------

    def _deployments(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        """The deployments from REST's listing (GraphQL's ``Deployment`` lacks
        ``production_environment`` and ``transient_environment``), then the statuses of those
        new or updated since the stream's mark. The listing (newest created first) stops at the
        first page reaching deployments created ``DEPLOYMENT_SETTLE_LIMIT`` before the mark:
        older ones are taken as settled."""
        stream = f"deployments:{repo.id}"
        stored = HighWaterMark.parse(self._cursor(stream))
        settled = stored.at - DEPLOYMENT_SETTLE_LIMIT if stored.at else None
        newest = stored.copy()
        validators: tuple[Validators, ...] = ()
        unique = Deduplicator(lambda deployment: deployment["id"])
        parent = {"repository_id": repo.id}
        changed: dict[str, int] = {}  # node id -> id
        for page in self._pages(f"/repos/{repo.full_name}/deployments", conditional_key=stream):
            if page.not_modified:
                yield RawBatch(DEPLOYMENTS, [], parent, not_modified=True)
                return
            validators = (page.validators,) if page.validators else validators
            self._note_people(page.items, "creator")
            yield RawBatch(DEPLOYMENTS, page.items, parent=parent)
            for deployment in unique.fresh(page.items):
                updated, key = parse_timestamp(deployment["updated_at"]), str(deployment["id"])
                if stored.is_new(updated, key):
                    newest.advance(updated, key)
                    changed[deployment["node_id"]] = deployment["id"]
            if settled and any(parse_timestamp(d["created_at"]) < settled for d in page.items):
                break
        yield from self._deployment_statuses(repo, changed)
        cursors = {stream: newest.dumps()} if newest.at else {}
        yield RawBatch(DEPLOYMENTS, [], parent, cursors=cursors, validators=validators)

    def _deployment_statuses(self, repo: RepositoryRef, deployments: dict[str, int]
                             ) -> Iterator[RawBatch]:
        """The statuses of ``deployments`` (node id -> id): through GraphQL a hundred
        deployments a query where it can; through REST one deployment a listing otherwise, and
        for a deployment with more statuses than GraphQL's page holds."""
        if self._use_graphql and deployments:
            try:
                deployments = yield from self._graphql_deployment_statuses(repo, deployments)
            except GraphQLUnsupportedError as error:
                self._fall_back_to_rest(error)
        for deployment_id in deployments.values():
            parent = {"repository_id": repo.id, "deployment_id": deployment_id}
            path = f"/repos/{repo.full_name}/deployments/{deployment_id}/statuses"
            try:
                for page in self._pages(path):
                    self._note_people(page.items, "creator")
                    yield RawBatch(DEPLOYMENT_STATUSES, page.items, parent=parent)
            except NotFoundError:
                log.info("GitHub repository %s: a deployment listed a moment ago answered 404 "
                         "(deleted meanwhile); its statuses were skipped", repo.id)

    def _graphql_deployment_statuses(self, repo: RepositoryRef, deployments: dict[str, int]
                                     ) -> Generator[RawBatch, None, dict[str, int]]:
        """Returns the deployments left for REST: those with more statuses than a page, and
        those GraphQL's listing did not show (REST's 404 tells a deleted one apart), so no
        deployment is left without its statuses."""
        owner, name = repo.full_name.split("/", 1)
        target = graphql.RepositoryTarget(owner, name, with_files=False)
        left = dict(deployments)
        for node_id, nodes in graphql.deployment_status_pages(self._graphql(), target,
                                                              set(deployments)):
            if nodes is None:
                continue
            records = [graphql.deployment_status_record(node) for node in nodes]
            self._note_people(records, "creator")
            yield RawBatch(DEPLOYMENT_STATUSES, records, parent={
                "repository_id": repo.id, "deployment_id": left.pop(node_id)})
        return left

    # -- releases --------------------------------------------------------------------------

    def _releases(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        yield from self._either_api(self._graphql_releases, self._rest_releases, repo)

    def _graphql_releases(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        """Every release a hundred a query with only the fields kept (REST's listing carries
        each release's notes and its author's and assets' uploaders' profiles), spent only when
        the free conditional probe (the newest release) says something changed."""
        parent = {"repository_id": repo.id}
        probe = self._probe(repo, "releases", RELEASES_PROBE)
        if probe.not_modified:
            yield RawBatch(RELEASES, [], parent, not_modified=True)
            return
        owner, name = repo.full_name.split("/", 1)
        target = graphql.RepositoryTarget(owner, name, with_files=False)
        for records in graphql.release_pages(self._graphql(), target):
            self._note_people(records, "author")
            yield RawBatch(RELEASES, records, parent=parent)
        yield RawBatch(RELEASES, [], parent,
                       validators=(probe.validators,) if probe.validators else ())

    def _rest_releases(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        stream = f"releases:{repo.id}"
        validators: tuple[Validators, ...] = ()
        parent = {"repository_id": repo.id}
        for page in self._pages(f"/repos/{repo.full_name}/releases", conditional_key=stream):
            if page.not_modified:
                yield RawBatch(RELEASES, [], parent, not_modified=True)
                return
            validators = (page.validators,) if page.validators else validators
            self._note_people(page.items, "author")
            yield RawBatch(RELEASES, page.items, parent=parent)
        yield RawBatch(RELEASES, [], parent, validators=validators)

    # -- Actions workflow runs -------------------------------------------------------------

    def _workflow_runs(self, repo: RepositoryRef) -> Iterator[RawBatch]:
        """The runs of the repository's production deploy workflows, the only runs the marts
        read (``int_deployments``: names matching the organization's
        ``production_workflow_names``). Other workflows' runs (CI on every push and pull
        request, most of a repository's runs) are never listed."""
        workflows = yield from self._workflows(repo)
        for workflow_id in deploy_workflows(workflows, self.context.workflow_names):
            try:
                yield from self._runs_of_workflow(repo, workflow_id)
            except NotFoundError:
                log.info("GitHub repository %s: a workflow listed a moment ago answered 404 "
                         "(deleted meanwhile); its runs were skipped", repo.id)

    def _workflows(self, repo: RepositoryRef) -> Generator[RawBatch, None, list[list]]:
        """The repository's workflows as [id, name] pairs: listed when the conditional listing
        changed, else the pairs stored with its validator."""
        stream = f"workflows:{repo.id}"
        found: list[list] = []
        validators: tuple[Validators, ...] = ()
        for page in self._pages(f"/repos/{repo.full_name}/actions/workflows",
                                conditional_key=stream, items_field="workflows"):
            if page.not_modified:
                yield RawBatch(WORKFLOW_RUNS, [], not_modified=True)
                return json.loads(self._cursor(stream) or "[]")
            validators = (page.validators,) if page.validators else validators
            found += [[workflow["id"], workflow["name"]] for workflow in page.items]
        yield RawBatch(WORKFLOW_RUNS, [], cursors={stream: json.dumps(found)},
                       validators=validators)
        return found

    def _runs_of_workflow(self, repo: RepositoryRef, workflow_id: int) -> Iterator[RawBatch]:
        """One workflow's runs, newest created first, down to the stored floor."""
        stream = f"workflow-runs:{repo.id}:{workflow_id}"
        stored_floor = self._cursor(stream)
        floor = parse_timestamp(stored_floor) if stored_floor else None
        newest: datetime | None = None
        oldest_unfinished: datetime | None = None
        validators: tuple[Validators, ...] = ()
        path = f"/repos/{repo.full_name}/actions/workflows/{workflow_id}/runs"
        for page in self._pages(path, RUNS_LISTING, conditional_key=stream,
                                items_field="workflow_runs"):
            if page.not_modified:
                yield RawBatch(WORKFLOW_RUNS, [], not_modified=True)
                return
            validators = (page.validators,) if page.validators else validators
            current = [(run, parse_timestamp(run["created_at"])) for run in page.items]
            current = [(run, at) for run, at in current if floor is None or at >= floor]
            for run, at in current:
                newest = at if newest is None or at > newest else newest
                if run.get("status") != "completed" and (
                        oldest_unfinished is None or at < oldest_unfinished):
                    oldest_unfinished = at
            runs = [run for run, _ in current]
            self._note_people(runs, "actor", "triggering_actor")
            yield RawBatch(WORKFLOW_RUNS, runs)
            if len(current) < len(page.items):
                break
        cursors = {stream: format_timestamp(run_floor(newest, oldest_unfinished))} if newest else {}
        yield RawBatch(WORKFLOW_RUNS, [], cursors=cursors, validators=validators)

    # -- users -----------------------------------------------------------------------------

    def _users(self) -> Iterator[RawBatch]:
        """The people seen in this sync's records: through GraphQL a hundred a query where it
        can, the rest (apps' bots, organizations, accounts GraphQL did not answer) and every
        one on the REST path through /users/{login}."""
        logins = list(self._logins)
        if self._use_graphql and logins:
            try:
                logins = yield from self._graphql_users(logins)
            except GraphQLUnsupportedError as error:
                self._fall_back_to_rest(error)
        yield from self._rest_users(logins)

    def _graphql_users(self, logins: list[str]) -> Generator[RawBatch, None, list[str]]:
        pages = graphql.user_pages(self._graphql(), logins)
        while True:
            try:
                records = next(pages)
            except StopIteration as done:
                return done.value
            yield RawBatch(USERS, records)

    def _rest_users(self, logins: list[str]) -> Iterator[RawBatch]:
        records: list[dict] = []
        validators: list[Validators] = []
        for login in logins:
            try:
                response = self._http().get_json(
                    f"/users/{login}", conditional_key=self._user_validator_key(login))
            except NotFoundError:
                log.info("GitHub user seen in a record no longer exists; skipped")
                continue
            if response.not_modified:
                yield RawBatch(USERS, [], not_modified=True)
                continue
            records.append(response.data)
            if response.validators:
                validators.append(response.validators)
            if len(records) == PAGE_SIZE:
                yield RawBatch(USERS, records, validators=tuple(validators))
                records, validators = [], []
        if records:
            yield RawBatch(USERS, records, validators=tuple(validators))


def _latest(current: str | None, timestamps: Iterator[str]) -> str | None:
    """The latest of an ISO timestamp and more of them (compared as instants, kept as text)."""
    for text in timestamps:
        if current is None or parse_timestamp(text) > parse_timestamp(current):
            current = text
    return current
