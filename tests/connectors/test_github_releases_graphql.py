"""Releases and tags through GitHub's GraphQL API: only the fields the allow-list keeps are
asked for (no release notes), a no-change nightly spends nothing, and a tag GraphQL cannot
resolve to a commit sends the repository's tags through REST."""

from __future__ import annotations

from graphql import parse

from emulators.github.graphql import query_cost
from resources.sources.github import graphql

OWNER = "sieve-demo"
REPO = "web-app"


def synced(sieve_org, emulator, name: str):
    org = sieve_org(name)
    org.connect_emulator(emulator, "github", owner=OWNER, api="graphql", repos=[REPO])
    org.sync("github")
    return org


def operations(emulator) -> list[str]:
    return [q.operation for q in emulator.apps["github"].graphql.queries]


def test_releases_and_tags_come_without_release_notes_and_a_nightly_asks_again_for_free(
        sieve_org, emulator):
    answers: list[bytes] = []
    emulator.apps["github"].graphql.recorded_answers = answers
    org = synced(sieve_org, emulator, "releases")

    releases = emulator.org.releases(emulator.org.repo(REPO, "github"))
    assert len(releases) > 1
    stored = org.query("SELECT id, tag_name, name, is_draft, is_prerelease, author_login, "
                       "assets_count, published_at, target_commitish, body_length "
                       "FROM metadata.github_releases ORDER BY id")
    assert stored == sorted(
        (r.release_id, r.tag, r.tag, False, False, r.author.login, 0,
         r.published_at.replace(tzinfo=None, microsecond=0), None, None) for r in releases)
    assert sorted(org.query("SELECT name, commit_sha FROM metadata.github_tags")) == sorted(
        (r.tag, r.sha) for r in releases)
    # The tags ride on the default branch's history queries: no query of their own.
    assert operations(emulator).count("Releases") == 1 and "Tags" not in operations(emulator)
    # REST answered the releases' probe alone (its newest release, for the ETag), no tags.
    listed = [r for r in emulator.requests if r.endpoint.endswith(("/releases", "/tags"))]
    assert [(r.endpoint, r.query.get("per_page")) for r in listed] == [
        ("GET /repos/{owner}/{repo}/releases", "1")]
    assert b"Automated release" not in b"".join(answers)  # the notes were never downloaded

    emulator.clear_requests()
    emulator.apps["github"].graphql.reset()
    org.sync("github")
    probes = [r for r in emulator.requests if r.endpoint.endswith("/releases")]
    assert [r.status for r in probes] == [304]
    assert "Releases" not in operations(emulator) and "Tags" not in operations(emulator)


def test_a_tag_graphql_cannot_resolve_to_a_commit_sends_the_tags_through_rest(
        sieve_org, emulator, monkeypatch):
    as_listed = graphql.tag_record
    monkeypatch.setattr(graphql, "tag_record", lambda node: None if node["name"] == "v1.0.0"
                        else as_listed(node))
    org = synced(sieve_org, emulator, "tag-of-a-tree")

    releases = emulator.org.releases(emulator.org.repo(REPO, "github"))
    assert sorted(org.query("SELECT name, commit_sha FROM metadata.github_tags")) == sorted(
        (r.tag, r.sha) for r in releases)
    assert emulator.count_requests("github", "GET /repos/{owner}/{repo}/tags") == 1


def test_tags_beyond_the_history_pages_come_by_their_own_queries(
        sieve_org, emulator, monkeypatch):
    monkeypatch.setattr(graphql, "TAGS_PER_QUERY", 2)
    org = synced(sieve_org, emulator, "many-tags")

    releases = emulator.org.releases(emulator.org.repo(REPO, "github"))
    assert sorted(org.query("SELECT name, commit_sha FROM metadata.github_tags")) == sorted(
        (r.tag, r.sha) for r in releases)
    history = operations(emulator).count("BranchHistory")
    assert 2 * history < len(releases)  # so some tags were left when the history ended
    assert operations(emulator).count("Tags") == -(-(len(releases) - 2 * history) // 100)


def test_a_tag_record_names_the_commit_directly_or_through_one_annotated_tag():
    commit = {"__typename": "Commit", "oid": "c0ffee"}
    assert graphql.tag_record({"name": "v1", "target": commit}) == {
        "name": "v1", "commit": {"sha": "c0ffee"}}
    annotated = {"__typename": "Tag", "oid": "7a6", "target": commit}
    assert graphql.tag_record({"name": "v2", "target": annotated}) == {
        "name": "v2", "commit": {"sha": "c0ffee"}}
    tag_of_a_tag = {"__typename": "Tag", "oid": "7a7", "target": {"__typename": "Tag",
                                                                   "oid": "7a6"}}
    for target in (tag_of_a_tag, {"__typename": "Tree", "oid": "7ee"}, None):
        assert graphql.tag_record({"name": "v3", "target": target}) is None


def test_a_hundred_releases_or_tags_cost_one_point_and_tags_beside_the_history_none():
    for document in (graphql.releases_document(), graphql.tags_document()):
        cost = query_cost(parse(document), {"owner": "o", "name": "r", "first": 100})
        assert (cost.requests, cost.points, cost.nodes) == (1, 1, 100)
    # A page of tags riding on a page of history: 1 + 100 parents' connections + 1 = 102.
    cost = query_cost(parse(graphql.history_document()),
                      {"owner": "o", "name": "r", "first": 100, "withTags": True})
    assert (cost.requests, cost.points) == (102, 1)


def test_first_pages_of_nested_connections_carry_no_cursor_and_follow_ups_do():
    # The page's own pageInfo only: a pull request's commits, reviews and files come whole or
    # are walked again from the start, so their first page needs no cursor.
    for with_files in (False, True):
        assert graphql.page_document(with_files).count("pageInfo") == 1
        assert "pageInfo" not in graphql.single_document(with_files)
    assert "pageInfo" not in graphql.parts_document([(1, graphql.DEFERRED_CONNECTIONS)])
    for name in graphql.nested_connections(True):
        assert graphql.follow_up_document(name).count("pageInfo") == 1
