"""The GitHub emulator, driven with plain ``requests`` the way a connector would."""

from __future__ import annotations

import json
import time

import pytest
import requests

from emulators.org import CANARY_PREFIX

OWNER = "sieve-demo"
REPO = "core-monorepo"


def gh(emulator, path, token="demo-token", **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"token {token}"
    return requests.get(emulator.base_url("github") + path, headers=headers, timeout=10, **kwargs)


def walk(emulator, path, params):
    """Follow Link rel=next from the first page; returns (items, number of pages)."""
    headers = {"Authorization": "token demo-token"}
    url, items, pages = emulator.base_url("github") + path, [], 0
    response = requests.get(url, params=params, headers=headers, timeout=10)
    while True:
        assert response.status_code == 200, response.text
        pages += 1
        body = response.json()
        items.extend(body["workflow_runs"] if isinstance(body, dict) else body)
        nxt = response.links.get("next")
        if not nxt:
            return items, pages
        response = requests.get(nxt["url"], headers=headers, timeout=10)


def test_pull_pagination_walks_every_pr_exactly_once(emulator):
    repo = emulator.org.repo(REPO)
    expected = [k for k in range(emulator.org.item_count(repo), 0, -1)
                if emulator.org.pull_request(repo, k) is not None]
    items, pages = walk(emulator, f"/repos/{OWNER}/{REPO}/pulls", {"state": "all", "per_page": 5})
    assert [p["number"] for p in items] == expected
    assert pages == -(-len(expected) // 5)


def test_link_header_has_github_rels_and_keeps_parameters(emulator):
    r = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls", params={"state": "all", "per_page": 2, "page": 2})
    assert set(r.links) == {"prev", "next", "last", "first"}
    assert "state=all" in r.links["next"]["url"] and "page=3" in r.links["next"]["url"]
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"


def test_enterprise_prefix_answers_the_same_with_its_own_links(emulator):
    plain = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls", params={"state": "all", "per_page": 3})
    enterprise = gh(emulator, f"/api/v3/repos/{OWNER}/{REPO}/pulls",
                    params={"state": "all", "per_page": 3})
    assert [p["number"] for p in plain.json()] == [p["number"] for p in enterprise.json()]
    assert "/github/api/v3/repos/" in enterprise.links["next"]["url"]


def test_issues_list_includes_prs_and_since_filters(emulator):
    repo = emulator.org.repo(REPO)
    all_items = gh(emulator, f"/repos/{OWNER}/{REPO}/issues",
                   params={"state": "all", "per_page": 100}).json()
    assert any("pull_request" in i for i in all_items) and any("pull_request" not in i for i in all_items)
    cutoff = sorted(i["updated_at"] for i in all_items)[len(all_items) // 2]
    recent = gh(emulator, f"/repos/{OWNER}/{REPO}/issues",
                params={"state": "all", "since": cutoff, "per_page": 100}).json()
    assert recent and len(recent) < len(all_items)
    assert all(i["updated_at"] >= cutoff for i in recent)
    assert {i["number"] for i in recent} == {
        i["number"] for i in all_items if i["updated_at"] >= cutoff}
    assert emulator.org.item_count(repo) == len(all_items)


def test_commits_since_until_filter_and_single_commit_stats(emulator):
    commits = gh(emulator, f"/repos/{OWNER}/{REPO}/commits", params={"per_page": 100}).json()
    dates = sorted(c["commit"]["committer"]["date"] for c in commits)
    since, until = dates[2], dates[-3]
    window = gh(emulator, f"/repos/{OWNER}/{REPO}/commits",
                params={"since": since, "until": until, "per_page": 100}).json()
    assert window and all(since <= c["commit"]["committer"]["date"] <= until for c in window)
    assert len(window) < len(commits)
    single = gh(emulator, f"/repos/{OWNER}/{REPO}/commits/{commits[0]['sha']}").json()
    assert single["stats"]["total"] == single["stats"]["additions"] + single["stats"]["deletions"]
    assert all("patch" in f for f in single["files"])


def test_pr_detail_files_reviews_and_commits_follow_the_recorded_shapes(emulator):
    prs = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls", params={"state": "closed"}).json()
    merged = next(p for p in prs if p["merged_at"])
    detail = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/{merged['number']}").json()
    assert detail["merged"] is True and detail["changed_files"] >= 1
    assert list(detail)[:8] == ["url", "id", "node_id", "html_url", "diff_url", "patch_url",
                                "issue_url", "number"]
    files = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/{merged['number']}/files").json()
    assert sum(f["additions"] for f in files) == detail["additions"]
    assert len(files) == detail["changed_files"]
    commits = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/{merged['number']}/commits").json()
    assert len(commits) == detail["commits"]
    every_pr = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls", params={"state": "all"}).json()
    reviews = [r for p in every_pr
               for r in gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/{p['number']}/reviews").json()]
    assert {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"} <= {r["state"] for r in reviews}


def test_deployments_statuses_releases_tags_and_runs(emulator):
    deployments, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/deployments", {"per_page": 100})
    assert {"staging", "production"} == {d["environment"] for d in deployments}
    outcomes = set()
    for d in deployments:
        statuses = gh(emulator, f"/repos/{OWNER}/{REPO}/deployments/{d['id']}/statuses").json()
        outcomes.add(statuses[0]["state"])
    assert {"success", "failure"} <= outcomes
    tags = gh(emulator, f"/repos/{OWNER}/{REPO}/tags", params={"per_page": 100}).json()
    releases = gh(emulator, f"/repos/{OWNER}/{REPO}/releases", params={"per_page": 100}).json()
    assert [t["name"] for t in tags] == [r["tag_name"] for r in releases]
    runs, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/actions/runs", {"per_page": 7})
    assert len({r["id"] for r in runs}) == len(runs)
    assert {"success", "failure", "skipped"} <= {r["conclusion"] for r in runs}
    cutoff = sorted(r["created_at"] for r in runs)[len(runs) // 2]
    filtered = gh(emulator, f"/repos/{OWNER}/{REPO}/actions/runs",
                  params={"created": f">={cutoff}", "per_page": 100}).json()
    assert filtered["total_count"] == sum(1 for r in runs if r["created_at"] >= cutoff)
    without_pulls, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/actions/runs",
                            {"per_page": 7, "exclude_pull_requests": "true"})
    assert any(r["pull_requests"] for r in runs)
    assert [r["id"] for r in without_pulls] == [r["id"] for r in runs]
    assert not any(r["pull_requests"] for r in without_pulls)


def test_workflows_and_the_runs_of_one_workflow(emulator):
    listed = gh(emulator, f"/repos/{OWNER}/{REPO}/actions/workflows").json()
    assert listed["total_count"] == len(listed["workflows"]) == 2
    deploy = next(w for w in listed["workflows"] if w["name"] == "Deploy to production")
    every_run, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/actions/runs", {"per_page": 100})
    by_id, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/actions/workflows/{deploy['id']}/runs",
                    {"per_page": 100})
    by_file, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/actions/workflows/deploy.yml/runs",
                      {"per_page": 100})
    assert by_id and by_id == by_file
    assert [r["id"] for r in by_id] == [r["id"] for r in every_run
                                         if r["workflow_id"] == deploy["id"]]
    assert {r["path"] for r in by_id} == {deploy["path"]}
    assert gh(emulator, f"/repos/{OWNER}/{REPO}/actions/workflows/404/runs").status_code == 404


def test_missing_and_wrong_tokens_get_githubs_401_bodies(emulator):
    missing = gh(emulator, "/user", token=None)
    assert missing.status_code == 401 and missing.json()["message"] == "Requires authentication"
    wrong = gh(emulator, "/user", token="nope")
    assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"
    assert gh(emulator, "/repos/sieve-demo/no-such-repo").status_code == 404


def test_rate_limit_headers_decrement_and_exhaustion_returns_403(emulator):
    emulator.faults.rate_limit("github", limit=3, window_seconds=1)
    remaining = [int(gh(emulator, "/user").headers["X-RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [2, 1, 0]
    assert json.loads(gh(emulator, "/rate_limit").text)["rate"]["remaining"] == 0  # free
    refused = gh(emulator, "/user")
    assert refused.status_code == 403
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.json()["message"].startswith("API rate limit exceeded")
    reset = int(refused.headers["X-RateLimit-Reset"])
    time.sleep(max(0.0, reset - time.time()) + 0.05)
    assert gh(emulator, "/user").status_code == 200


def test_conditional_requests_get_304_without_spending_the_limit(emulator):
    path = f"/repos/{OWNER}/{REPO}/pulls/1"
    first = gh(emulator, path)
    again = gh(emulator, path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]
    by_date = gh(emulator, path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304
    records = [r for r in emulator.requests if r.path == path]
    assert [(r.status, r.conditional) for r in records] == [(200, False), (304, True), (304, True)]
    emulator.org.touch_pull_request(REPO, 1)
    changed = gh(emulator, path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.json()["updated_at"] > first.json()["updated_at"]


def test_mutations_add_and_delete_items_upstream(emulator):
    repo = emulator.org.repo(REPO)
    number = emulator.org.add_pull_request(REPO)
    new = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/{number}").json()
    assert new["state"] == "open"
    recent = gh(emulator, f"/repos/{OWNER}/{REPO}/issues",
                params={"state": "all", "since": new["created_at"]}).json()
    assert [i["number"] for i in recent] == [number]
    issue_number = next(k for k in range(1, 20) if repo.is_issue_number(k))
    emulator.org.delete_issue(REPO, issue_number)
    assert gh(emulator, f"/repos/{OWNER}/{REPO}/issues/{issue_number}").status_code == 404
    listed = gh(emulator, f"/repos/{OWNER}/{REPO}/issues", params={"state": "all", "per_page": 100})
    assert issue_number not in {i["number"] for i in listed.json()}


def test_server_error_burst_then_recovery(emulator):
    emulator.faults.server_errors(r"/pulls\b", times=2, status=502)
    path = f"/repos/{OWNER}/{REPO}/pulls"
    assert [gh(emulator, path).status_code for _ in range(3)] == [502, 502, 200]
    assert [e.kind for e in emulator.faults.events] == ["server_error", "server_error"]


def test_secondary_rate_limit_sends_retry_after(emulator):
    emulator.faults.secondary_rate_limit("/user", retry_after=2)
    refused = gh(emulator, "/user")
    assert refused.status_code == 403 and refused.headers["Retry-After"] == "2"
    assert "secondary rate limit" in refused.json()["message"]
    assert gh(emulator, "/user").status_code == 200


def test_slow_response_times_out_the_client(emulator):
    emulator.faults.slow("/user", seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(emulator.base_url("github") + "/user",
                     headers={"Authorization": "token demo-token"}, timeout=0.2)


def test_truncated_and_invalid_json(emulator):
    emulator.faults.truncated_json("/pulls")
    emulator.faults.invalid_json("/issues")
    truncated = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls")
    with pytest.raises(ValueError):
        truncated.json()
    with pytest.raises(ValueError):
        gh(emulator, f"/repos/{OWNER}/{REPO}/issues").json()
    assert isinstance(gh(emulator, f"/repos/{OWNER}/{REPO}/pulls").json(), list)


def test_repeated_page_serves_previous_items_again_without_losing_any(emulator):
    emulator.faults.repeated_page(r"page=2\b")
    items, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/pulls", {"state": "all", "per_page": 4})
    numbers = [p["number"] for p in items]
    assert len(numbers) > len(set(numbers))
    clean, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/pulls", {"state": "all", "per_page": 4})
    assert set(numbers) == {p["number"] for p in clean}


def test_dropped_connection_mid_pagination(emulator):
    emulator.faults.dropped_connection(r"page=2\b")
    with pytest.raises(requests.exceptions.ConnectionError):
        walk(emulator, f"/repos/{OWNER}/{REPO}/pulls", {"state": "all", "per_page": 4})
    assert emulator.requests[-1].status == 0
    items, _ = walk(emulator, f"/repos/{OWNER}/{REPO}/pulls", {"state": "all", "per_page": 4})
    assert items


def test_same_seed_gives_byte_identical_responses(emulator_factory):
    paths = [f"/repos/{OWNER}/{REPO}/pulls?state=all&per_page=100",
             f"/repos/{OWNER}/{REPO}/pulls/3/files", f"/repos/{OWNER}/{REPO}/commits",
             f"/repos/{OWNER}/{REPO}/actions/runs"]
    a, b, other = emulator_factory(seed=11), emulator_factory(seed=11), emulator_factory(seed=12)

    def bodies(emu):
        return [gh(emu, p).content.replace(emu.root_url.encode(), b"ROOT") for p in paths]

    assert bodies(a) == bodies(b)
    assert bodies(a) != bodies(other)


def test_canaries_sit_in_bodies_and_pii_in_titles(emulator):
    canaries = set(emulator.canaries())
    prs = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls", params={"state": "all", "per_page": 100}).json()
    assert all(any(c in p["body"] for c in canaries) for p in prs)
    assert not any(CANARY_PREFIX in p["title"] for p in prs)
    titles = " ".join(p["title"] for p in prs)
    assert any(v in titles for v in emulator.forbidden_pii())
    files = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/{prs[0]['number']}/files").json()
    assert all(any(c in f["patch"] for c in canaries) for f in files)
    commits = gh(emulator, f"/repos/{OWNER}/{REPO}/commits", params={"per_page": 100}).json()
    bodies = [c["commit"]["message"].split("\n\n", 1)[1] for c in commits]
    assert all(any(c in body for c in canaries) for body in bodies)
    assert not any(CANARY_PREFIX in c["commit"]["message"].split("\n", 1)[0] for c in commits)


def test_sort_updated_desc_puts_a_touched_pr_first(emulator):
    """The incremental pattern for pulls (which have no ``since``): newest updates first."""
    emulator.org.touch_pull_request(REPO, 1)
    newest = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls",
                params={"state": "all", "sort": "updated", "direction": "desc", "per_page": 3}).json()
    assert newest[0]["number"] == 1
    ascending = gh(emulator, f"/repos/{OWNER}/{REPO}/pulls",
                   params={"state": "all", "sort": "updated", "per_page": 100}).json()
    stamps = [p["updated_at"] for p in ascending]
    assert stamps == sorted(stamps) and ascending[-1]["number"] == 1


def test_titles_span_unicode_and_length_extremes(emulator):
    titles = [p["title"] for repo in emulator.org.repos
              for p in gh(emulator, f"/repos/{OWNER}/{repo.name}/pulls",
                          params={"state": "all", "per_page": 100}).json()]
    assert any("\u200b" in t or "\u200d" in t for t in titles)  # zero-width
    assert any("\u05ea" in t for t in titles)  # Hebrew (RTL)
    assert any("🚀" in t for t in titles)
    assert any(len(t) > 256 for t in titles)
    assert any(p in " ".join(titles) for p in emulator.org.permitted_pii())


def test_a_configured_budget_is_exhausted_after_exactly_limit_requests(emulator):
    """However slow the client: the window does not refill before it has been used up."""
    clock = [1000.0]
    emulator.rate_limits.clock = lambda: clock[0]
    emulator.faults.rate_limit("github", limit=2, window_seconds=1)
    assert gh(emulator, "/user").status_code == 200
    clock[0] += 5  # far past the nominal reset
    assert gh(emulator, "/user").headers["X-RateLimit-Remaining"] == "0"
    refused = gh(emulator, "/user")
    assert refused.status_code == 403 and refused.headers["X-RateLimit-Reset"] == "1006"
    clock[0] += 1
    assert gh(emulator, "/user").status_code == 200


def test_disabled_issues_answer_410(emulator):
    emulator.org.disable_issues(REPO)
    assert gh(emulator, f"/repos/{OWNER}/{REPO}").json()["has_issues"] is False
    gone = gh(emulator, f"/repos/{OWNER}/{REPO}/issues", params={"state": "all"})
    assert gone.status_code == 410 and gone.json()["message"] == "Issues are disabled for this repo"
    assert gh(emulator, f"/repos/{OWNER}/{REPO}/pulls").status_code == 200


def test_touch_issue_and_delete_pull_request(emulator):
    repo = emulator.org.repo(REPO)
    issue_number = next(k for k in range(1, 20) if repo.is_issue_number(k))
    at = emulator.org.touch_issue(REPO, issue_number)
    touched = gh(emulator, f"/repos/{OWNER}/{REPO}/issues/{issue_number}").json()
    assert touched["updated_at"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.org.delete_pull_request(REPO, 1)
    assert gh(emulator, f"/repos/{OWNER}/{REPO}/pulls/1").status_code == 404
    with pytest.raises(KeyError, match="no pull request #1"):
        emulator.org.touch_pull_request(REPO, 1)


def test_user_repos_by_affiliation_and_user_orgs_by_scope(emulator):
    org_repos = sorted(r.name for r in emulator.org.repos if r.host == "github")
    items, pages = walk(emulator, "/user/repos", {"per_page": 2})
    assert [r["name"] for r in items] == org_repos and pages == -(-len(org_repos) // 2)
    # The reader owns no repository and collaborates on none: only membership reaches them.
    assert gh(emulator, "/user/repos", params={"affiliation": "owner,collaborator"}).json() == []
    assert gh(emulator, "/user/repos", params={"type": "owner", "visibility": "all"}
              ).status_code == 422
    assert gh(emulator, "/user/orgs").json()[0]["login"] == emulator.org.login
    emulator.apps["github"].token_scopes = ("repo",)
    refused = gh(emulator, "/user/orgs")
    assert refused.status_code == 403 and "read:org scope" in refused.json()["message"]
    assert refused.headers["X-OAuth-Scopes"] == "repo"


def test_installation_limits_follow_the_documented_scaling():
    from emulators.github.app import installation_rate_limit

    assert installation_rate_limit(3, 12, enterprise_cloud=False) == 5000
    assert installation_rate_limit(20, 20, enterprise_cloud=False) == 5000
    # More than 20 of either: 50 an hour for each one (30 * 50 + 25 * 50).
    assert installation_rate_limit(30, 25, enterprise_cloud=False) == 5000 + 1500 + 1250
    assert installation_rate_limit(30, 5, enterprise_cloud=False) == 5000 + 1500
    assert installation_rate_limit(400, 300, enterprise_cloud=False) == 12500
    assert installation_rate_limit(3, 12, enterprise_cloud=True) == 15000


def test_an_installation_spends_a_budget_of_its_own(emulator):
    from emulators.github.app import INSTALLATION_ID, installation_budget

    installations = emulator.apps["github"].app_installations
    token, _ = installations.tokens.issue(str(INSTALLATION_ID))
    personal = gh(emulator, "/user")
    first, second = (gh(emulator, f"/orgs/{OWNER}", token=token) for _ in range(2))
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert (first.headers["X-RateLimit-Used"], second.headers["X-RateLimit-Used"]) == ("1", "2")
    after = gh(emulator, "/user")
    # The personal token's budget did not pay for the installation's requests.
    assert int(after.headers["X-RateLimit-Used"]) == int(personal.headers["X-RateLimit-Used"]) + 1
    assert gh(emulator, "/rate_limit", token=token).json()["rate"]["used"] == 2

    emulator.faults.rate_limit(installation_budget(INSTALLATION_ID), limit=1)  # afresh
    assert gh(emulator, f"/orgs/{OWNER}", token=token).headers["X-RateLimit-Remaining"] == "0"
    refused = gh(emulator, f"/orgs/{OWNER}", token=token)
    assert refused.status_code == 403 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.json()["message"] == (
        f"API rate limit exceeded for installation ID {INSTALLATION_ID}.")
    assert gh(emulator, f"/orgs/{OWNER}").status_code == 200  # the personal token goes on


def test_an_enterprise_cloud_installation_gets_15000_an_hour(emulator):
    from emulators.github.app import INSTALLATION_ID

    installations = emulator.apps["github"].app_installations
    installations.enterprise_cloud.add(INSTALLATION_ID)
    token, _ = installations.tokens.issue(str(INSTALLATION_ID))
    assert gh(emulator, f"/orgs/{OWNER}", token=token).headers["X-RateLimit-Limit"] == "15000"


def test_graphql_deployments_are_the_rest_listing_oldest_first_unless_asked(emulator):
    query = ("query($first: Int!, $direction: OrderDirection!, $environments: [String!]) { "
             f"repository(owner: \"{OWNER}\", name: \"{REPO}\") {{ deployments(first: $first, "
             "environments: $environments, orderBy: {field: CREATED_AT, direction: $direction}) "
             "{ totalCount nodes { id environment statuses(first: 10) { nodes "
             "{ id state } } } } } }")

    def ask(direction, environments=None):
        response = requests.post(
            emulator.base_url("github") + "/graphql",
            json={"query": query, "variables": {"first": 3, "direction": direction,
                                                "environments": environments}},
            # The first query builds GitHub's schema (seconds on a busy machine).
            headers={"Authorization": "bearer demo-token"}, timeout=120)
        return response.json()["data"]["repository"]["deployments"]

    rest = gh(emulator, f"/repos/{OWNER}/{REPO}/deployments", params={"per_page": 100}).json()
    newest = ask("DESC")
    assert [d["id"] for d in newest["nodes"]] == [d["node_id"] for d in rest[:3]]
    assert newest["totalCount"] == len(rest)
    statuses = gh(emulator, f"/repos/{OWNER}/{REPO}/deployments/{rest[0]['id']}/statuses").json()
    assert newest["nodes"][0]["statuses"]["nodes"] == [
        {"id": s["node_id"], "state": s["state"].upper()} for s in statuses]
    assert ask("ASC")["nodes"][0]["id"] == rest[-1]["node_id"]
    assert {d["environment"] for d in ask("DESC", ["staging"])["nodes"]} == {"staging"}
