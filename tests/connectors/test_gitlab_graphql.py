"""The GitLab connector's GraphQL path against the emulator: the same tables as REST with
approval times, a fraction of the requests (none per merge request or pipeline), no body ever
downloaded, and bad answers mended or named."""

from __future__ import annotations

import logging

import pytest

from emulators.gitlab.graphql import GitLabGraphQL
from resources.http.graphql import GraphQLQueryError
from resources.sources import entity
from resources.sources.gitlab import graphql
from tests.connectors.test_gitlab_connector import GROUP, expected_counts, stored_counts

GRAPHQL = "POST /api/graphql"


def connect(org, emulator, api: str):
    return org.connect_emulator(emulator, "gitlab", group=GROUP, api=api)


def comparable(org) -> dict[str, list[tuple]]:
    """Every metadata table without the connection id and the columns GraphQL cannot fill."""
    tables = {}
    for table in org.snapshot():
        skipped = {"connection_id", *graphql.NOT_REQUESTED.get(table, ())}
        columns = [c for c in entity(table).column_names if c not in skipped]
        tables[table] = sorted(org.query(f"SELECT {', '.join(columns)} FROM metadata.{table}"),
                               key=repr)
    return tables


_rest_tables: list[dict] = []


def rest_tables(sieve_org, emulator) -> dict:
    """What the REST path stores for the tiny org (synced once per test session)."""
    if not _rest_tables:
        org = sieve_org("rest")
        connect(org, emulator, "rest")
        org.sync("gitlab")
        _rest_tables.append(comparable(org))
        emulator.reset()
    return _rest_tables[0]


def app(emulator) -> GitLabGraphQL:
    return emulator.apps["gitlab"].graphql


def test_both_apis_store_the_same_tables_with_approval_times(sieve_org, emulator):
    expected = rest_tables(sieve_org, emulator)
    org = sieve_org("graphql")
    connect(org, emulator, "graphql")

    org.sync("gitlab")

    assert comparable(org) == expected
    assert stored_counts(org) == expected_counts(emulator)
    [(approvals, timed)] = org.query(
        "SELECT count(*), count(approved_at) FROM metadata.gitlab_mr_approvals")
    assert approvals > 0 and timed == approvals
    merge_requests = org.count("gitlab_merge_requests")
    per_endpoint = emulator.requests.per_endpoint("gitlab")
    # Per project (a page each here): one query for its merge requests and one for its
    # pipelines, each followed by one for the users it newly names. Nothing per item.
    assert per_endpoint[GRAPHQL] <= 4 * len(emulator.org.gitlab_projects) < merge_requests
    assert not [e for e in per_endpoint
                if "{iid}" in e or "/pipelines" in e or e == "GET /users/{id}"]
    assert org.count("gitlab_pipelines") > 0


def test_a_nightly_sync_without_changes_asks_one_query_per_project(sieve_org, emulator):
    org = sieve_org("nightly")
    connect(org, emulator, "graphql")
    org.sync("gitlab")
    before = org.snapshot()
    emulator.clear_requests()

    [summary] = org.sync("gitlab")

    projects = len(emulator.org.gitlab_projects)
    assert emulator.requests.matching("gitlab", GRAPHQL) == 2 * projects  # MRs, pipelines
    assert len(emulator.requests) == 1 + 4 * projects  # the 304 listing, one page per stream
    assert sum(summary.rows_upserted.values()) == 0 and org.snapshot() == before


def test_no_description_note_body_or_commit_message_is_ever_downloaded(sieve_org, emulator):
    answers: list[bytes] = []
    app(emulator).recorded_answers = answers
    org = sieve_org("canary")
    connect(org, emulator, "graphql")

    org.sync("gitlab")

    downloaded = b"".join(answers).decode()
    assert len(answers) >= 2 and "systemNoteIconName" in downloaded
    assert [c for c in emulator.canaries() if c in downloaded] == []
    assert "approved this merge request" not in downloaded  # not even a system note's text


def test_an_instance_without_graphql_is_synced_over_rest_with_one_notice(
        sieve_org, emulator, caplog):
    expected = rest_tables(sieve_org, emulator)
    app(emulator).faults.disabled = True
    org = sieve_org("fallback")
    connect(org, emulator, "graphql")

    with caplog.at_level(logging.WARNING, logger="sieve.connectors.gitlab"):
        org.sync("gitlab")

    assert comparable(org) == expected
    notices = [r for r in caplog.records if "REST API" in r.getMessage()]
    assert len(notices) == 1 and "/api/graphql" in notices[0].getMessage()
    assert emulator.requests.matching("gitlab", GRAPHQL) == 1


def test_a_pipeline_node_becomes_rests_record():
    node = {"id": "gid://gitlab/Ci::Pipeline/731", "iid": "12", "sha": "ab" * 20,
            "ref": "v1.2.0", "refPath": "refs/tags/v1.2.0", "status": "WAITING_FOR_RESOURCE",
            "source": "push", "duration": None, "queuedDuration": 2.5,
            "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:05:00Z",
            "startedAt": None, "finishedAt": None,
            "user": {"id": "gid://gitlab/User/42", "username": "ada"}}

    record = graphql.pipeline_record(node, project_id=7)

    assert record["id"] == 731 and record["iid"] == 12 and record["project_id"] == 7
    assert record["tag"] is True and record["status"] == "waiting_for_resource"
    assert record["user"] == {"id": 42, "username": "ada"}
    assert record["queued_duration"] == 2.5 and record["duration"] is None
    branch = graphql.pipeline_record({**node, "refPath": "refs/heads/main"}, project_id=7)
    assert branch["tag"] is False
    assert graphql.pipeline_record({**node, "refPath": None}, project_id=7)["tag"] is False


def test_a_next_sync_fetches_only_the_pipelines_updated_since(sieve_org, emulator):
    org = sieve_org("incremental")
    connect(org, emulator, "graphql")
    org.sync("gitlab")
    before = org.count("gitlab_pipelines")
    emulator.org.add_pull_request(emulator.org.gitlab_projects[0].name, host="gitlab")

    [summary] = org.sync("gitlab")

    added = org.count("gitlab_pipelines") - before
    assert added > 0 and stored_counts(org) == expected_counts(emulator)
    assert summary.rows_upserted["gitlab_pipelines"] == added


def first_iid_with_notes(emulator, at_least: int) -> int:
    project = emulator.org.gitlab_projects[0]
    gitlab = emulator.apps["gitlab"]
    return next(number for number in range(1, emulator.org.item_count(project) + 1)
                if (mr := emulator.org.pull_request(project, number)) is not None
                and sum(n["system"] for n in gitlab.mr_notes(mr)) >= at_least)


def test_bad_answers_mended_by_a_retry_end_identical(sieve_org, emulator, monkeypatch):
    """Errors beside partial data once, and a query over the complexity limit (halved until
    it passes), leave the same tables as REST."""
    expected = rest_tables(sieve_org, emulator)
    faults = app(emulator).faults
    faults.partial = [first_iid_with_notes(emulator, 1), 1]
    faults.max_complexity = 200  # a page of 100 scores more; a page of 50 less
    org = sieve_org("mended")
    connect(org, emulator, "graphql")

    org.sync("gitlab")

    assert comparable(org) == expected
    assert faults.partial[1] == 0
    refused = [r for r in emulator.requests if r.endpoint == GRAPHQL]
    assert len(refused) > len(app(emulator).queries)  # the refusals were not answered


BROKEN = {
    "persistent partial data": lambda faults, iid: setattr(faults, "partial", [iid, 2]),
    "repeating cursor": lambda faults, iid: setattr(faults, "repeat_cursor", [None, 1]),
    "lying hasNextPage": lambda faults, iid: setattr(faults, "lying_has_next_page", [iid, 1]),
}


@pytest.mark.parametrize("fault", BROKEN)
def test_answers_that_stay_wrong_stop_the_sync_naming_the_project(sieve_org, emulator,
                                                                  monkeypatch, fault):
    monkeypatch.setattr(graphql, "PAGE_SIZE", 5)
    monkeypatch.setitem(graphql.NESTED_PAGE_SIZE, "notes", 1)
    iid = first_iid_with_notes(emulator, 2)
    BROKEN[fault](app(emulator).faults, iid)
    org = sieve_org("broken")
    connect(org, emulator, "graphql")

    error = org.sync_error("gitlab", GraphQLQueryError)

    message = str(error)
    assert f"{GROUP}/{emulator.org.gitlab_projects[0].name}" in message
    assert "'broken'" in message and "re-run the sync" in message.lower()
