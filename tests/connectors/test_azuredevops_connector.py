"""The Azure DevOps connector through the real sync path, against its emulator (tiny org)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from emulators.azuredevops import api as azuredevops_api
from resources.http import AuthenticationError, MalformedResponseError
from resources.sources.azuredevops import connector as azuredevops_module
from resources.sources.azuredevops.connector import (
    AzureDevOpsConnector,
    AzureDevOpsSettingsError,
)
from tests.harness import (
    FAULT_MODES,
    assert_reconnect_message,
    clean_sync_content,
    kill_fetch_after,
    sync_under_fault,
)

REPOS = "GET /{project}/_apis/git/repositories"
BUILDS = "GET /{project}/_apis/build/builds"
PULLS = "GET /{project}/_apis/git/repositories/{repositoryId}/pullrequests"
THREADS = "GET /{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads"
COMMITS = "GET /{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/commits"
WORK_ITEMS = "GET /{project}/_apis/wit/workitems"
UPDATES = "GET /{project}/_apis/wit/workItems/{id}/updates"
REVISIONS = "GET /{project}/_apis/wit/reporting/workitemrevisions"
ITERATIONS = "GET /{project}/{team}/_apis/work/teamsettings/iterations"
ITERATION_TREE = "GET /{project}/_apis/wit/classificationnodes/{group}"
# Requests a second in the rate-limit fault: the small-pages sync makes 130, so the window
# is used up three times, without the test waiting 30 s as it did at 8 a second.
WINDOW_LIMIT = 40
TABLES = list(AzureDevOpsConnector.entities)
STAGING = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "azuredevops"


def connect(org, emulator, **settings):
    project = emulator.org.azuredevops.project_name
    return org.connect_emulator(emulator, "azuredevops", **{"projects": [project], **settings})


def expected_counts(org) -> dict[str, int]:
    data = org.azuredevops
    prs = [pr for repo in data.repos for pr in data.pull_requests(repo)]
    people = {pr.author.index for pr in prs}
    for pr in prs:
        people.update(person.index for person, _ in data.reviewers(pr))
        if data.status(pr) == "completed":
            people.add((pr.merged_by or pr.author).index)
    boards = data.boards
    items = [boards.work_item(number) for number in boards.work_item_ids()]
    people.update(item.assignee.index for item in items if item.assignee is not None)
    return {
        "azuredevops_work_items": len(items),
        "azuredevops_work_item_revisions": sum(len(boards.updates(item)) for item in items),
        "azuredevops_iterations": len(boards.iterations()),
        "azuredevops_repositories": len(data.repos),
        "azuredevops_pull_requests": len(prs),
        "azuredevops_pr_votes": sum(len(data.votes(pr)) for pr in prs),
        "azuredevops_pr_commits": sum(len({c.sha for c in pr.commits}) for pr in prs),
        "azuredevops_builds": len(finished_builds(org)),
        "azuredevops_users": len(people | {b.requested_for.index for b in finished_builds(org)}),
    }


def transitions(boards, item) -> list:
    """The model's revisions that move the state or the iteration."""
    return [update for update in boards.updates(item)
            if {"System.State", "System.IterationPath"} & set(update.fields)]


def finished_builds(org) -> list:
    return [build for build in org.azuredevops.builds() if build.finished_at is not None]


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in TABLES}


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few items, so the tiny org spans several pages of every listing."""
    monkeypatch.setattr(azuredevops_module, "PAGE_SIZE", 4)
    monkeypatch.setattr(azuredevops_api, "REVISIONS_BATCH", 10)


def test_first_sync_lands_every_entity_with_the_model_counts(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    [summary] = org.sync("azuredevops")

    assert summary.error is None, summary.failure
    assert counts(org) == expected_counts(emulator.org)
    data = emulator.org.azuredevops
    repo = data.repos[0]
    pr = next(pr for pr in data.pull_requests(repo) if data.status(pr) == "completed")
    pr_id = data.pull_request_id(repo, pr.number)
    [row] = org.query("SELECT status, source_branch, target_branch, merge_commit_id, "
                      "author_unique_name, created_at, closed_at "
                      "FROM metadata.azuredevops_pull_requests WHERE pull_request_id = ?", [pr_id])
    assert row == ("completed", pr.head_ref, pr.base_ref, pr.merge_commit_sha or pr.head_sha,
                   pr.author.email, pr.created_at.replace(tzinfo=None, microsecond=(
                       pr.created_at.microsecond // 1000 * 1000)),
                   pr.closed_at.replace(tzinfo=None,
                                        microsecond=pr.closed_at.microsecond // 1000 * 1000))
    votes = org.query("SELECT reviewer_unique_name, vote FROM metadata.azuredevops_pr_votes "
                      "WHERE pull_request_id = ? ORDER BY thread_id", [pr_id])
    assert votes == [(review.author.email, vote) for review, vote in data.votes(pr)]
    assert org.query("SELECT default_branch FROM metadata.azuredevops_repositories") == [
        ("main",)] * len(data.repos)
    assert summary.http["requests"] == len(emulator.requests)
    # One repository listing, one pull request page per repository, each pull request's
    # threads and commits, the builds a hundred a page, then the work item revisions two
    # hundred a batch, one work items batch (24 ids), the default team's iterations and the
    # project's iteration tree — no request per work item: 1 + 2 + 2 × 30 + 2 + 1 + 1 + 2 = 69
    # (tiny).
    total = counts(org)["azuredevops_pull_requests"]
    assert emulator.count_requests("azuredevops", THREADS) == total
    assert emulator.count_requests("azuredevops", COMMITS) == total
    build_pages = -(-counts(org)["azuredevops_builds"] // 100)
    revision_batches = -(-counts(org)["azuredevops_work_item_revisions"] // 200)
    assert emulator.count_requests("azuredevops", UPDATES) == 0
    assert emulator.count_requests("azuredevops", REVISIONS) == revision_batches
    assert len(emulator.requests) == (1 + len(data.repos) + 2 * total + build_pages
                                      + revision_batches + 3) == 69
    [(deploys,)] = org.query("SELECT count(*) FROM metadata.azuredevops_builds "
                             "WHERE definition_name = 'deploy-production'")
    assert deploys == sum(1 for b in finished_builds(emulator.org)
                          if b.definition == "deploy-production") > 0


def test_unchanged_second_sync_lists_only_active_and_newly_closed(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("azuredevops")
    before = org.snapshot(TABLES)
    emulator.clear_requests()

    org.sync("azuredevops")

    assert org.snapshot(TABLES) == before
    # Per repository the active pull requests and those closed since, and the builds finished
    # since: nothing else changed.
    assert emulator.requests_per_endpoint("azuredevops") == {REPOS: 1, PULLS: 4, BUILDS: 1,
                                                             REVISIONS: 1, ITERATIONS: 1,
                                                             ITERATION_TREE: 1}
    # The revision stream resumes at the watermark the first sync reached: no revision again.
    boards = emulator.org.azuredevops.boards
    cursor = json.loads(org.connector_context("azuredevops").state.cursor(
        f"revisions:{boards.project_name}"))
    assert cursor == {"token": azuredevops_api.revisions_watermark(*boards.revision_index()[-1]),
                      "pending": []}
    [revisions] = [r for r in emulator.requests if r.endpoint == REVISIONS]
    assert revisions.query["continuationToken"] == cursor["token"]
    [builds] = [r for r in emulator.requests if r.endpoint == BUILDS]
    newest = max(b.finished_at for b in finished_builds(emulator.org))
    assert builds.query["minTime"] > newest.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
    closed = [r for r in emulator.requests if r.endpoint == PULLS
              and r.query["searchCriteria.status"] == "all"]
    assert len(closed) == 2 and all(
        r.query["searchCriteria.queryTimeRangeType"] == "closed" for r in closed)


def test_a_new_pull_request_is_picked_up_and_only_its_details_read(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("azuredevops")
    data = emulator.org.azuredevops
    repo = data.repos[0]
    number = emulator.org.add_pull_request(repo.name, host="azuredevops")
    emulator.clear_requests()

    org.sync("azuredevops")

    assert counts(org) == expected_counts(emulator.org)
    pr_id = data.pull_request_id(repo, number)
    assert org.query("SELECT status FROM metadata.azuredevops_pull_requests "
                     "WHERE pull_request_id = ?", [pr_id]) == [("active",)]
    details = {r.path.rsplit("/", 2)[-2] for r in emulator.requests
               if r.endpoint in (THREADS, COMMITS)}
    assert details == {str(pr_id)}


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_sync_under_fault_equals_a_clean_sync(sieve_org, emulator, monkeypatch, small_pages,
                                              mode):
    expected = clean_sync_content(sieve_org, emulator, "azuredevops", TABLES,
                                  projects=[emulator.org.azuredevops.project_name])
    org = sieve_org("faulty")
    connect(org, emulator)
    summaries = sync_under_fault(
        org, emulator, "azuredevops", mode,
        r"pullrequests|/commits|/builds|/workitemrevisions|/workitems|/iterations"
        r"|/classificationnodes", monkeypatch, window_limit=WINDOW_LIMIT)
    assert org.content(TABLES) == expected
    # The window is used up, so the client waits for its reset and goes on.
    assert mode != "rate_limit_window" or any(s.http.get("wait_seconds", 0) > 0
                                              for s in summaries)


def test_killed_sync_rerun_converges(sieve_org, emulator, monkeypatch, small_pages):
    expected = clean_sync_content(sieve_org, emulator, "azuredevops", TABLES,
                                  projects=[emulator.org.azuredevops.project_name])
    org = sieve_org("killed")
    connect(org, emulator)
    # The first repository's walk (about 30 batches) is durable, the second's is not.
    revive = kill_fetch_after(monkeypatch, AzureDevOpsConnector, 45)
    with pytest.raises(KeyboardInterrupt):
        org.sync("azuredevops")
    assert 0 < org.count("azuredevops_pull_requests") < expected_counts(emulator.org)[
        "azuredevops_pull_requests"]
    revive()
    emulator.clear_requests()

    org.sync("azuredevops")

    assert org.content(TABLES) == expected
    # The rerun resumed: the durable repository's pull requests were not read in detail again.
    assert emulator.count_requests("azuredevops", THREADS) < expected_counts(emulator.org)[
        "azuredevops_pull_requests"]


def test_no_canary_and_no_forbidden_pii_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("azuredevops")
    stored = "\n".join(org.stored_strings())
    planted = list(emulator.org.azuredevops.canary_texts())
    assert planted and "CANARY-" not in stored
    assert [p for p in emulator.forbidden_pii() if p in stored] == []
    # The free-text fields are never even asked for: their canaries never travel.
    [batch] = [r for r in emulator.requests if r.endpoint == WORK_ITEMS]
    asked = set(batch.query["fields"].split(","))
    assert asked == set(azuredevops_module.WORK_ITEM_FIELDS)
    assert not asked & {"System.Description", "System.History",
                        "Microsoft.VSTS.Common.AcceptanceCriteria"}
    # The revision stream is asked for state, iteration and time only: no title history.
    [revisions] = [r for r in emulator.requests if r.endpoint == REVISIONS]
    assert revisions.query["fields"].split(",") == [
        "System.State", "System.IterationPath", "System.ChangedDate"]


def test_work_items_land_with_their_state_and_iteration_transitions(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("azuredevops")
    boards = emulator.org.azuredevops.boards
    item = next(boards.work_item(n) for n in boards.work_item_ids()
                if boards.work_item(n).status == "Done" and boards.work_item(n).sprints)
    [row] = org.query("SELECT work_item_type, state, iteration_path, assigned_to_unique_name, "
                      "story_points, closed_at IS NOT NULL FROM metadata.azuredevops_work_items "
                      "WHERE id = ?", [item.number])
    assert row == ("User Story" if item.issue_type == "Story" else item.issue_type, "Closed",
                   boards.iteration_path(item.sprints[-1]),
                   item.assignee.email if item.assignee else None, item.story_points, True)
    # The staging model turns the stored revisions into the transitions the Updates API
    # shows: creation, then each revision that moved the state or the iteration.
    staging = (STAGING / "stg_azuredevops__work_item_updates.sql").read_text()
    staging = re.sub(r"\{\{ source\('metadata', '(\w+)'\) \}\}", r"metadata.\1", staging)
    moves = org.query(f"SELECT rev, from_state, to_state, from_iteration_path, "
                      f"to_iteration_path FROM ({staging}) WHERE work_item_id = ? ORDER BY rev",
                      [item.number])
    expected = [(u.rev, u.fields.get("System.State", {}).get("oldValue"),
                 u.fields.get("System.State", {}).get("newValue"),
                 u.fields.get("System.IterationPath", {}).get("oldValue"),
                 u.fields.get("System.IterationPath", {}).get("newValue"))
                for u in transitions(boards, item)]
    assert moves == expected and moves[-1][2] == "Closed"
    assert any(move[4] for move in moves[1:])  # a sprint move, not only the creation
    # Comment revisions (System.History) are not transitions and are not kept.
    assert len(moves) < len(boards.updates(item)) or not item.comments
    assert org.count("azuredevops_work_item_revisions") > org.query(
        f"SELECT count(*) FROM ({staging})")[0][0]


def test_a_changed_work_item_alone_is_read_again(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("azuredevops")
    before = org.snapshot(["azuredevops_work_items"])
    project = emulator.org.jira.projects[0]
    emulator.org.jira.touch_issue(f"{project.key}-5")
    emulator.clear_requests()

    org.sync("azuredevops")

    per_endpoint = emulator.requests_per_endpoint("azuredevops")
    assert (per_endpoint[REVISIONS], per_endpoint[WORK_ITEMS]) == (1, 1)
    assert UPDATES not in per_endpoint
    [batch] = [r for r in emulator.requests if r.endpoint == WORK_ITEMS]
    assert batch.query["ids"] == "5"
    assert org.snapshot(["azuredevops_work_items"]) != before
    assert counts(org) == expected_counts(emulator.org)


def test_iterations_the_default_team_has_not_selected_are_kept(sieve_org, emulator,
                                                                monkeypatch):
    """Another team's sprints are in the project's iteration tree, not in the default team's
    settings: they are kept (without a time frame), so their work items still have a sprint."""
    boards = emulator.org.azuredevops.boards
    every = boards.iterations()
    monkeypatch.setattr(type(boards), "team_iterations", lambda self: every[:3])
    org = sieve_org("acme")
    connect(org, emulator)
    [summary] = org.sync("azuredevops")
    assert summary.error is None, summary.failure
    rows = org.query("SELECT id, path, time_frame, start_at IS NOT NULL "
                     "FROM metadata.azuredevops_iterations")
    assert {row[0] for row in rows} == {boards.iteration_id(sprint) for sprint in every}
    assert {row[1] for row in rows} == {boards.iteration_path(sprint) for sprint in every}
    selected = {boards.iteration_id(sprint) for sprint in every[:3]}
    assert all((row[2] is not None) == (row[0] in selected) and row[3] for row in rows)


def test_a_missing_default_team_is_named_and_says_what_to_do(sieve_org, emulator,
                                                             monkeypatch):
    from emulators.azuredevops import data as azuredevops_data
    monkeypatch.setattr(azuredevops_data, "TEAM_SUFFIX", " Renamed")
    org = sieve_org("acme")
    connection = connect(org, emulator)
    message = str(org.sync_error("azuredevops", AzureDevOpsSettingsError))
    assert "'sieve-demo-apps Team'" in message and connection.id in message
    assert "VS402328" in message


def test_wrong_token_names_org_and_connection_and_says_reconnect(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("azuredevops", {
        "base_url": emulator.base_url("azuredevops"),
        "projects": [emulator.org.azuredevops.project_name]}, {"token": "not-the-pat"})
    error = org.sync_error("azuredevops", AuthenticationError)
    assert_reconnect_message(error, org, connection, "not-the-pat")
    assert counts(org) == dict.fromkeys(TABLES, 0)


def test_a_sign_in_page_instead_of_data_is_a_rejected_token(sieve_org, emulator):
    """An expired token gets Azure DevOps' sign-in page (203), not a 401."""
    org = sieve_org("acme")
    expired = emulator.apps["azuredevops"].EXPIRED_TOKEN
    connection = org.connect("azuredevops", {
        "base_url": emulator.base_url("azuredevops"),
        "projects": [emulator.org.azuredevops.project_name]}, {"token": expired})
    error = org.sync_error("azuredevops", AuthenticationError)
    assert "sign-in page" in str(error)
    assert_reconnect_message(error, org, connection, expired)
    assert counts(org) == dict.fromkeys(TABLES, 0)


def test_a_project_that_no_longer_exists_is_named_and_nothing_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    connection = connect(org, emulator, projects=[emulator.org.azuredevops.project_name,
                                                  "Retired"])
    message = str(org.sync_error("azuredevops", AzureDevOpsSettingsError))
    assert "'Retired'" in message and connection.id in message
    assert "TF200016" in message and "sieve connect acme azuredevops" in message
    assert counts(org) == dict.fromkeys(TABLES, 0)


def test_a_page_that_repeats_is_absorbed_not_double_counted(sieve_org, emulator, small_pages):
    org = sieve_org("acme")
    connect(org, emulator)
    emulator.faults.repeated_page(r"pullrequests.*skip=4", times=2, api="azuredevops")
    [summary] = org.sync("azuredevops")
    assert summary.error is None and len(emulator.faults.events) == 2
    assert counts(org) == expected_counts(emulator.org)


def test_a_continuation_token_that_repeats_stops_with_one_error(sieve_org, emulator,
                                                                 small_pages, monkeypatch):
    """A service sending the page it just sent as the next one would loop forever."""
    org = sieve_org("acme")
    connection = connect(org, emulator)
    first_token = azuredevops_api.continuation_token(4)
    monkeypatch.setattr(azuredevops_api, "continuation_token", lambda offset: first_token)
    message = str(org.sync_error("azuredevops", MalformedResponseError))
    assert connection.id in message and "'acme'" in message and "build/builds" in message
    # Pages 1 and 2 (whose token pointed back at page 2) are durable with their cursor; the
    # repeated page was not asked for again, so nothing of it was stored twice.
    assert org.count("azuredevops_builds") == 8
    assert counts(org)["azuredevops_pull_requests"] == expected_counts(emulator.org)[
        "azuredevops_pull_requests"]


def test_check_makes_one_request_and_reveals_no_personal_data(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    description = AzureDevOpsConnector(org.connector_context("azuredevops")).check()
    assert len(emulator.requests) == 1 and "2 repositories visible" in description


def test_a_sync_killed_among_work_items_resumes_after_the_durable_batches(sieve_org, emulator,
                                                                          monkeypatch):
    """Each durable revisions batch moves the cursor (its continuation token, with the work
    items changed but not read yet): the rerun reads only the revisions after it."""
    monkeypatch.setattr(azuredevops_module, "BATCH_SIZE", 5)
    monkeypatch.setattr(azuredevops_api, "REVISIONS_BATCH", 10)
    expected = clean_sync_content(sieve_org, emulator, "azuredevops", TABLES,
                                  projects=[emulator.org.azuredevops.project_name])
    org = sieve_org("killed")
    connect(org, emulator)
    original = AzureDevOpsConnector.fetch

    def dying_fetch(self):
        landed = 0
        for batch in original(self):
            if batch.entity == "azuredevops_work_item_revisions":
                landed += 1
                if landed > 2:
                    raise KeyboardInterrupt("killed mid-run")
            yield batch

    monkeypatch.setattr(AzureDevOpsConnector, "fetch", dying_fetch)
    with pytest.raises(KeyboardInterrupt):
        org.sync("azuredevops")
    assert org.count("azuredevops_work_item_revisions") == 20
    monkeypatch.setattr(AzureDevOpsConnector, "fetch", original)
    emulator.clear_requests()

    org.sync("azuredevops")

    assert org.content(TABLES) == expected
    # The rerun started at the second batch's watermark: the twenty durable revisions were
    # not read again, and the work items changed in them but not read yet were.
    total = expected_counts(emulator.org)["azuredevops_work_item_revisions"]
    first, *_ = [r for r in emulator.requests if r.endpoint == REVISIONS]
    assert first.query["continuationToken"] == azuredevops_api.revisions_watermark(
        *emulator.org.azuredevops.boards.revision_index()[19])
    assert emulator.count_requests("azuredevops", REVISIONS) == -(-(total - 20) // 10)


def test_a_continuation_token_that_repeats_in_the_revision_stream_stops_with_one_error(
        sieve_org, emulator, small_pages, monkeypatch):
    org = sieve_org("acme")
    connection = connect(org, emulator)
    monkeypatch.setattr(azuredevops_api, "revisions_watermark", lambda *_: "1;1;1")
    message = str(org.sync_error("azuredevops", MalformedResponseError))
    assert connection.id in message and "workitemrevisions" in message
    # The first batch (whose token pointed back at itself) is durable; none twice.
    assert org.count("azuredevops_work_item_revisions") == 10


def test_a_work_item_deleted_after_its_revision_is_left_out(sieve_org, emulator, monkeypatch):
    """Deleted between the revision stream and the work items batch: the batch omits it
    (errorPolicy=omit) instead of failing for all two hundred."""
    org = sieve_org("acme")
    connect(org, emulator)
    boards = emulator.org.azuredevops.boards
    project = emulator.org.jira.projects[0]
    gone = boards.work_item_ids()[3]
    read_batch = AzureDevOpsConnector._work_item_batches

    def deleting_first(self, project_name, ids):
        emulator.org.jira.delete_issue(f"{project.key}-{gone}")
        return read_batch(self, project_name, ids)

    monkeypatch.setattr(AzureDevOpsConnector, "_work_item_batches", deleting_first)
    [summary] = org.sync("azuredevops")
    assert summary.error is None, summary.failure
    stored = {row[0] for row in org.query("SELECT id FROM metadata.azuredevops_work_items")}
    assert gone not in stored and len(stored) == len(boards.work_item_ids())
