"""What one failing item or one dead connection costs a sync (issues #21.2 and #20.2): the item
stays pending and the next sync fetches it; the connection fails alone, quickly, with a message
naming it and the cause, while the organization's other connections are synced."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from emulators.azuredevops.data import PROJECT_NAME as AZURE_DEVOPS_PROJECT
from emulators.bitbucket.data import WORKSPACE as BITBUCKET_WORKSPACE
from resources.retention.upstream import (
    UpstreamListing,
    delete_gone_upstream,
    keys_still_upstream,
)
from resources.sources.github.connector import UNREADABLE_LISTED_PULL, GitHubConnector
from resources.storage.metadata_store import open_store
from tests.connectors.test_azuredevops_connector import (
    expected_counts as azuredevops_expected_counts,
)
from tests.connectors.test_bitbucket_connector import PULL as BITBUCKET_PULL
from tests.connectors.test_bitbucket_connector import (
    expected_counts as bitbucket_expected_counts,
)
from tests.unit.test_http import closed_port

OWNER = "sieve-demo"
ONE_REPO = {"repos": ["web-app"]}
PULL_DETAIL = r"^/repos/sieve-demo/web-app/pulls/\d+$"


def test_a_pull_request_answering_404_once_is_fetched_by_the_next_sync(sieve_org, emulator):
    org = sieve_org()
    connection = org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    emulator.faults.not_found(PULL_DETAIL, times=1, api="github")

    [first] = org.sync("github")
    stored_first = org.count("github_pull_requests")
    pending = org.sieve.control_plane.sync_state(connection.id, "cursor")

    assert emulator.faults.events and first.items_pending["github_pull_requests"] == 1
    assert first.as_metadata()["items_pending"] == 1
    assert [json.loads(v) for k, v in pending.items() if k.startswith("pending:")] != [{}]

    [second] = org.sync("github")
    stored_second = org.count("github_pull_requests")
    assert stored_second == stored_first + 1 and not second.items_pending
    [third] = org.sync("github")
    assert org.count("github_pull_requests") == stored_second and not third.items_pending


def taken_for_deleted(org, connection) -> tuple[UpstreamListing, Counter]:
    """The out-of-date job's re-listing of ``connection``, and the rows it would delete."""
    listing = keys_still_upstream(org.sieve.control_plane, org.slug, connection)
    key = org.sieve.control_plane.org_data_key(org.org)
    with open_store(org.database_path, key) as store:
        return listing, delete_gone_upstream(store, connection.id, listing, delete_rows=False)


def test_a_pull_request_failing_during_reconciliation_is_not_taken_for_deleted(
        sieve_org, emulator):
    org = sieve_org()
    connection = org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    org.sync("github")
    [(stored,)] = org.query("SELECT count(*) FROM metadata.github_pull_requests")
    emulator.faults.not_found(PULL_DETAIL, times=1, api="github")

    listing, gone = taken_for_deleted(org, connection)

    assert emulator.faults.events and len(listing.keys["github_pull_requests"]) == stored
    assert gone == Counter()  # nor its reviews and commits


@pytest.mark.parametrize(("source", "settings", "endpoint"), [
    ("bitbucket", {"workspace": BITBUCKET_WORKSPACE}, r"/pullrequests/\d+/commits"),
    ("azuredevops", {"projects": [AZURE_DEVOPS_PROJECT]}, r"pullRequests/\d+/threads"),
    ("opsgenie", {}, "/associated-alert-ids"),
], ids=["bitbucket-pr-commits", "azuredevops-pr-votes", "opsgenie-incident-alerts"])
def test_what_is_stored_under_an_item_failing_during_reconciliation_is_kept(
        sieve_org, emulator, source, settings, endpoint):
    org = sieve_org()
    connection = org.connect_emulator(emulator, source, **settings)
    [synced] = org.sync(source)
    assert synced.failure is None
    emulator.faults.not_found(endpoint, times=1, api=source)

    _, gone = taken_for_deleted(org, connection)

    assert emulator.faults.events and gone == Counter()


def test_a_dead_connection_fails_alone_and_quickly(sieve_org, emulator):
    org = sieve_org()
    dead = org.connect("github", {"base_url": f"http://127.0.0.1:{closed_port()}",
                                  "owner": OWNER, **ONE_REPO}, emulator.credentials("github"))
    org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    waited: list[float] = []

    started = time.monotonic()
    summaries = org.sync("github", sleep=waited.append)

    assert time.monotonic() - started < 20 and sum(waited) <= 30
    failed = [s for s in summaries if s.failure]
    assert [s.connection_id for s in failed] == [dead.id]
    for expected in (dead.id, "'acme'", "connection refused", "Check the connection's base URL"):
        assert expected in failed[0].failure
    assert org.count("github_pull_requests") > 0


def test_a_listed_pull_request_without_updated_at_is_refused_and_the_sync_goes_on(
        sieve_org, emulator, monkeypatch):
    org = sieve_org()
    org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    listing = GitHubConnector._pages

    def pages_with_a_broken_pull(self, path, params=None, **options):
        for page in listing(self, path, params, **options):
            if path.endswith("/pulls") and page.items:
                del page.items[0]["updated_at"]
            yield page

    monkeypatch.setattr(GitHubConnector, "_pages", pages_with_a_broken_pull)
    [summary] = org.sync("github")

    assert summary.failure is None and org.count("github_pull_requests") > 0
    assert summary.refusals[UNREADABLE_LISTED_PULL] == 1


def test_a_record_the_walk_cannot_read_fails_its_connection_alone_without_its_value(
        sieve_org, emulator, monkeypatch):
    org = sieve_org()
    broken = org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    walk = GitHubConnector._issues

    def issues_with_a_bad_date(self, repo):
        if self.context.connection.id != broken.id:
            yield from walk(self, repo)
            return
        raise ValueError("Invalid isoformat string: 'CANARY-in-a-date'")
        yield

    monkeypatch.setattr(GitHubConnector, "_issues", issues_with_a_bad_date)
    summaries = org.sync("github")

    [failed] = [s for s in summaries if s.failure]
    assert failed.connection_id == broken.id and "(ValueError)" in failed.failure
    assert "CANARY" not in failed.failure
    assert all(s.failure is None for s in summaries if s is not failed)


@pytest.mark.parametrize("endpoint", [r"/pullrequests/\d+$", r"/pullrequests/\d+/commits"],
                         ids=["detail", "commits"])
def test_a_bitbucket_pull_request_answering_404_once_is_fetched_by_the_next_sync(
        sieve_org, emulator, endpoint):
    org = sieve_org()
    org.connect_emulator(emulator, "bitbucket", workspace=emulator.org.bitbucket.workspace)
    expected = bitbucket_expected_counts(emulator.org)
    emulator.faults.not_found(endpoint, times=1, api="bitbucket")

    [first] = org.sync("bitbucket")

    assert emulator.faults.events and first.failure is None
    assert first.items_pending == {"bitbucket_pull_requests": 1}
    assert org.count("bitbucket_pull_requests") == expected["bitbucket_pull_requests"]
    stored = {table: org.count(table) for table in expected}
    assert stored != expected
    [second] = org.sync("bitbucket")
    assert second.failure is None and not second.items_pending
    assert {table: org.count(table) for table in expected} == expected
    emulator.clear_requests()
    [third] = org.sync("bitbucket")
    assert not third.items_pending and emulator.count_requests("bitbucket", BITBUCKET_PULL) == 0


@pytest.mark.parametrize("endpoint", ["/threads", r"pullRequests/\d+/commits"],
                         ids=["votes", "commits"])
def test_an_azure_devops_item_answering_404_once_is_fetched_by_the_next_sync(
        sieve_org, emulator, endpoint):
    org = sieve_org()
    org.connect_emulator(emulator, "azuredevops",
                         projects=[emulator.org.azuredevops.project_name])
    expected = azuredevops_expected_counts(emulator.org)
    emulator.faults.not_found(endpoint, times=1, api="azuredevops")

    [first] = org.sync("azuredevops")

    assert emulator.faults.events and first.failure is None
    assert sum(first.items_pending.values()) == 1
    assert {table: org.count(table) for table in expected} != expected
    emulator.clear_requests()
    [second] = org.sync("azuredevops")
    assert second.failure is None and not second.items_pending
    assert {table: org.count(table) for table in expected} == expected
    [third] = org.sync("azuredevops")
    assert not third.items_pending
