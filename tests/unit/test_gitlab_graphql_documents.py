"""Field-level minimization: every GraphQL document the GitLab connector can send, parsed and
validated against the emulator's copy of GitLab's schema, selects only fields that feed the
allow-list or the paging — never a description, a note's body or a commit message."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from emulators.github.graphql import selected_fields
from emulators.gitlab.graphql import MAX_COMPLEXITY, gitlab_schema, query_complexity
from resources.sources import entity
from resources.sources.gitlab import graphql

# Text people write: Sieve keeps none of it, so no query may even download it.
FORBIDDEN = {"description", "descriptionHtml", "body", "bodyHtml", "message", "title",
             "fullTitle", "bio", "location"}
# Titles are kept (scrubbed) for merge requests and label names; a commit's title is not.
ALLOWED_TITLES = {("MergeRequest", "title"), ("Label", "title")}


@pytest.fixture(scope="module")
def documents():
    return [parse(text) for text in graphql.every_document()]


def test_every_document_is_valid_against_gitlabs_schema(documents):
    for document in documents:
        assert validate(gitlab_schema(), document) == []


def test_no_document_selects_text_people_write(documents):
    for document in documents:
        selected = selected_fields(gitlab_schema(), document) - ALLOWED_TITLES
        assert not {name for _, name in selected} & FORBIDDEN


def test_the_check_itself_catches_a_body(documents):
    smuggled = parse(graphql.page_document().replace("systemNoteIconName", "systemNoteIconName body"))
    assert ("Note", "body") in selected_fields(gitlab_schema(), smuggled)


def test_every_selected_field_feeds_the_allow_list_or_the_paging(documents):
    fields = set().union(*(selected_fields(gitlab_schema(), d) for d in documents))
    assert {f for f in fields if f not in graphql.FIELD_PURPOSE} == set()
    for purpose in graphql.FIELD_PURPOSE.values():
        table, _, column = purpose.partition(".")
        if table.startswith("gitlab_") and column and not column.endswith("*") and " " not in column:
            assert column in entity(table).column_names, purpose


def test_a_page_of_a_hundred_fits_gitlabs_complexity_limit():
    # Every field 1, sort 1, Gitaly fields 1 more; each connection's children doubled at 100.
    document = parse(graphql.page_document())
    full = query_complexity(document, {"first": 100})
    half = query_complexity(document, {"first": 50})
    assert half < 200 < full <= MAX_COMPLEXITY


def test_a_page_of_a_hundred_pipelines_scores_as_gitlab_counts_it():
    # project 1 + pipelines (1 + children doubled at 100); children: pageInfo 1 + 2,
    # nodes 1 + 13 scalars + user (1 + id + username) = 17; so 1 + 1 + 2 × 20 = 42.
    document = parse(graphql.pipelines_document())
    assert query_complexity(document, {"first": 100}) == 42
    assert query_complexity(document, {"first": 50}) == 1 + 1 + 20 + 10


def test_filtering_pipelines_by_ref_or_sha_costs_two_more_each():
    # ResolvesPipelines.resolver_complexity: +2 for a ref, +2 for a sha.
    plain = parse('{ project(fullPath: "g/p") { pipelines(first: 1) { nodes { id } } } }')
    filtered = parse('{ project(fullPath: "g/p") { pipelines(first: 1, ref: "main", '
                     'sha: "abc") { nodes { id } } } }')
    assert query_complexity(filtered, {}) == query_complexity(plain, {}) + 4
