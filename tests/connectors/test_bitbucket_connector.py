"""The Bitbucket Cloud connector through the real sync path, against its emulator (tiny org)."""

from __future__ import annotations

import pytest

from emulators.bitbucket.api import BitbucketApp
from resources.http import AuthenticationError, PermissionDeniedError
from resources.sources.bitbucket import connector as bitbucket_module
from resources.sources.bitbucket.connector import BitbucketConnector, BitbucketSettingsError
from tests.harness import (
    FAULT_MODES,
    assert_reconnect_message,
    kill_fetch_after,
    sync_under_fault,
)

REPO = "/repositories/{workspace}/{repo_slug}"
PULLS = f"GET {REPO}/pullrequests"
PULL = f"GET {REPO}/pullrequests/{{pull_request_id}}"
PULL_COMMITS = f"GET {REPO}/pullrequests/{{pull_request_id}}/commits"
TABLES = list(BitbucketConnector.entities)
# Requests per rate-limit window in the fault case: Bitbucket's 429 says nothing of when the
# window refills, so each one costs the client a backoff of a second or more.
WINDOW_LIMIT = 40


def settings(emulator, **extra) -> dict:
    return {"workspace": emulator.org.bitbucket.workspace, **extra}


_clean: dict[str, dict] = {}


def clean_sync_content(sieve_org, emulator) -> dict:
    """``content`` after a clean full sync of the workspace, once per session."""
    if "bitbucket" not in _clean:
        org = sieve_org("clean-bitbucket")
        org.connect_emulator(emulator, "bitbucket", **settings(emulator))
        org.sync("bitbucket")
        _clean["bitbucket"] = org.content(TABLES)
        emulator.reset()
    return _clean["bitbucket"]


def expected_counts(org) -> dict[str, int]:
    data = org.bitbucket
    repos = data.live_repos()
    prs = [pr for repo in repos for pr in data.pull_requests(repo)]
    return {
        "bitbucket_repositories": len(repos),
        "bitbucket_pull_requests": len(prs),
        "bitbucket_pr_participants": sum(len(data.participants(pr)) for pr in prs),
        "bitbucket_pr_commits": sum(len(pr.commits) for pr in prs),
        "bitbucket_commits": sum(len(data.commits(repo)) for repo in repos),
        "bitbucket_pipelines": sum(len(data.pipelines(repo)) for repo in repos),
        "bitbucket_environments": 2 * len(repos),
        "bitbucket_deployments": sum(len(data.deployments(repo)) for repo in repos),
        "bitbucket_users": len(data.members()),
    }


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in TABLES}


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few items, so the tiny org spans several pages of every listing."""
    monkeypatch.setattr(bitbucket_module, "PAGE_SIZE", 7)
    monkeypatch.setattr(bitbucket_module, "PULL_REQUEST_PAGE_SIZE", 4)


def test_first_sync_lands_every_entity_with_the_model_counts(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "bitbucket", **settings(emulator))
    [summary] = org.sync("bitbucket")

    assert summary.error is None, summary.failure
    assert counts(org) == expected_counts(emulator.org)
    data = emulator.org.bitbucket
    repo = data.repos[0]
    pr = next(pr for pr in data.pull_requests(repo) if any(
        p.approved for p in data.participants(pr)))
    approver = next(p for p in data.participants(pr) if p.approved)
    assert org.query(
        "SELECT role, is_approved, state, participated_at FROM metadata.bitbucket_pr_participants "
        "WHERE pull_request_number = ? AND user_account_id = ? AND repository_uuid = ?",
        [pr.number, approver.person.jira_account_id, data.repo_uuid(repo)]) == [
        ("REVIEWER", True, "approved", approver.participated_on.replace(tzinfo=None))]
    commit = data.commits(repo)[0]
    [(email, account)] = org.query(
        "SELECT author_email, author_account_id FROM metadata.bitbucket_commits WHERE sha = ?",
        [commit.sha])
    assert email == commit.author.commit_email
    # Pull requests are asked for by update time, every state, oldest update first.
    listed = [r for r in emulator.requests if r.endpoint == PULLS]
    assert listed and all(r.query["sort"] == "updated_on"
                          and r.query["q"].startswith('updated_on > "') for r in listed)
    assert summary.http["requests"] == len(emulator.requests)
    # Per repository: environments, pull requests, commits, pipelines, deployments (one page
    # each at 100), and a detail plus commits per pull request; members and repositories once.
    prs = expected_counts(emulator.org)["bitbucket_pull_requests"]
    assert len(emulator.requests) == 2 + 5 * len(data.repos) + 2 * prs


def test_unchanged_second_sync_reads_each_listing_once_and_changes_nothing(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "bitbucket", **settings(emulator))
    org.sync("bitbucket")
    before = org.snapshot(TABLES)
    emulator.clear_requests()

    org.sync("bitbucket")

    assert org.snapshot(TABLES) == before
    # No pull request detail or commits: one page per listing, nothing else.
    repos = len(emulator.org.bitbucket.repos)
    assert emulator.requests_per_endpoint("bitbucket") == {
        "GET /workspaces/{workspace}/members": 1, "GET /repositories/{workspace}": 1,
        f"GET {REPO}/environments": repos, PULLS: repos,
        f"GET {REPO}/commits/{{revision}}": repos, f"GET {REPO}/pipelines": repos,
        f"GET {REPO}/deployments": repos}


def test_next_sync_picks_up_a_new_and_an_updated_pull_request_only(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "bitbucket", **settings(emulator))
    org.sync("bitbucket")
    data = emulator.org.bitbucket
    slug = data.repos[0].name
    added = data.add_pull_request(slug)
    data.touch_pull_request(slug, 3)
    emulator.clear_requests()

    org.sync("bitbucket")

    assert counts(org) == expected_counts(emulator.org)
    assert org.query("SELECT state FROM metadata.bitbucket_pull_requests WHERE number = ? "
                     "AND repository_uuid = ?", [added, data.repo_uuid(data.repos[0])]) == [
        ("OPEN",)]
    assert emulator.count_requests("bitbucket", PULL) == 2
    assert emulator.count_requests("bitbucket", PULL_COMMITS) == 2


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_sync_under_fault_equals_a_clean_sync(sieve_org, emulator, monkeypatch, small_pages,
                                              mode):
    expected = clean_sync_content(sieve_org, emulator)
    org = sieve_org("faulty")
    org.connect_emulator(emulator, "bitbucket", **settings(emulator))
    [summary] = sync_under_fault(org, emulator, "bitbucket", mode,
                                 r"/pullrequests\?|/pipelines", monkeypatch,
                                 window_limit=WINDOW_LIMIT)
    assert org.content(TABLES) == expected
    # The window ran out more than once (about 100 requests at these page sizes).
    assert mode != "rate_limit_window" or summary.http["retries"] >= 2


def test_killed_sync_rerun_converges(sieve_org, emulator, monkeypatch, small_pages):
    expected = clean_sync_content(sieve_org, emulator)
    org = sieve_org("killed")
    org.connect_emulator(emulator, "bitbucket", **settings(emulator))
    revive = kill_fetch_after(monkeypatch, BitbucketConnector, 30)
    with pytest.raises(KeyboardInterrupt):
        org.sync("bitbucket")
    assert 0 < org.count("bitbucket_pull_requests") < expected_counts(emulator.org)[
        "bitbucket_pull_requests"]
    revive()
    emulator.clear_requests()

    org.sync("bitbucket")

    assert org.content(TABLES) == expected
    # The rerun resumed pull requests after the last durable page, not from the history start.
    first = next(r for r in emulator.requests if r.endpoint == PULLS)
    assert first.query["q"] > 'updated_on > "2026-05'


def test_wrong_token_fails_with_one_message_naming_the_connection(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect(
        "bitbucket", {"base_url": emulator.base_url("bitbucket"), **settings(emulator)},
        {"token": "bb-not-a-token"})
    error = org.sync_error("bitbucket", AuthenticationError)
    assert_reconnect_message(error, org, connection, "bb-not-a-token")
    assert org.count("bitbucket_users") == 0


def test_token_without_the_pipeline_scope_says_what_is_missing(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect("bitbucket", {"base_url": emulator.base_url("bitbucket"), **settings(emulator)},
                {"token": BitbucketApp.NO_PIPELINES_TOKEN})
    error = org.sync_error("bitbucket", PermissionDeniedError)
    assert "pipelines" in str(error) and "acme" in str(error)


def test_app_password_with_its_username_reads_the_workspace(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect("bitbucket", {"base_url": emulator.base_url("bitbucket"),
                              **settings(emulator, username=BitbucketApp.USERNAME)},
                {"token": BitbucketApp.APP_PASSWORD})
    [summary] = org.sync("bitbucket")
    assert summary.error is None, summary.failure
    assert counts(org) == expected_counts(emulator.org)


def test_a_configured_repository_that_no_longer_exists_fails_naming_it(sieve_org, emulator):
    org = sieve_org("acme")
    data = emulator.org.bitbucket
    connection = org.connect_emulator(emulator, "bitbucket", **settings(
        emulator, repositories=[repo.name for repo in data.repos]))
    data.delete_repository(data.repos[1].name)
    error = org.sync_error("bitbucket", BitbucketSettingsError)
    message = str(error)
    assert f"{data.workspace}/{data.repos[1].name}" in message and connection.id in message
    assert "no longer exists" in message and "--repositories" in message


def test_a_repository_gone_from_the_workspace_is_no_longer_read(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "bitbucket", **settings(emulator))
    org.sync("bitbucket")
    data = emulator.org.bitbucket
    data.delete_repository(data.repos[1].name)
    emulator.clear_requests()

    [summary] = org.sync("bitbucket")

    assert summary.error is None, summary.failure
    assert all(data.repos[1].name not in r.path for r in emulator.requests)
