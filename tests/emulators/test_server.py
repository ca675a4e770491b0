"""The shared server: base URLs, request accounting, fixtures, determinism, scales, ``serve``."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from emulators.github.data import GitHubData
from emulators.org import Org
from emulators.server import EmulatorServer
from tests.emulators.clients import get

SAMPLES = {
    "github": ["/repos/sieve-demo/web-app/pulls?state=all&per_page=100", "/repos/sieve-demo/web-app/commits"],
    "gitlab": ["/api/v4/projects/{gitlab_id}/merge_requests?per_page=100"],
    "jira": ["/rest/api/3/search?jql=ORDER%20BY%20key&maxResults=100&expand=changelog"],
    "slack": ["/api/conversations.history?channel={channel}&limit=200", "/api/users.list"],
    "pagerduty": ["/incidents?since=2026-06-01T00:00:00Z&limit=100", "/log_entries?limit=100"],
    "opsgenie": ["/v1/incidents?limit=100", "/v2/alerts?limit=100"],
    "bitbucket": ["/2.0/repositories/sieve-demo-bb/partner-portal/pullrequests/2",
                  "/2.0/repositories/sieve-demo-bb/partner-portal/deployments?pagelen=100"],
    "azuredevops": ["/sieve-demo-apps/_apis/git/repositories",
                    "/sieve-demo-apps/_apis/git/repositories/{ado_repo}/pullrequests"
                    "?searchCriteria.status=all&$top=100"],
}


def test_base_urls_and_credentials(emulator):
    root = emulator.root_url
    assert emulator.base_url("github") == f"{root}/github"
    assert emulator.base_url("gitlab") == f"{root}/gitlab"
    assert emulator.credentials("jira") == {"email": "sieve-reader@sieve-demo.example", "token": "demo-token"}
    assert set(emulator.credentials("slack")) == {"token"}
    with pytest.raises(ValueError, match="unknown API"):
        emulator.base_url("sourcehut")
    assert requests.get(f"{root}/sourcehut/x", timeout=5).status_code == 404


def test_request_log_counts_per_endpoint(emulator):
    get(emulator, "github", "/user")
    get(emulator, "github", "/user")
    get(emulator, "slack", "/api/auth.test")
    assert emulator.count_requests("github", "GET /user") == 2
    assert emulator.requests_per_endpoint("slack") == {"GET /api/auth.test": 1}
    record = emulator.requests[0]
    assert (record.api, record.method, record.path, record.status, record.conditional) == (
        "github", "GET", "/user", 200, False)
    emulator.clear_requests()
    assert emulator.count_requests() == 0


def test_fixture_starts_each_test_clean_part_one(emulator):
    emulator.faults.server_errors("/user", times=5)
    emulator.org.add_pull_request("web-app")
    assert get(emulator, "github", "/user").status_code == 502


def test_fixture_starts_each_test_clean_part_two(emulator):
    assert get(emulator, "github", "/user").status_code == 200
    assert emulator.org.item_count(emulator.org.repo("web-app")) == emulator.org.scale.items_per_repo
    assert len(emulator.requests) == 1


def test_fault_filters_by_api_and_lets_requests_through_first(emulator):
    emulator.faults.server_errors("", times=1, api="jira", after=1)
    assert get(emulator, "github", "/user").status_code == 200
    assert get(emulator, "jira", "/rest/api/3/myself").status_code == 200
    assert get(emulator, "jira", "/rest/api/3/myself").status_code == 502
    assert get(emulator, "jira", "/rest/api/3/myself").status_code == 200


def _bodies(emu):
    org = emu.org
    fill = {"gitlab_id": org.gitlab_projects[0].repo_id, "channel": org.channels[0].channel_id,
            "ado_repo": org.azuredevops.repos[0].name}
    out = []
    for api, paths in SAMPLES.items():
        for path in paths:
            body = get(emu, api, path.format(**fill)).content
            out.append(body.replace(emu.root_url.encode(), b"ROOT"))
    return out


def test_every_api_is_byte_identical_for_the_same_seed(emulator_factory):
    first, second = emulator_factory(seed=3), emulator_factory(seed=3)
    assert _bodies(first) == _bodies(second)
    assert _bodies(first) == _bodies(first)


def test_demo_scale_is_a_believable_org():
    org = Org("demo", seed=7)
    prs = sum(1 for r in org.repos for k in range(1, r.items + 1) if not r.is_issue_number(k))
    assert len(org.repos) + len(org.gitlab_projects) >= 10 and 1800 <= prs <= 2500
    assert sum(p.issues for p in org.jira_projects) >= 3000
    assert len(org.teams) >= 4 and len(org.humans) >= 30
    assert {c.is_private for c in org.channels} == {True, False}


def test_large_scale_serves_lazily(emulator_factory):
    emu = emulator_factory(scale="large")
    org = emu.org
    prs = sum(1 for r in org.repos for k in range(1, r.items + 1) if not r.is_issue_number(k))
    assert len(org.repos) >= 100 and prs >= 100_000
    before = GitHubData._pull_request_base.cache_info().misses
    page = get(emu, "github", f"/repos/sieve-demo/{org.repos[-1].name}/pulls",
               state="all", per_page=50, page=7)
    assert len(page.json()) == 50
    # Only the page's PRs were generated: nothing else of a 100k-PR org.
    assert GitHubData._pull_request_base.cache_info().misses - before <= 50
    issue = get(emu, "jira", "/rest/api/3/issue/PAY-4999").json()
    assert issue["key"] == "PAY-4999"


def test_canaries_and_pii_accessors(emulator):
    canaries = emulator.canaries()
    kinds = {c.split("-")[1] for c in canaries}
    assert {"pr", "review", "comment", "patch", "commit", "issue", "jira", "private"} <= kinds
    assert len(canaries) == len(set(canaries))
    pii = emulator.forbidden_pii()
    assert len(pii) >= 10 and not set(pii) & set(emulator.org.permitted_pii())


def _read_lines(process, count):
    return [process.stdout.readline().decode().split() for _ in range(count)]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_lines_and_stops_on_signal(stop_signal):
    process = subprocess.Popen([sys.executable, "-m", "emulators.cli", "--scale", "tiny", "--port", "0"],
                               stdout=subprocess.PIPE)
    try:
        lines = _read_lines(process, 4)
        assert [line[0] for line in lines] == ["github", "gitlab", "jira", "slack"]
        github_url, token = lines[0][1], lines[0][2]
        assert token == "demo-token" and ":" in lines[2][2]
        user = requests.get(f"{github_url}/user", headers={"Authorization": f"token {token}"}, timeout=10)
        assert user.status_code == 200
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_busy_port_is_reported_clearly(emulator):
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{emulator.port}.*choose another --port"):
        EmulatorServer(port=emulator.port).start()
