"""The Bitbucket Cloud emulator: next-link paging with pagelen, q= filters and sorting, pull
request participants only in the detail, auth and scopes, rate limits."""

from __future__ import annotations

import requests

from emulators.bitbucket.api import BitbucketApp, bb_time
from tests.emulators.clients import get

STATES = ["OPEN", "MERGED", "DECLINED"]


def pulls_path(emulator, repo=None) -> str:
    data = emulator.org.bitbucket
    return f"/2.0/repositories/{data.workspace}/{(repo or data.repos[0]).name}/pullrequests"


def test_next_links_walk_every_pull_request_once_least_recently_updated_first(emulator):
    data = emulator.org.bitbucket
    token = emulator.credentials("bitbucket")["token"]
    body = get(emulator, "bitbucket", pulls_path(emulator), state=STATES, sort="updated_on",
               pagelen=4).json()
    seen = []
    while True:
        assert body["pagelen"] == 4 and len(body["values"]) <= 4
        seen += [(pr["updated_on"], pr["id"]) for pr in body["values"]]
        if "next" not in body:
            break
        body = requests.get(body["next"], headers={"Authorization": f"Bearer {token}"},
                            timeout=10).json()
    assert seen == sorted(seen)
    assert [number for _, number in sorted(seen, key=lambda s: s[1])] == [
        pr.number for pr in data.pull_requests(data.repos[0])]
    # Pull requests come at most 50 a page; only open ones unless states are named.
    assert get(emulator, "bitbucket", pulls_path(emulator), pagelen=500).json()["pagelen"] == 50
    assert {pr["state"] for pr in get(emulator, "bitbucket", pulls_path(emulator),
                                      pagelen=50).json()["values"]} == {"OPEN"}


def test_q_selects_by_update_time_and_a_bad_query_is_400(emulator):
    data = emulator.org.bitbucket
    prs = data.pull_requests(data.repos[0])
    pivot = sorted(pr.updated_at for pr in prs)[len(prs) // 2]
    body = get(emulator, "bitbucket", pulls_path(emulator), state=STATES, pagelen=50,
               q=f'updated_on > "{bb_time(pivot)}"').json()
    assert {pr["id"] for pr in body["values"]} == {pr.number for pr in prs if pr.updated_at > pivot}
    bad = get(emulator, "bitbucket", pulls_path(emulator), q="title ~ \"fix\"")
    assert bad.status_code == 400 and bad.json()["type"] == "error"


def test_participants_come_with_the_pull_request_itself_only(emulator):
    data = emulator.org.bitbucket
    pr = next(pr for pr in data.pull_requests(data.repos[0]) if data.participants(pr))
    listed = get(emulator, "bitbucket", pulls_path(emulator), state=STATES, pagelen=50).json()
    assert all("participants" not in item for item in listed["values"])
    detail = get(emulator, "bitbucket", f"{pulls_path(emulator)}/{pr.number}").json()
    assert [(p["user"]["account_id"], p["role"], p["approved"]) for p in detail["participants"]] == [
        (p.person.jira_account_id, p.role, p.approved) for p in data.participants(pr)]
    assert len(detail["source"]["commit"]["hash"]) == 12


def test_unknown_credentials_are_401_and_a_token_without_pipeline_scope_is_403(emulator):
    data = emulator.org.bitbucket
    base = f"{emulator.base_url('bitbucket')}/2.0/repositories/{data.workspace}"
    bad = requests.get(base, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"]["message"] == "Unauthorized"
    scoped = {"Authorization": f"Bearer {BitbucketApp.NO_PIPELINES_TOKEN}"}
    refused = requests.get(f"{base}/{data.repos[0].name}/pipelines", headers=scoped, timeout=10)
    assert refused.status_code == 403
    assert refused.json()["error"]["detail"]["required"] == ["pipeline"]
    assert requests.get(base, headers=scoped, timeout=10).status_code == 200
    app_password = (BitbucketApp.USERNAME, BitbucketApp.APP_PASSWORD)
    assert requests.get(base, auth=app_password, timeout=10).status_code == 200


def test_exhausted_rate_limit_is_429_with_bitbucket_headers(emulator):
    emulator.faults.rate_limit("bitbucket", limit=2, window_seconds=30)
    path = f"/2.0/repositories/{emulator.org.bitbucket.workspace}"
    first = get(emulator, "bitbucket", path)
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Resource"] == "api"
    assert get(emulator, "bitbucket", path).headers["X-RateLimit-NearLimit"] == "true"
    refused = get(emulator, "bitbucket", path)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"] == "Rate limit for this resource has been exceeded"


def test_a_deleted_repository_leaves_the_listing_and_answers_404(emulator):
    data = emulator.org.bitbucket
    gone = data.repos[1]
    data.delete_repository(gone.name)
    listed = get(emulator, "bitbucket", f"/2.0/repositories/{data.workspace}").json()
    assert [repo["slug"] for repo in listed["values"]] == [data.repos[0].name]
    assert get(emulator, "bitbucket", pulls_path(emulator, gone)).status_code == 404
