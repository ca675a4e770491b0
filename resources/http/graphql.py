"""GraphQL over the shared HTTP layer: one POST per query, a points budget, and the errors a
GraphQL API reports inside a 200 answer.

``HttpClient`` still does the transport (timeouts, retries, ``Retry-After``, secondary limits,
the primary limit's headers); this module adds what only GraphQL has, following GitHub's
"Rate limits and node limits for the GraphQL API" (docs.github.com/graphql/overview/
rate-limits-and-node-limits-for-the-graphql-api):

- each answer's ``rateLimit { cost remaining resetAt }`` is counted, and once the points left
  would not pay for another query like the last one, every request waits for ``resetAt``;
- ``errors`` without ``data`` become typed, people-facing errors: a query the server finds too
  large (``MAX_NODE_LIMIT_EXCEEDED``, ``RESOURCE_LIMITS_EXCEEDED``) is retried smaller by
  ``with_shrinking_page``, a schema without a field Sieve asks for (an older Enterprise Server)
  is ``GraphQLUnsupportedError``;
- ``errors`` beside ``data`` are handed to the caller with their paths, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from resources.http.client import HttpClient
from resources.http.errors import (
    MalformedResponseError,
    NotFoundError,
    SourceRequestError,
    SourceUnavailableError,
)
from resources.http.ratelimit import RESET_MARGIN_SECONDS, RateLimitTracker

# Error types GitHub gives a query that is too big to answer; a smaller page may pass.
TOO_LARGE_TYPES = frozenset({"MAX_NODE_LIMIT_EXCEEDED", "RESOURCE_LIMITS_EXCEEDED"})
# Validation codes of a schema that lacks what the query names (graphql-ruby's codes).
UNSUPPORTED_CODES = frozenset({"undefinedField", "undefinedType", "argumentNotAccepted",
                               "undefinedEnumValue"})
RATE_LIMITED_TYPES = frozenset({"RATE_LIMITED"})

T = TypeVar("T")


class GraphQLQueryError(SourceRequestError):
    """The server answered a query with errors and no data."""


class QueryTooLargeError(GraphQLQueryError):
    """The query asked for more than the server computes in one answer: ask for fewer."""


class GraphQLUnsupportedError(GraphQLQueryError):
    """The server has no GraphQL endpoint, or its schema lacks a field Sieve asks for."""


class GraphQLPaginationError(GraphQLQueryError):
    """A connection's cursors went in circles or its page info contradicts its count."""


@dataclass(frozen=True)
class GraphQLError:
    """One entry of ``errors``: the API's own short text, its type or code, and its path."""

    message: str
    type: str | None
    code: str | None
    path: tuple

    @classmethod
    def of(cls, entry: Any) -> GraphQLError:
        entry = entry if isinstance(entry, dict) else {}
        extensions = entry.get("extensions") if isinstance(entry.get("extensions"), dict) else {}
        message = " ".join(str(entry.get("message") or "").split())[:160]
        path = entry.get("path") if isinstance(entry.get("path"), list) else []
        return cls(message, entry.get("type") or extensions.get("type"),
                   extensions.get("code"), tuple(path))


@dataclass(frozen=True)
class GraphQLResult:
    data: dict
    # Errors beside data: each names the path of the node it left empty.
    errors: tuple[GraphQLError, ...]
    cost: int


class GraphQLClient:
    """Sends GraphQL documents through one ``HttpClient`` and keeps to the points budget.

    The ``HttpClient`` must use ``tracker`` (and no other client should), because GraphQL
    points are a budget of their own beside the REST requests of the same token.
    """

    def __init__(self, http: HttpClient, path: str, tracker: RateLimitTracker):
        self.http = http
        self.path = path
        self._tracker = tracker
        self._host = urlsplit(http.base_url).netloc.lower()
        self._last_cost = 1

    def query(self, document: str, variables: Mapping[str, Any], *, what: str) -> GraphQLResult:
        """Run one query; ``what`` names its subject in errors ("pull requests of acme/web")."""
        try:
            response = self.http.post_json(self.path, {"query": document,
                                                       "variables": dict(variables)})
        except NotFoundError as error:
            raise self._unsupported(f"{self._host} has no GraphQL endpoint at {self.path}",
                                    error.endpoint) from None
        payload = response.data
        if not isinstance(payload, dict):
            raise MalformedResponseError(
                f"{self._host} answered a GraphQL query for {what} "
                f"({self.http.context.describe()}) with JSON that is not an object. Check that "
                "the base URL points at the API itself, not at a proxy or web page.",
                context=self.http.context, host=self._host, endpoint=f"POST {self.path}")
        errors = tuple(GraphQLError.of(e) for e in payload.get("errors") or ())
        data = payload.get("data")
        if not isinstance(data, dict):
            raise self._failed(errors, what)
        cost = self._observe(data.get("rateLimit"))
        return GraphQLResult(data, errors, cost)

    def _observe(self, rate_limit: Any) -> int:
        """Count the points spent and hold every request once the rest would not pay for
        another query as costly as this one, until the budget resets."""
        if not isinstance(rate_limit, dict):
            return 0
        cost = int(rate_limit.get("cost") or 0)
        self.http.count_points(cost)
        self._last_cost = max(1, cost)
        remaining, reset_at = rate_limit.get("remaining"), rate_limit.get("resetAt")
        if isinstance(remaining, int) and remaining < self._last_cost and reset_at:
            resets = datetime.fromisoformat(str(reset_at)).timestamp()
            self._tracker.block(self._host, resets + RESET_MARGIN_SECONDS)
        return cost

    def _failed(self, errors: tuple[GraphQLError, ...], what: str) -> GraphQLQueryError:
        first = errors[0] if errors else GraphQLError("no data and no errors", None, None, ())
        fields = {"context": self.http.context, "host": self._host,
                  "endpoint": f"POST {self.path}", "api_message": first.message}
        described = f"{what} ({self.http.context.describe()})"
        if any(e.type in TOO_LARGE_TYPES for e in errors):
            return QueryTooLargeError(
                f"{self._host} refused a GraphQL query for {described} as too large "
                f"({first.type}: {first.message}).", **fields)
        if any(e.code in UNSUPPORTED_CODES for e in errors):
            return self._unsupported(
                f"the GraphQL schema of {self._host} lacks what Sieve asks for {described} "
                f"({first.message}); it is probably an older version of the server",
                fields["endpoint"])
        return GraphQLQueryError(
            f"{self._host} answered a GraphQL query for {described} with an error "
            f"({first.type or first.code or 'error'}: {first.message}). Re-run the sync; if it "
            f"persists, reconnect with `sieve connect {self.http.context.org_slug} "
            f"{self.http.source} --api rest` and report it.", **fields)

    def _unsupported(self, reason: str, endpoint: str) -> GraphQLUnsupportedError:
        return GraphQLUnsupportedError(
            f"{reason} ({self.http.context.describe()}). Sieve uses the REST API for it instead.",
            context=self.http.context, host=self._host, endpoint=endpoint)


def with_shrinking_page(run: Callable[[int], T], first: int) -> T:
    """``run(first)``, halving ``first`` after a refusal as too large, a 5xx or a timeout that
    outlived the client's retries (GitHub times out queries that take more than ten seconds);
    the error of the last attempt, at one item per page, propagates."""
    while True:
        try:
            return run(first)
        except (QueryTooLargeError, SourceUnavailableError):
            if first <= 1:
                raise
            first = max(1, first // 2)
