"""The GitLab connector's REST path against the GitLab emulator, through the product's real
sync path (the GraphQL path: ``test_gitlab_graphql.py``).

Expected counts come from the emulator's org model. Stored content is compared without the
``connection_id`` column, so a faulted sync in one installation can be compared with a clean
sync in another.
"""

from __future__ import annotations

import pytest

from resources.http import AuthenticationError, NotFoundError
from resources.sources.gitlab import connector as gitlab
from resources.sources.gitlab.connector import (
    GitLabConnector,
    api_root,
    project_path,
    project_streams,
)
from tests.harness import waits_in_emulated_time
from tests.unit.test_http_loopback import FakeClock, LoopbackServer, Reply

GROUP = "sieve-demo-infra"
CURSOR_PARAMS = ("updated_after", "since")


def connect(org, emulator, api="rest", **settings):
    return org.connect_emulator(emulator, "gitlab", group=GROUP, api=api, **settings)


def content(org) -> dict[str, list[tuple]]:
    """Every stored row without its connection_id (the first column), sorted."""
    return {table: sorted((row[1:] for row in rows), key=repr)
            for table, rows in org.snapshot().items()}


_clean_contents: list[dict[str, list[tuple]]] = []


def clean_content(sieve_org, emulator) -> dict[str, list[tuple]]:
    """What a clean sync of the unchanged tiny org stores (synced once per test session)."""
    if not _clean_contents:
        org = sieve_org("clean")
        connect(org, emulator)
        org.sync("gitlab")
        emulator.clear_requests()
        _clean_contents.append(content(org))
    return _clean_contents[0]


def expected_counts(emulator) -> dict[str, int]:
    """What the tiny org holds, from the emulator's model and its GitLab identities."""
    org, app = emulator.org, emulator.apps["gitlab"]
    counts = dict.fromkeys(GitLabConnector.entities, 0)
    people: set[int] = set()

    def see(person) -> None:
        if person is not None and not person.is_deleted:
            people.add(person.gitlab_id)

    counts["gitlab_projects"] = len(org.gitlab_projects)
    for repo in org.gitlab_projects:
        for number in range(1, org.item_count(repo) + 1):
            merge_request = org.pull_request(repo, number)
            if merge_request is None:
                continue
            counts["gitlab_merge_requests"] += 1
            counts["gitlab_mr_commits"] += len({c.sha for c in merge_request.commits})
            approvers = {app.user_json(r.author)["id"] for r in merge_request.reviews
                         if r.state == "APPROVED"}
            counts["gitlab_mr_approvals"] += len(approvers)
            for person in (merge_request.author, merge_request.merged_by,
                           *(r.author for r in merge_request.reviews)):
                see(person)
        counts["gitlab_commits"] += len(org.default_branch_commits(repo))
        runs = org.workflow_runs(repo)
        counts["gitlab_pipelines"] += len(runs)
        for run in runs:
            see(run.actor)
        deployments = org.deployments(repo)
        counts["gitlab_deployments"] += len(deployments)
        for deployment in deployments:
            see(deployment.creator)
    counts["gitlab_users"] = len(people)
    return counts


def stored_counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in GitLabConnector.entities}


def is_limited(record) -> bool:
    """A request that can only return what changed: conditional, or filtered by a cursor."""
    return record.conditional or any(record.query.get(name) for name in CURSOR_PARAMS)


# -- full, incremental and changed syncs ---------------------------------------------------------


def test_first_sync_stores_every_entity_of_the_org(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)

    [summary] = org.sync("gitlab")

    expected = expected_counts(emulator)
    assert stored_counts(org) == expected
    assert all(expected[name] > 0 for name in GitLabConnector.entities)
    assert summary.http["requests"] == len(emulator.requests)
    assert all(record.query.get("per_page") in (None, "100") for record in emulator.requests)


def test_second_sync_without_changes_makes_only_limited_requests_and_changes_nothing(
        sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("gitlab")
    first_sync_requests = len(emulator.requests)
    before = org.snapshot()
    emulator.clear_requests()

    [summary] = org.sync("gitlab")

    requests = list(emulator.requests)
    projects = len(emulator.org.gitlab_projects)
    # The projects listing answered 304, then one empty cursor-limited page per stream.
    assert len(requests) == 1 + 4 * projects < first_sync_requests
    assert all(is_limited(record) for record in requests)
    assert [r.status for r in requests if r.conditional] == [304]
    assert summary.pages_not_modified == 1
    assert sum(summary.rows_upserted.values()) == 0
    assert org.snapshot() == before


def test_next_sync_picks_up_changed_and_new_merge_requests(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("gitlab")
    users_first_sync = emulator.count_requests("gitlab", "GET /users/{id}")
    project = emulator.org.gitlab_projects[0]
    touched_at = emulator.org.touch_merge_request(project.name, 2)
    new_iid = emulator.org.add_pull_request(project.name, host="gitlab")
    emulator.clear_requests()

    org.sync("gitlab")

    assert stored_counts(org) == expected_counts(emulator)
    [[updated_at]] = org.query(
        "SELECT updated_at FROM metadata.gitlab_merge_requests WHERE project_id = ? AND iid = 2",
        [project.repo_id])
    assert updated_at == touched_at.replace(tzinfo=None)
    assert org.query("SELECT count(*) FROM metadata.gitlab_merge_requests WHERE iid = ?",
                     [new_iid]) == [(1,)]
    details = emulator.count_requests("gitlab", "GET /projects/{id}/merge_requests/{iid}")
    assert details == 2  # only the touched and the new merge request are fetched again
    # Only the people on what changed are asked for again.
    assert 0 < emulator.count_requests("gitlab", "GET /users/{id}") < users_first_sync


def test_configured_projects_are_synced_alone_and_conditionally(sieve_org, emulator):
    project = emulator.org.gitlab_projects[0]
    org = sieve_org("acme")
    connect(org, emulator, projects=[project.name])
    org.sync("gitlab")
    assert org.query("SELECT id, path_with_namespace FROM metadata.gitlab_projects") == [
        (project.repo_id, f"{GROUP}/{project.name}")]
    emulator.clear_requests()

    org.sync("gitlab")

    assert emulator.count_requests("gitlab", "GET /projects/{id}", status=304) == 1
    assert all(is_limited(record) for record in emulator.requests)


# -- faults, interruptions, privacy --------------------------------------------------------------


FAULTS = {
    "5xx burst": lambda faults: faults.server_errors(r"/merge_requests\?", times=3, status=503),
    "truncated json": lambda faults: faults.truncated_json(r"/repository/commits", times=2),
    "invalid json": lambda faults: faults.invalid_json(r"/approvals", times=1),
    "dropped connection": lambda faults: faults.dropped_connection(r"/users/", times=2),
    "repeated page": lambda faults: faults.repeated_page(r"page=2", times=4),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_sync_under_a_fault_ends_identical_to_a_clean_sync(sieve_org, emulator, monkeypatch,
                                                           fault):
    clean = clean_content(sieve_org, emulator)
    if fault == "repeated page":
        monkeypatch.setattr(gitlab, "PAGE_SIZE", 5)  # several pages per listing, to repeat one
    FAULTS[fault](emulator.faults)
    org = sieve_org("faulty")
    connect(org, emulator)

    org.sync("gitlab")

    assert emulator.faults.events, "the fault never fired"
    assert content(org) == clean


def test_sync_waits_out_a_rate_limit_and_ends_identical(sieve_org, emulator):
    clean = clean_content(sieve_org, emulator)
    emulator.faults.secondary_rate_limit(r"/pipelines\?", times=1, retry_after=1, api="gitlab")
    org = sieve_org("limited")
    connect(org, emulator)

    waits = waits_in_emulated_time(emulator)
    started = waits["clock"]()
    org.sync("gitlab", **waits)

    assert [event.kind for event in emulator.faults.events] == ["secondary_rate_limit"]
    limited = [r for r in emulator.requests if r.status == 429]
    assert len(limited) == 1
    assert waits["clock"]() - started >= 1.0
    assert content(org) == clean


def test_sync_pauses_at_an_exhausted_budget_without_being_refused(sieve_org, emulator):
    clean = clean_content(sieve_org, emulator)
    emulator.faults.rate_limit("gitlab", limit=50, window_seconds=3.0)
    org = sieve_org("budgeted")
    connect(org, emulator)

    [summary] = org.sync("gitlab", **waits_in_emulated_time(emulator))

    # RateLimit-Remaining: 0 said when to stop; nothing was sent until RateLimit-Reset.
    assert len(emulator.requests) > 50 and summary.http["wait_seconds"] > 0
    assert [r for r in emulator.requests if r.status == 429] == []
    assert content(org) == clean


def test_sync_retries_a_timed_out_request_and_ends_identical(sieve_org, emulator, monkeypatch):
    clean = clean_content(sieve_org, emulator)
    monkeypatch.setattr(gitlab, "REQUEST_TIMEOUT", (2.0, 1.0))
    emulator.faults.slow(r"/deployments\?", seconds=1.5, times=1)
    org = sieve_org("slow")
    connect(org, emulator)

    [summary] = org.sync("gitlab")

    assert summary.http["retries"] >= 1
    assert content(org) == clean


class Killed(Exception):
    """Stands for the process dying mid-sync."""


@pytest.mark.parametrize("batches_before_kill", [1, 9, 25])
def test_killed_sync_rerun_converges_to_a_clean_sync(sieve_org, emulator, monkeypatch,
                                                     batches_before_kill):
    clean = clean_content(sieve_org, emulator)
    org = sieve_org("killed")
    connect(org, emulator)
    fetch = GitLabConnector.fetch

    def dying_fetch(self):
        for number, batch in enumerate(fetch(self), start=1):
            if number > batches_before_kill:
                raise Killed
            yield batch

    monkeypatch.setattr(GitLabConnector, "fetch", dying_fetch)
    with pytest.raises(Killed):
        org.sync("gitlab")
    monkeypatch.setattr(GitLabConnector, "fetch", fetch)

    org.sync("gitlab")

    assert content(org) == clean


def test_no_canary_and_no_forbidden_pii_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    connect(org, emulator)
    org.sync("gitlab")

    values = [str(value) for rows in org.snapshot().values() for row in rows for value in row
              if value is not None]
    stored = "\n".join(values)
    assert len(values) > 1000
    assert [c for c in emulator.canaries() if c in stored] == []
    assert [p for p in emulator.forbidden_pii() if p in stored] == []


def test_a_rejected_token_says_which_connection_to_reconnect(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("gitlab", {"base_url": emulator.base_url("gitlab"), "group": GROUP},
                             {"token": "not-the-token"})

    error = org.sync_error("gitlab", AuthenticationError)

    message = str(error)
    assert "'acme'" in message and connection.id in message
    assert "sieve connect acme gitlab" in message
    assert "not-the-token" not in message


def test_an_unknown_group_names_the_connection_and_what_to_check(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect_emulator(emulator, "gitlab", group="no-such-group")

    error = org.sync_error("gitlab", NotFoundError)

    message = str(error)
    assert "groups/no-such-group/projects" in message and connection.id in message
    assert "group/project names" in message
    assert len(emulator.requests) == 1


# -- what the emulator does not show: a scripted GitLab on loopback ----------------------------


@pytest.fixture
def scripted():
    server = LoopbackServer(FakeClock())
    yield server
    server.close()


def _project(project_id: int, **features) -> dict:
    return {"id": project_id, "name": f"p{project_id}", "path": f"p{project_id}",
            "path_with_namespace": f"g/p{project_id}", "namespace": {"id": 5, "full_path": "g"},
            "created_at": "2026-01-01T00:00:00.000Z", **features}


def _merge_request(iid: int) -> dict:
    return {"id": 900 + iid, "iid": iid, "project_id": 2, "title": f"change {iid}",
            "state": "merged", "author": {"id": 7, "username": "dev"},
            "created_at": "2026-02-01T10:00:00.000Z", "updated_at": f"2026-02-0{iid}T10:00:00.123Z"}


def test_group_listing_feature_switches_and_missing_approvals(sieve_org, scripted):
    """A two-page projects listing is walked whole and not made conditional; streams of
    switched-off features and of empty repositories are not requested; an instance without
    the approvals API is asked twice per project (a first 404 may be one merge request's), and
    nothing is left pending; the token goes as a Bearer header."""
    listing = "/api/v4/groups/g/projects"
    scripted.route(listing, lambda received: Reply(
        json=[_project(1, empty_repo=True)],
        headers={"ETag": 'W/"page-1"', "Link": f'<{scripted.url}{listing}?page=2>; rel="next"'},
    ) if received.query.get("page") != "2" else Reply(json=[_project(
        2, repository_access_level="disabled", builds_access_level="disabled",
        environments_access_level="disabled")]))
    scripted.script("/api/v4/projects/2/merge_requests", Reply(json=[_merge_request(1),
                                                                      _merge_request(2)]))
    for iid in (1, 2):
        scripted.script(f"/api/v4/projects/2/merge_requests/{iid}", Reply(json=_merge_request(iid)))
        scripted.script(f"/api/v4/projects/2/merge_requests/{iid}/commits", Reply(json=[]))
    scripted.script("/api/v4/users/7", Reply(json={"id": 7, "username": "dev", "bot": False}))
    for stream in ("merge_requests", "pipelines", "deployments"):
        scripted.script(f"/api/v4/projects/1/{stream}", Reply(json=[]))
    org = sieve_org("acme")
    org.connect("gitlab", {"base_url": scripted.url, "group": "g", "api": "rest"},
                {"token": "glpat-test"})

    [synced] = org.sync("gitlab")

    assert synced.failure is None and not synced.items_pending
    requested = {received.path for received in scripted.received}
    assert requested == {
        listing, "/api/v4/projects/1/merge_requests", "/api/v4/projects/1/pipelines",
        "/api/v4/projects/1/deployments", "/api/v4/projects/2/merge_requests",
        "/api/v4/projects/2/merge_requests/1", "/api/v4/projects/2/merge_requests/2",
        "/api/v4/projects/2/merge_requests/1/approvals",
        "/api/v4/projects/2/merge_requests/2/approvals",
        "/api/v4/projects/2/merge_requests/1/commits",
        "/api/v4/projects/2/merge_requests/2/commits", "/api/v4/users/7",
    }
    assert {r.headers.get("authorization") for r in scripted.received} == {"Bearer glpat-test"}
    assert org.count("gitlab_projects") == 2 and org.count("gitlab_merge_requests") == 2
    scripted.received.clear()

    org.sync("gitlab")

    assert all("if-none-match" not in r.headers for r in scripted.received if r.path == listing)
    assert [r.query["updated_after"] for r in scripted.received
            if r.path == "/api/v4/projects/2/merge_requests"] == ["2026-02-02T10:00:00.124Z"]


# -- check and plain helpers ------------------------------------------------------------------


def test_check_makes_one_request_and_describes_the_group(sieve_org, emulator):
    from resources.sources.connector import ConnectorContext, SyncState

    org = sieve_org("acme")
    connection = connect(org, emulator)
    control_plane = org.sieve.control_plane
    context = ConnectorContext("acme", connection, control_plane.credentials(connection),
                               SyncState(control_plane, connection.id))

    description = GitLabConnector(context).check()

    assert GROUP in description and "1 project(s) visible" in description
    assert len(emulator.requests) == 1


def test_project_streams_skip_switched_off_features():
    assert project_streams({}) == ("merge_requests", "commits", "pipelines", "deployments")
    assert project_streams({"empty_repo": True, "builds_access_level": "disabled",
                            "environments_access_level": "private"}) == (
        "merge_requests", "deployments")
    assert project_streams({"merge_requests_enabled": False, "jobs_enabled": True,
                            "repository_access_level": "disabled"}) == (
        "pipelines", "deployments")


def test_base_url_and_project_paths():
    assert api_root("https://gitlab.example.com/") == "https://gitlab.example.com/api/v4"
    assert api_root("https://host/gitlab/api/v4") == "https://host/gitlab/api/v4"
    assert project_path("acme/platform", "api") == "acme/platform/api"
    assert project_path("acme/platform", "acme/platform/sub/api") == "acme/platform/sub/api"


def test_approvals_answering_404_once_stay_pending_and_are_read_by_the_next_sync(
        sieve_org, emulator):
    """REST: one merge request's approvals answering 404 (deleted since listed, or a replica
    behind) keep it pending instead of being lost when the cursor moves; the next sync reads
    them first, and nothing else."""
    clean = clean_content(sieve_org, emulator)
    org = sieve_org("acme")
    connect(org, emulator)
    emulator.faults.not_found(r"/merge_requests/\d+/approvals", times=1, api="gitlab")

    [first] = org.sync("gitlab")

    assert emulator.faults.events and first.failure is None
    assert first.items_pending == {"gitlab_merge_requests": 1}
    emulator.clear_requests()
    [second] = org.sync("gitlab")
    assert second.failure is None and not second.items_pending
    assert emulator.count_requests(
        "gitlab", "GET /projects/{id}/merge_requests/{iid}/approvals") == 1
    assert content(org) == clean
