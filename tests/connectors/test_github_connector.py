"""The GitHub connector against the GitHub emulator, through the product's real sync path
(control plane, vault, HTTP layer, sync engine, encrypted DuckDB)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from emulators import server as emulator_server
from emulators.org import CANARY_PREFIX
from resources.http import AuthenticationError, NotFoundError
from resources.retention.upstream import keys_still_upstream
from resources.sources.connector import ConnectorContext, RawBatch, SyncState
from resources.sources.github import connector as github
from resources.sources.github.connector import (
    GitHubConnector,
    HighWaterMark,
    NewestFirstWalk,
    RepositoryRef,
    run_floor,
)
from resources.storage.org_config import OrgConfig
from tests.harness import waits_in_emulated_time

OWNER = "sieve-demo"
USERS_ENDPOINT = "GET /users/{login}"
ONE_REPO = {"repos": ["web-app"]}


@pytest.fixture(autouse=True)
def _emulator_without_nagle_delay(monkeypatch):
    """The emulator writes headers and body in separate sends without TCP_NODELAY, so every
    answer waits ~40 ms for a delayed ACK (reported to the emulators' owner). Setting it on
    each accepted connection keeps these tests within their time budget."""
    setup = emulator_server._Handler.setup

    def setup_without_nagle(handler):
        setup(handler)
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    monkeypatch.setattr(emulator_server._Handler, "setup", setup_without_nagle)


# -- expectations from the emulator's org model ------------------------------------------------


def pulls_of(org, repo):
    return [pr for k in range(1, org.item_count(repo) + 1)
            if (pr := org.pull_request(repo, k)) is not None]


def issues_of(org, repo):
    return [issue for k in range(1, org.item_count(repo) + 1)
            if (issue := org.issue(repo, k)) is not None]


def expected_counts(org, repo_names=None) -> dict[str, int]:
    repos = [r for r in org.repos if repo_names is None or r.name in repo_names]
    pulls = [pr for repo in repos for pr in pulls_of(org, repo)]
    deployments = [d for repo in repos for d in org.deployments(repo)]
    releases = [rel for repo in repos for rel in org.releases(repo)]
    return {
        "github_repositories": len(repos),
        "github_pull_requests": len(pulls),
        "github_pull_request_reviews": sum(len(pr.reviews) for pr in pulls),
        "github_pull_request_commits": sum(len(pr.commits) for pr in pulls),
        "github_issues": sum(len(issues_of(org, repo)) for repo in repos),
        "github_commits": sum(len(org.default_branch_commits(repo)) for repo in repos),
        "github_deployments": len(deployments),
        "github_deployment_statuses": sum(len(d.statuses) for d in deployments),
        "github_releases": len(releases),
        "github_tags": len({(rel.repo.name, rel.tag) for rel in releases}),
        # Only the production deploy workflow's runs: CI's are never listed.
        "github_workflow_runs": sum(len(org.deploy_runs(repo)) for repo in repos),
        # No service rules configured here (tests/connectors/test_github_services.py has them).
        "github_pull_request_services": 0,
    }


# -- helpers -----------------------------------------------------------------------------------


def connect(org, emulator, **settings):
    return org.connect_emulator(emulator, "github", owner=OWNER, **settings)


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in org.snapshot()}


def rows_without_connection(org) -> dict[str, list[tuple]]:
    """The snapshot minus the connection id (first column), to compare two connections."""
    return {table: sorted((row[1:] for row in rows), key=repr)
            for table, rows in org.snapshot().items()}


def stored_strings(org) -> list[str]:
    values = []
    for rows in org.snapshot().values():
        for row in rows:
            for value in row:
                values += value if isinstance(value, list) else [value]
    return [value for value in values if isinstance(value, str)]


def referenced_logins(org) -> set[str]:
    columns = {
        "github_pull_requests": ("author_login", "merged_by_login"),
        "github_pull_request_reviews": ("reviewer_login",),
        "github_pull_request_commits": ("author_login", "committer_login"),
        "github_commits": ("author_login", "committer_login"),
        "github_issues": ("author_login",),
        "github_deployments": ("creator_login",),
        "github_deployment_statuses": ("creator_login",),
        "github_releases": ("author_login",),
        "github_workflow_runs": ("actor_login", "triggering_actor_login"),
    }
    logins = set()
    for table, names in columns.items():
        for name in names:
            logins |= {row[0] for row in org.query(
                f"SELECT DISTINCT {name} FROM metadata.{table} WHERE {name} IS NOT NULL")}
    for table in ("github_pull_requests", "github_issues"):
        logins |= {row[0] for row in org.query(
            f"SELECT DISTINCT unnest(assignee_logins) FROM metadata.{table}")}
    return logins


def connector_for(org, connection) -> GitHubConnector:
    control_plane = org.sieve.control_plane
    return GitHubConnector(ConnectorContext(
        org.slug, connection, control_plane.credentials(connection),
        SyncState(control_plane, connection.id)))


# -- first and unchanged syncs ------------------------------------------------------------------


def test_first_sync_lands_every_entity_and_an_unchanged_resync_is_conditional(
        sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)

    org.sync("github")
    first = emulator.requests_per_endpoint("github")
    runs_listed = [r for r in emulator.requests
                   if r.endpoint == "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"]
    users_not_found = {unquote(r.path.rsplit("/", 1)[1]) for r in emulator.requests
                       if r.endpoint == USERS_ENDPOINT and r.status == 404}
    after_first = org.snapshot()
    emulator.clear_requests()
    org.sync("github")
    second = list(emulator.requests)
    emulator.clear_requests()
    org.sync("github")
    third = list(emulator.requests)

    stored = counts(org)
    assert {t: n for t, n in stored.items() if t != "github_users"} == \
        expected_counts(emulator.org)
    assert first["GET /repos/{owner}/{repo}/pulls/{number}"] == stored["github_pull_requests"]
    assert "GET /repos/{owner}/{repo}/pulls/{number}/files" not in first
    assert "GET /repos/{owner}/{repo}/commits/{sha}" not in first
    # The runs' pull requests are not kept, so not asked for.
    assert runs_listed and all(r.query.get("exclude_pull_requests") == "true"
                               for r in runs_listed)
    # Only the deploy workflow's runs are listed, one listing per repository.
    assert len(runs_listed) == len(emulator.org.repos)
    assert "GET /repos/{owner}/{repo}/actions/runs" not in first
    # The emulator answers 404 for bots (it does not decode "%5Bbot%5D") and for web-flow;
    # a 404 is skipped like a deleted account.
    assert users_not_found <= {p.login for p in emulator.org.bots} | {"web-flow"}
    user_logins = {row[0] for row in org.query("SELECT login FROM metadata.github_users")}
    assert user_logins == referenced_logins(org) - users_not_found
    assert first[USERS_ENDPOINT] == len(referenced_logins(org))

    assert org.snapshot() == after_first
    assert all(r.conditional for r in second)
    # Only the issue listings' `since` boundary answers 200 once (GitHub's since is inclusive),
    # and the people on that boundary issue are asked for, conditionally.
    assert {r.endpoint for r in second if r.status != 304} <= {
        "GET /repos/{owner}/{repo}/issues"}
    assert all(r.conditional and r.status == 304 for r in third)
    assert len(third) == 1 + 6 * len(emulator.org.repos)

    strings = stored_strings(org)
    assert not [s for s in strings if CANARY_PREFIX in s]
    assert not [pii for pii in emulator.forbidden_pii() if any(pii in s for s in strings)]


# -- upstream changes --------------------------------------------------------------------------


def test_upstream_changes_are_picked_up_without_refetching_unchanged_pull_requests(
        sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator, **ONE_REPO)
    org.sync("github")
    repo = emulator.org.repo("web-app")
    touched = pulls_of(emulator.org, repo)[0].number
    touched_at = emulator.org.touch_pull_request("web-app", touched)
    added = emulator.org.add_pull_request("web-app")

    emulator.clear_requests()
    org.sync("github")

    assert counts(org)["github_pull_requests"] == \
        expected_counts(emulator.org, ONE_REPO["repos"])["github_pull_requests"]
    assert org.query("SELECT updated_at FROM metadata.github_pull_requests "
                     "WHERE repository_id = ? AND number = ?", [repo.repo_id, touched]) == \
        [(touched_at.astimezone(UTC).replace(tzinfo=None),)]
    assert org.query("SELECT count(*) FROM metadata.github_pull_requests "
                     "WHERE repository_id = ? AND number = ?", [repo.repo_id, added]) == [(1,)]
    per_endpoint = emulator.requests_per_endpoint("github")
    for child in ("", "/reviews", "/commits"):
        assert per_endpoint[f"GET /repos/{{owner}}/{{repo}}/pulls/{{number}}{child}"] == 2
    assert "GET /repos/{owner}/{repo}/deployments/{id}/statuses" not in per_endpoint


# -- faults ------------------------------------------------------------------------------------

def exhaust_a_short_rate_limit_window(faults):
    faults.rate_limit("github", 1000, window_seconds=2)
    faults.exhaust_rate_limit("github")


# fault name -> (install it, whether the sync waits in the emulator's time: a rate-limit wait
# that moved no clock would never end, and the sync would give up instead of waiting).
FAULTS = {
    "5xx burst": (lambda faults: faults.server_errors(r"/pulls/\d+$", times=4), False),
    "secondary rate limit": (lambda faults: faults.secondary_rate_limit(
        "/deployments", times=1, retry_after=1), True),
    "primary rate limit": (exhaust_a_short_rate_limit_window, True),
    "timeout": (lambda faults: faults.slow("/issues", seconds=0.6, times=1), False),
    "truncated json": (lambda faults: faults.truncated_json("/statuses", times=3), False),
    "invalid json": (lambda faults: faults.invalid_json("/reviews", times=2), False),
    "page repeating items": (lambda faults: faults.repeated_page("page=2", times=6), False),
    "dropped connection": (lambda faults: faults.dropped_connection("/commits", times=2), False),
}


@pytest.fixture(scope="module")
def clean_rows() -> dict:
    """Clean-sync tables by settings, computed once: the emulator is deterministic."""
    return {}


def clean_sync_rows(sieve_org, emulator, cache: dict, name: str, **settings):
    key = repr(sorted(settings.items()))
    if key not in cache:
        clean = sieve_org(name)
        connect(clean, emulator, **settings)
        clean.sync("github")
        cache[key] = rows_without_connection(clean)
        emulator.reset()
    return cache[key]


@pytest.mark.parametrize("fault", FAULTS)
def test_sync_under_a_fault_ends_with_the_clean_tables(sieve_org, emulator, monkeypatch,
                                                       clean_rows, fault):
    # Small pages so listings have second pages to repeat; a short read timeout for "timeout".
    monkeypatch.setattr(github, "PAGE_SIZE", 10)
    monkeypatch.setattr(github, "REQUEST_TIMEOUT", (2.0, 0.3))
    expected = clean_sync_rows(sieve_org, emulator, clean_rows, "clean", **ONE_REPO)
    org = sieve_org("faulty")
    connect(org, emulator, **ONE_REPO)
    install, waits = FAULTS[fault]
    fetch = GitHubConnector.fetch

    def fetch_under_fault(self):
        # Installed right before the first request, so a wall-clock window cannot lapse first.
        install(emulator.faults)
        yield from fetch(self)

    monkeypatch.setattr(GitHubConnector, "fetch", fetch_under_fault)

    summaries = org.sync("github", **(waits_in_emulated_time(emulator) if waits else {}))

    if fault == "primary rate limit":
        assert summaries[0].http["wait_seconds"] > 0
    else:
        assert emulator.faults.events
    assert rows_without_connection(org) == expected


def test_killed_sync_rerun_converges_to_the_clean_tables(sieve_org, emulator, monkeypatch,
                                                         clean_rows):
    expected = clean_sync_rows(sieve_org, emulator, clean_rows, "clean", **ONE_REPO)
    org = sieve_org("killed")
    connect(org, emulator, **ONE_REPO)
    fetch = GitHubConnector.fetch

    def fetch_then_die(self):
        for number, batch in enumerate(fetch(self)):
            if number == 40:
                raise RuntimeError("killed mid-run")
            yield batch

    monkeypatch.setattr(GitHubConnector, "fetch", fetch_then_die)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        org.sync("github")
    monkeypatch.setattr(GitHubConnector, "fetch", fetch)
    org.sync("github")

    assert rows_without_connection(org) == expected


def test_a_killed_pull_request_walk_resumes_below_what_it_stored(sieve_org, emulator,
                                                                 monkeypatch):
    monkeypatch.setattr(github, "PAGE_SIZE", 5)
    org = sieve_org("acme")
    connect(org, emulator, **ONE_REPO)
    fetch = GitHubConnector.fetch

    def fetch_until_first_listing_page_is_stored(self):
        for batch in fetch(self):
            yield batch
            if any(stream.startswith("pulls:") for stream in batch.cursors):
                raise RuntimeError("killed mid-run")

    monkeypatch.setattr(GitHubConnector, "fetch", fetch_until_first_listing_page_is_stored)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        org.sync("github")
    monkeypatch.setattr(GitHubConnector, "fetch", fetch)
    emulator.clear_requests()
    org.sync("github")

    pulls = expected_counts(emulator.org, ONE_REPO["repos"])["github_pull_requests"]
    assert counts(org)["github_pull_requests"] == pulls
    assert emulator.requests_per_endpoint("github")[
        "GET /repos/{owner}/{repo}/pulls/{number}"] == pulls - 5


# -- connection settings and errors ------------------------------------------------------------


def test_enterprise_base_url_and_a_repository_list(sieve_org, emulator):
    org = sieve_org("acme")
    names = [emulator.org.repos[1].name]
    connection = org.connect(
        "github", {"owner": OWNER, "repos": names,
                   "base_url": emulator.base_url("github") + "/api/v3"},
        emulator.credentials("github"))

    description = connector_for(org, connection).check()
    org.sync("github")
    before = org.snapshot()
    emulator.clear_requests()
    org.sync("github")

    assert description == f"GitHub organization {OWNER!r} on 127.0.0.1:{emulator.port}"
    stored = counts(org)
    assert {t: n for t, n in stored.items() if t != "github_users"} == \
        expected_counts(emulator.org, names)
    assert org.snapshot() == before
    assert emulator.requests_per_endpoint("github")["GET /repos/{owner}/{repo}"] == len(names)
    assert all(r.conditional for r in emulator.requests)


def test_check_falls_back_to_a_user_account_owner(sieve_org, emulator):
    org = sieve_org("acme")
    login = emulator.org.humans[1].login
    connection = org.connect_emulator(emulator, "github", owner=login)

    description = connector_for(org, connection).check()

    assert description == f"GitHub user account {login!r} on 127.0.0.1:{emulator.port}"
    assert [r.endpoint for r in emulator.requests] == ["GET /orgs/{org}", USERS_ENDPOINT]


def test_a_rejected_token_names_the_org_and_connection_and_says_to_reconnect(
        sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("github", {"owner": OWNER, "base_url": emulator.base_url("github")},
                             {"token": "not-the-token"})

    error = org.sync_error("github", AuthenticationError)

    message = str(error)
    assert "'acme'" in message and repr(connection.id) in message
    assert "sieve connect acme github" in message
    assert "not-the-token" not in message


# -- cursor arithmetic -------------------------------------------------------------------------

T0 = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def test_high_water_mark_tells_a_same_second_update_from_the_item_already_stored():
    mark = HighWaterMark()
    assert mark.is_new(T0, "1") and not mark.is_past(T0)
    mark.advance(T0, "1")
    mark.advance(T0 - timedelta(seconds=1), "2")

    stored = HighWaterMark.parse(mark.dumps())

    assert stored == HighWaterMark(T0, {"1"})
    assert not stored.is_new(T0, "1")
    assert stored.is_new(T0, "3")
    assert stored.is_new(T0 + timedelta(seconds=1), "1")
    assert stored.is_past(T0 - timedelta(seconds=1))
    assert HighWaterMark().dumps() is None


def test_a_resumed_walk_fetches_what_changed_above_it_and_what_lies_below_it():
    walk = NewestFirstWalk()
    walk.stored(T0, "9")
    walk.stored(T0 - timedelta(hours=2), "7")
    walk.stored(T0 - timedelta(hours=2), "6")

    resumed = NewestFirstWalk.parse(walk.dumps())

    assert resumed.needs(T0 + timedelta(seconds=1), "9")  # changed since it was stored
    assert resumed.needs(T0, "10")  # same second as the top, not stored there
    assert not resumed.needs(T0, "9")
    assert not resumed.needs(T0 - timedelta(hours=1), "8")  # inside the stored span
    assert not resumed.needs(T0 - timedelta(hours=2), "6")
    assert resumed.needs(T0 - timedelta(hours=2), "5")  # at the floor, not stored yet
    assert resumed.needs(T0 - timedelta(days=1), "1")
    assert not resumed.is_past(T0 - timedelta(days=1))
    finished = resumed.completed()
    assert finished == NewestFirstWalk(HighWaterMark(T0, {"9"}))
    assert not finished.needs(T0 - timedelta(hours=1), "8")
    assert finished.is_past(T0 - timedelta(hours=1))


def test_run_floor_waits_for_unfinished_runs_but_not_for_stuck_ones():
    assert run_floor(T0, None) == T0
    assert run_floor(T0, T0 - timedelta(hours=5)) == T0 - timedelta(hours=5)
    assert run_floor(T0, T0 - timedelta(days=4)) == T0


def test_only_the_runs_of_workflows_matching_the_production_names_are_listed(
        sieve_org, emulator):
    """A workflow that starts to match (the organization changed its patterns) is walked from
    its first run; one that does not is never listed, its runs never downloaded."""
    org = sieve_org("acme")
    connection = connect(org, emulator, **ONE_REPO)
    repo = emulator.org.repo("web-app")
    ref = RepositoryRef(repo.repo_id, f"{OWNER}/web-app", None)

    def runs_listed(workflow_names: tuple[str, ...]) -> tuple[list[int], set[str]]:
        control_plane = org.sieve.control_plane
        connector = GitHubConnector(ConnectorContext(
            org.slug, connection, control_plane.credentials(connection),
            SyncState(control_plane, connection.id), workflow_names=workflow_names))
        emulator.clear_requests()
        ids = [run["id"] for batch in connector._workflow_runs(ref) for run in batch.records]
        return ids, {r.path.rsplit("/", 2)[-2] for r in emulator.requests
                     if r.endpoint.endswith("/runs")}

    deploy_only, listed = runs_listed(("(?i)deploy.*prod",))
    assert deploy_only == [run.run_id for run in emulator.org.deploy_runs(repo)]
    assert listed == {str(repo.repo_id * 10 + 2)}
    nothing, listed = runs_listed(("(?i)^release$",))
    assert nothing == [] and listed == set()
    ci_too, _ = runs_listed(("(?i)deploy.*prod", "^CI$"))
    assert sorted(ci_too) == sorted(run.run_id for run in emulator.org.all_workflow_runs(repo))


def test_reconciling_lists_the_runs_of_the_organizations_deploy_workflows(sieve_org, emulator):
    """Runs are listed upstream as a sync lists them (the organization's own patterns), so a
    run a sync stores is never taken for deleted upstream by the reconciliation."""
    org = sieve_org("acme")
    connection = connect(org, emulator, **ONE_REPO)
    repo = emulator.org.repo("web-app")
    own = OrgConfig(production_workflow_names=("^CI$",))

    listed = keys_still_upstream(org.sieve.control_plane, org.slug, connection, own)

    assert listed.keys["github_workflow_runs"] == {
        (run.run_id,) for run in emulator.org.workflow_runs(repo)}


class StoredMarkOnly:
    """A sync state holding one cursor and no validator: the listing answers 200 again."""

    def __init__(self, cursors: dict[str, str]):
        self.cursors = cursors

    def cursor(self, stream: str) -> str | None:
        return self.cursors.get(stream)

    def get(self, key: str) -> None:
        return None

    def put(self, key: str, etag: str | None, last_modified: str | None) -> None:
        """Nothing kept."""


def test_the_deployments_listing_stops_where_deployments_have_settled(
        sieve_org, emulator, monkeypatch):
    monkeypatch.setattr(github, "PAGE_SIZE", 10)
    org = sieve_org("acme")
    connection = connect(org, emulator, **ONE_REPO)
    repo = emulator.org.repo("web-app")
    newest_first = emulator.org.deployments(repo)
    top = max(newest_first, key=lambda d: (d.updated_at, d.deployment_id))
    mark = HighWaterMark(top.updated_at.astimezone(UTC).replace(microsecond=0),
                         {str(top.deployment_id)})
    settled = mark.at - github.DEPLOYMENT_SETTLE_LIMIT
    first_settled = next(i for i, d in enumerate(newest_first) if d.created_at < settled)
    connector = GitHubConnector(ConnectorContext(
        org.slug, connection, org.sieve.control_plane.credentials(connection),
        StoredMarkOnly({f"deployments:{repo.repo_id}": mark.dumps()})))

    emulator.clear_requests()
    batches = list(connector._deployments(RepositoryRef(repo.repo_id, f"{OWNER}/web-app", None)))

    pages = [r for r in emulator.requests if r.endpoint == "GET /repos/{owner}/{repo}/deployments"]
    assert len(pages) == first_settled // 10 + 1 < -(-len(newest_first) // 10)
    # Nothing changed past the mark: no statuses asked for.
    assert not [b for b in batches if b.entity == "github_deployment_statuses"]


def test_a_disabled_optional_stream_is_skipped_after_what_it_yielded(sieve_org, emulator):
    org = sieve_org("acme")
    connector = connector_for(org, connect(org, emulator))
    first = RawBatch("github_workflow_runs", [])

    def disabled_after_one_batch():
        yield first
        raise NotFoundError("Actions is disabled")

    repo = RepositoryRef(1, f"{OWNER}/web-app", None)
    assert list(connector._optional(disabled_after_one_batch(), repo, "workflow runs")) == [first]


def test_the_sync_caps_duckdb_memory_whatever_the_org_size(sieve_org, emulator, monkeypatch):
    """DuckDB's memory and threads are bounded during a sync, on every connection the store
    opens (bench/ measures the RSS it gives)."""
    from contextlib import contextmanager

    from resources.sync import engine as sync_engine

    limits = []
    real_open_store = sync_engine.open_store

    @contextmanager
    def spying_open_store(path, key, **options):
        with real_open_store(path, key, **options) as store:
            limits.append(store.connection.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')").fetchone())
            yield store

    monkeypatch.setattr(sync_engine, "open_store", spying_open_store)
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("github")
    assert (sync_engine.SYNC_MEMORY_LIMIT_MB, sync_engine.SYNC_THREADS) == (32, 1)
    assert limits == [("30.5 MiB", 1)]  # DuckDB reports 32 MB (10^6 bytes) in MiB


def test_a_sync_reopening_its_store_every_few_rows_stores_the_same_tables(
        sieve_org, emulator, monkeypatch, clean_rows):
    """What the memory limit does not cover is shed by reopening the store as rows are written;
    the reopened store goes on writing the same rows, and a sync too small to need it never
    reopens (bench/ measures the flat RSS this gives)."""
    from resources.storage.metadata_store import MetadataStore
    from resources.sync import engine as sync_engine

    expected = clean_sync_rows(sieve_org, emulator, clean_rows, "clean", **ONE_REPO)
    every = sync_engine.REOPEN_STORE_ROWS
    reopened = []
    reopen = MetadataStore.reopen

    def counting_reopen(store):
        reopened.append(store.connection)
        reopen(store)

    monkeypatch.setattr(MetadataStore, "reopen", counting_reopen)
    monkeypatch.setattr(sync_engine, "REOPEN_STORE_ROWS", 20)
    org = sieve_org("reopening")
    connect(org, emulator, **ONE_REPO)
    org.sync("github")
    assert len(reopened) >= 3 and len({id(c) for c in reopened}) == len(reopened)
    assert rows_without_connection(org) == expected

    reopened.clear()
    monkeypatch.setattr(sync_engine, "REOPEN_STORE_ROWS", every)
    org.sync("github")
    assert reopened == []


def test_a_deployment_deleted_after_its_listing_is_skipped_not_fatal(sieve_org, emulator):
    org = sieve_org("deleted-deployment")
    connect(org, emulator, **ONE_REPO)
    emulator.faults.not_found(r"/deployments/\d+/statuses", times=1, api="github")

    [summary] = org.sync("github")

    assert summary.error is None
    [gone] = [r for r in emulator.requests if r.status == 404 and r.path.endswith("/statuses")]
    repo = emulator.org.repo(ONE_REPO["repos"][0], "github")
    deployments = emulator.org.deployments(repo)
    [deleted] = [d for d in deployments if d.deployment_id == int(gone.path.split("/")[-2])]
    statuses = sum(len(d.statuses) for d in deployments)
    assert org.count("github_deployment_statuses") == statuses - len(deleted.statuses)
