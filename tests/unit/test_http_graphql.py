"""The GraphQL parts of the HTTP layer that need no server: the points budget and the page
size that shrinks when the server finds a query too large."""

from __future__ import annotations

import pytest

from resources.http import BearerToken, ErrorContext, HttpClient, RateLimitTracker
from resources.http.graphql import (
    GraphQLClient,
    GraphQLError,
    GraphQLUnsupportedError,
    QueryTooLargeError,
    with_shrinking_page,
)

CONTEXT = ErrorContext(org_slug="acme", connection_id="c-1")


def graphql_client(tracker: RateLimitTracker) -> GraphQLClient:
    http = HttpClient("https://api.github.com", BearerToken("t"), source="github",
                      context=CONTEXT, rate_limits=tracker)
    return GraphQLClient(http, "/graphql", tracker)


def test_requests_wait_for_the_reset_once_the_points_left_would_not_pay_another_query():
    tracker = RateLimitTracker()
    client = graphql_client(tracker)

    client._observe({"cost": 5, "remaining": 100, "resetAt": "2030-01-01T00:00:00Z"})
    assert tracker.resume_at("api.github.com") == 0.0
    client._observe({"cost": 5, "remaining": 4, "resetAt": "2030-01-01T00:00:00Z"})

    assert tracker.resume_at("api.github.com") == pytest.approx(1893456000 + 1.0)
    assert client.http.stats.points == 10


def test_a_query_too_large_is_retried_with_half_the_page_until_it_passes():
    tried = []

    def run(first: int) -> int:
        tried.append(first)
        if first > 25:
            raise QueryTooLargeError("too large")
        return first

    assert with_shrinking_page(run, 100) == 25
    assert tried == [100, 50, 25]


def test_a_query_too_large_even_for_one_item_is_the_error_itself():
    def run(first: int) -> int:
        raise QueryTooLargeError(f"too large at {first}")

    with pytest.raises(QueryTooLargeError, match="at 1$"):
        with_shrinking_page(run, 4)


def test_a_schema_without_a_field_is_unsupported_and_says_rest_takes_over():
    error = graphql_client(RateLimitTracker())._failed(
        (GraphQLError.of({"message": "Field 'x' doesn't exist on type 'PullRequest'",
                          "extensions": {"code": "undefinedField"}}),), "pull requests of o/r")

    assert isinstance(error, GraphQLUnsupportedError)
    assert "REST API" in str(error) and "acme" in str(error)
