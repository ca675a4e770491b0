"""Field-level minimization: every GraphQL document the GitHub connector can send, parsed and
validated against GitHub's published schema, selects only fields that feed the allow-list —
never a body, a comment's text, a commit message or a patch."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from emulators.github.graphql import github_schema, query_cost, selected_fields
from resources.sources import entity
from resources.sources.github import graphql

# Text people write: Sieve keeps none of it, so no query may even download it.
FORBIDDEN = {"body", "bodyText", "bodyHTML", "bodyHtml", "message", "messageBody",
             "messageBodyHTML", "messageHeadline", "messageHeadlineHTML", "patch", "diff",
             "text", "description", "viewerMergeBodyText"}


@pytest.fixture(scope="module")
def documents():
    return [parse(text) for text in graphql.every_document()]


def test_every_document_is_valid_against_githubs_schema(documents):
    for document in documents:
        assert validate(github_schema(), document) == []


def test_no_document_selects_text_people_write(documents):
    for document in documents:
        selected = {name for _, name in selected_fields(github_schema(), document)}
        assert not selected & FORBIDDEN


def test_every_selected_field_feeds_the_allow_list_or_the_paging(documents):
    fields = set().union(*(selected_fields(github_schema(), d) for d in documents))
    unexplained = {f for f in fields if f not in graphql.FIELD_PURPOSE}
    assert unexplained == set()
    for purpose in graphql.FIELD_PURPOSE.values():
        table, _, column = purpose.partition(".")
        if table.startswith("github_") and column and not column.endswith("*"):
            assert column in entity(table).column_names, purpose


def test_columns_left_empty_exist_and_are_few():
    for table, columns in graphql.NOT_REQUESTED.items():
        assert set(columns) <= set(entity(table).column_names)
    # The bodies of pull requests, reviews, issues and releases; commits' parents; a deployment
    # status's numeric id (GraphQL has none; its node id is the key); a release's
    # target_commitish (GraphQL has none; no model reads it).
    assert sum(len(c) for c in graphql.NOT_REQUESTED.values()) == 7


def test_a_page_of_a_hundred_costs_two_points_under_the_documented_formula():
    # 1 request for the pull requests + 100 x 2 paged connections (commits, reviews) = 201 ->
    # 2.01 -> 2 points; labels, assignees and review requests are asked for their count only,
    # which is not charged. A monorepo's changed files add a connection: 301 -> 3 points.
    for with_files, points in ((False, 2), (True, 3)):
        cost = query_cost(parse(graphql.page_document(with_files)),
                          {"owner": "o", "name": "r", "first": 100})
        assert (cost.requests, cost.points) == (1 + 100 * (points), points)


def test_deferred_connections_cost_a_point_per_hundred_that_are_not_empty():
    # Each aliased pull request's connection is one request: 150 labels and 50 review requests
    # wanted = 200 -> 2 points, whatever the page sizes.
    wanted = [(n, ("labels",)) for n in range(150)] + [(n, ("reviewRequests",))
                                                      for n in range(150, 200)]
    variables = {"owner": "o", "name": "r", **{f"n{i}": n for i, (n, _) in enumerate(wanted)}}
    cost = query_cost(parse(graphql.parts_document(wanted)), variables)
    assert (cost.requests, cost.points) == (200, 2)


def test_a_hundred_deployments_with_their_statuses_cost_one_point():
    # 1 request for the deployments + 100 x 1 statuses connection = 101 -> 1.01 -> 1 point;
    # nodes: 100 deployments + 100 x 100 statuses, far under the 500,000 limit.
    cost = query_cost(parse(graphql.deployment_statuses_document()),
                      {"owner": "o", "name": "r", "first": 100})
    assert (cost.requests, cost.points, cost.nodes) == (101, 1, 100 + 100 * 100)
