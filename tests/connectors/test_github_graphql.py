"""The GitHub connector's GraphQL path against the emulator: the same tables as REST, a free
nightly sync, no body ever downloaded, and bad answers mended or named."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

import pytest

from emulators.github.graphql import GitHubGraphQL
from resources.http.graphql import GraphQLQueryError
from resources.sources import entity
from resources.sources.github import graphql
from tests.harness import waits_in_emulated_time

OWNER = "sieve-demo"
ONE_REPO = ["web-app"]


def connect(org, emulator, api: str, repos=ONE_REPO):
    return org.connect_emulator(emulator, "github", owner=OWNER, api=api, repos=repos)


def comparable(org) -> dict[str, list[tuple]]:
    """Every metadata table without the connection id and the columns GraphQL cannot fill."""
    tables = {}
    for table in org.snapshot():
        skipped = {"connection_id", *graphql.NOT_REQUESTED.get(table, ())}
        columns = [c for c in entity(table).column_names if c not in skipped]
        rows = org.query(f"SELECT {', '.join(columns)} FROM metadata.{table}")
        tables[table] = sorted(rows, key=repr)
    return tables


@pytest.fixture(scope="module")
def rest_tables() -> dict:
    return {}


def rest_rows(sieve_org, emulator, cache: dict, repos=ONE_REPO) -> dict:
    key = tuple(repos)
    if key not in cache:
        org = sieve_org("rest")
        connect(org, emulator, "rest", repos)
        org.sync("github")
        cache[key] = comparable(org)
        emulator.reset()
    return cache[key]


def app(emulator) -> GitHubGraphQL:
    return emulator.apps["github"].graphql


def test_both_apis_store_the_same_tables_and_a_nightly_sync_costs_nothing(
        sieve_org, emulator, rest_tables):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    org = sieve_org("graphql")
    connect(org, emulator, "graphql")

    org.sync("github")
    assert comparable(org) == expected
    assert emulator.count_requests("github", "GET /repos/{owner}/{repo}/pulls/{number}") == 0
    assert emulator.count_requests(
        "github", "GET /repos/{owner}/{repo}/deployments/{id}/statuses") == 0
    # Per repository one page of up to 100 pull requests (2 points), one query for the labels
    # and review requests of those that have any (1), one page of issues (2), one of up to 100
    # default-branch commits with up to 100 tags (1), one of up to 100 deployments with their
    # statuses (1), one of releases (1), and the people seen, up to 100 a query (1 point); REST
    # only answers the probes: the listings' first item each, for their ETags.
    assert app(emulator).points == 2 + 1 + 2 + 1 + 1 + 1 + 1
    assert emulator.count_requests("github", "GET /repos/{owner}/{repo}/commits") == 0
    probes = [r for r in emulator.requests if r.endpoint.endswith(("/pulls", "/issues"))]
    assert len(probes) == 2 and all(r.query.get("per_page") == "1" for r in probes)
    # REST's /users/{login} only for who is no GraphQL `User`: apps' bots.
    asked_rest = {unquote(r.path.rsplit("/", 1)[1]) for r in emulator.requests
                  if r.endpoint == "GET /users/{login}"}
    assert asked_rest <= {p.login for p in emulator.org.bots} | {"web-flow"}
    assert org.count("github_users") > len(asked_rest)

    emulator.clear_requests()
    app(emulator).reset()
    org.sync("github")
    counted = [r for r in emulator.requests if r.status != 304]
    assert counted == [] and app(emulator).points == 0


def test_a_next_sync_fetches_only_the_issues_updated_since(sieve_org, emulator):
    org = sieve_org("incremental")
    connect(org, emulator, "graphql")
    org.sync("github")
    assert org.count("github_issues") > 1
    repo = emulator.org.repo(ONE_REPO[0], "github")
    number = next(k for k in range(1, emulator.org.item_count(repo) + 1)
                  if emulator.org.issue(repo, k) is not None)
    # `since` is inclusive, as REST's: the issues of the cursor's own second come again.
    [[at_cursor]] = org.query("SELECT count(*) FROM metadata.github_issues WHERE updated_at = "
                              "(SELECT max(updated_at) FROM metadata.github_issues)")
    touched_at = emulator.org.touch_issue(ONE_REPO[0], number)

    [summary] = org.sync("github")

    assert summary.rows_upserted["github_issues"] == 1 + at_cursor
    [[updated_at]] = org.query(
        "SELECT updated_at FROM metadata.github_issues WHERE number = ?", [number])
    assert updated_at == touched_at.replace(tzinfo=None, microsecond=0)
    rest = rest_rows(sieve_org, emulator, {})  # a REST sync of the changed org, from scratch
    assert comparable(org)["github_issues"] == rest["github_issues"]


def test_no_body_comment_or_commit_message_is_ever_downloaded(sieve_org, emulator):
    answers: list[bytes] = []
    app(emulator).recorded_answers = answers
    org = sieve_org("canary")
    connect(org, emulator, "graphql", repos=[])
    org.sync("github")
    downloaded = b"".join(answers).decode()
    assert answers and not [c for c in emulator.canaries() if c in downloaded]


def pull_request_with_commits(emulator) -> int:
    """The newest pull request of web-app with more than one commit."""
    repo = emulator.org.repo("web-app")
    return next(k for k in range(emulator.org.item_count(repo), 0, -1)
                if (pr := emulator.org.pull_request(repo, k)) and len(pr.commits) > 1)


@pytest.mark.parametrize("faults_installed", ["partial answers", "too large", "rate limited"])
def test_bad_answers_are_mended_into_the_same_tables(sieve_org, emulator, monkeypatch,
                                                     rest_tables, faults_installed):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    monkeypatch.setitem(graphql.NESTED_PAGE_SIZE, "commits", 1)  # follow-ups to lie about
    faults, number = app(emulator).faults, pull_request_with_commits(emulator)
    waits = {}
    if faults_installed == "partial answers":
        faults.partial[number] = ["headRepository", 1]  # refetched alone
        faults.lost_node = [number - 1, 1]  # the page refetched
        faults.lying_has_next_page[number] = ["commits", 1]  # the connection walked again
    elif faults_installed == "too large":
        faults.max_nodes = 3000  # 100 pull requests x 27 nested nodes do not fit; 50 do
        emulator.faults.server_errors("graphql", times=4, status=502)  # and 25 after these
    else:
        emulator.faults.secondary_rate_limit("graphql", times=1, retry_after=1)
        waits = waits_in_emulated_time(emulator)
    org = sieve_org("mended")
    connect(org, emulator, "graphql")

    org.sync("github", **waits)

    assert comparable(org) == expected
    assert faults_installed == "rate limited" or app(emulator).queries


@pytest.mark.parametrize("fault", ["partial error", "lost node", "lying hasNextPage",
                                   "repeating cursor"])
def test_a_bad_answer_that_persists_is_an_error_naming_the_repository(
        sieve_org, emulator, monkeypatch, fault):
    monkeypatch.setitem(graphql.NESTED_PAGE_SIZE, "commits", 1)
    monkeypatch.setattr(graphql, "PAGE_SIZE", 4)
    faults, number = app(emulator).faults, pull_request_with_commits(emulator)
    if fault == "partial error":
        faults.partial[number] = ["headRepository", None]
    elif fault == "lost node":
        faults.lost_node = [number, None]
    elif fault == "lying hasNextPage":
        faults.lying_has_next_page[number] = ["commits", None]
    else:
        faults.repeat_cursor = [None, None]
    org = sieve_org("broken")
    connect(org, emulator, "graphql")

    error = org.sync_error("github", GraphQLQueryError)
    assert re.search(f"repository {OWNER}/web-app", str(error))

    assert "re-run the sync" in str(error).lower()


@pytest.mark.parametrize(("missing", "answered"), [
    (("PullRequest", "potentialMergeCommit"), []),  # refused queries answer no data
    # people alone through REST
    (("User", "isSiteAdmin"), ["PullRequestPage", "PullRequestParts", "IssuePage",
                               "BranchHistory", "DeploymentStatuses", "Releases"]),
])
def test_an_older_server_without_a_field_falls_back_to_rest_with_one_notice(
        sieve_org, emulator, rest_tables, caplog, missing, answered):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    app(emulator).faults.missing_fields = {missing}
    org = sieve_org("old-enterprise")
    connect(org, emulator, "graphql")

    with caplog.at_level(logging.WARNING, logger="sieve.connectors.github"):
        org.sync("github")

    assert comparable(org) == expected
    notices = [r for r in caplog.records if "REST API" in r.getMessage()]
    assert len(notices) == 1 and missing[1] in notices[0].getMessage()
    assert [q.operation for q in app(emulator).queries] == answered
    # Every person through REST, one request each (those answering 404 included).
    assert emulator.count_requests("github", "GET /users/{login}") >= org.count("github_users")


def test_an_estimate_counts_without_fetching_a_pull_request(sieve_org, emulator):
    from resources.sources.github.connector import GitHubConnector

    org = sieve_org("estimated")
    connect(org, emulator, "graphql")
    repo = emulator.org.repo("web-app")
    pulls = sum(1 for k in range(1, emulator.org.item_count(repo) + 1)
                if emulator.org.pull_request(repo, k))

    issues = sum(1 for k in range(1, emulator.org.item_count(repo) + 1)
                 if emulator.org.issue(repo, k))

    deployments = len(emulator.org.deployments(repo))

    cost = GitHubConnector(org.connector_context("github")).estimate()

    # One page of up to 100 pull requests (2 points, and at most 3 for their labels, assignees
    # and review requests), one of issues (2), one of up to 100 deployments with their statuses
    # (1) and one of default-branch commits (1); REST: the probes and listings' first pages (7)
    # and a page of deployments, no request per deployment.
    assert 0 < issues <= 100 and 0 < deployments <= 100
    assert (cost.pull_requests, cost.issues, cost.points) == (pulls, issues, 5 + 2 + 1 + 1)
    assert cost.requests == 7 + 1
    assert [q.operation for q in app(emulator).queries] == ["RepositoryCounts"]
    assert 0 < cost.hours < 0.1


def synced_with_smaller_pages(sieve_org, emulator, monkeypatch, page_size: str, size: int):
    """An org synced through GraphQL with ``graphql.<page_size>`` set to ``size``."""
    monkeypatch.setattr(graphql, page_size, size)
    org = sieve_org(page_size.lower().replace("_", "-"))
    connect(org, emulator, "graphql")
    org.sync("github")
    return org


def test_a_deployment_with_more_statuses_than_a_page_is_completed_through_rest(
        sieve_org, emulator, rest_tables, monkeypatch):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    org = synced_with_smaller_pages(sieve_org, emulator, monkeypatch,
                                    "STATUSES_PER_DEPLOYMENT", 1)
    assert comparable(org) == expected
    deployments = emulator.org.deployments(emulator.org.repo(ONE_REPO[0], "github"))
    many = sum(1 for d in deployments if len(d.statuses) > 1)
    assert many > 0
    assert emulator.count_requests(
        "github", "GET /repos/{owner}/{repo}/deployments/{id}/statuses") == many


def test_a_deployment_graphql_does_not_list_gets_its_statuses_through_rest(
        sieve_org, emulator, rest_tables, monkeypatch):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    listed = graphql.deployment_status_pages

    def without_the_newest(client, target, wanted):
        return list(listed(client, target, wanted))[1:]

    monkeypatch.setattr(graphql, "deployment_status_pages", without_the_newest)
    org = sieve_org("unlisted-deployment")
    connect(org, emulator, "graphql")

    org.sync("github")

    assert comparable(org) == expected
    assert emulator.count_requests(
        "github", "GET /repos/{owner}/{repo}/deployments/{id}/statuses") == 1


def test_people_are_asked_for_in_batches_and_the_unanswered_through_rest(
        sieve_org, emulator, monkeypatch, rest_tables):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    org = synced_with_smaller_pages(sieve_org, emulator, monkeypatch, "USERS_PER_QUERY", 5)
    assert comparable(org)["github_users"] == expected["github_users"]
    batches = [q for q in app(emulator).queries if q.operation == "Users"]
    rest_people = emulator.count_requests("github", "GET /users/{login}")
    # Every login seen asked once: 5 a query through GraphQL, the bots again through REST.
    assert len(batches) >= 3 and 0 < rest_people <= len(emulator.org.bots) + 1


def test_labels_and_review_requests_come_only_for_the_pull_requests_that_have_any(
        sieve_org, emulator, monkeypatch, rest_tables):
    expected = rest_rows(sieve_org, emulator, rest_tables)
    org = synced_with_smaller_pages(sieve_org, emulator, monkeypatch, "PARTS_PER_QUERY", 2)
    assert comparable(org) == expected
    repo = emulator.org.repo(ONE_REPO[0], "github")
    pulls = [pr for k in range(1, emulator.org.item_count(repo) + 1)
             if (pr := emulator.org.pull_request(repo, k))]
    with_parts = sum(1 for pr in pulls if pr.labels or pr.requested_reviewers)
    assert 0 < with_parts < len(pulls)
    parts = [q for q in app(emulator).queries if q.operation == "PullRequestParts"]
    assert len(parts) == -(-with_parts // 2)  # two pull requests a query, the others never
