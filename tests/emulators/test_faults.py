"""Every fault mode on every API's own pagination style."""

from __future__ import annotations

import pytest
import requests

from tests.emulators.clients import get

SECOND_PAGE = {"github": r"[?&]page=2\b", "gitlab": r"[?&]page=2\b", "jira": r"startAt=4\b",
               "slack": r"cursor="}


def walk(emu, api):
    """Every item key of one paginated listing, in the API's own style, 4 items a page."""
    org = emu.org
    keys = []
    if api in ("github", "gitlab"):
        path = ("/repos/sieve-demo/web-app/pulls" if api == "github"
                else f"/api/v4/projects/{org.gitlab_projects[0].repo_id}/merge_requests")
        extra = {"state": "all"} if api == "github" else {}
        page = 1
        while page:
            r = get(emu, api, path, per_page=4, page=page, **extra)
            r.raise_for_status()
            keys += [item["number" if api == "github" else "iid"] for item in r.json()]
            page = page + 1 if "next" in r.links else 0
    elif api == "jira":
        start, total = 0, 1
        while start < total:
            r = get(emu, api, "/rest/api/3/search", jql="ORDER BY key ASC", startAt=start,
                    maxResults=4, fields="summary")
            r.raise_for_status()
            body = r.json()
            keys += [i["key"] for i in body["issues"]]
            start, total = start + 4, body["total"]
    else:
        cursor, channel = "", org.channels[0].channel_id
        while True:
            params = {"channel": channel, "limit": 4, **({"cursor": cursor} if cursor else {})}
            r = get(emu, api, "/api/conversations.history", **params)
            r.raise_for_status()
            body = r.json()
            keys += [m["ts"] for m in body["messages"]]
            cursor = body.get("response_metadata", {}).get("next_cursor")
            if not cursor:
                break
    return keys


APIS = ["github", "gitlab", "jira", "slack"]


@pytest.mark.parametrize("api", APIS)
def test_clean_walk_sees_every_item_once(emulator, api):
    keys = walk(emulator, api)
    assert keys and len(keys) == len(set(keys))


@pytest.mark.parametrize("api", APIS)
def test_repeated_page_duplicates_without_loss(emulator, api):
    clean = walk(emulator, api)
    emulator.faults.repeated_page(SECOND_PAGE[api], api=api)
    faulty = walk(emulator, api)
    assert len(faulty) > len(set(faulty)) and set(faulty) == set(clean)


@pytest.mark.parametrize("api", APIS)
def test_server_error_burst_on_the_second_page(emulator, api):
    emulator.faults.server_errors(SECOND_PAGE[api], times=2, status=503, api=api)
    for _ in range(2):
        with pytest.raises(requests.HTTPError) as failure:
            walk(emulator, api)
        assert failure.value.response.status_code == 503
    assert walk(emulator, api)


@pytest.mark.parametrize("api", APIS)
def test_dropped_connection_mid_pagination(emulator, api):
    emulator.faults.dropped_connection(SECOND_PAGE[api], api=api)
    with pytest.raises(requests.ConnectionError):
        walk(emulator, api)
    assert walk(emulator, api)


@pytest.mark.parametrize("api", APIS)
def test_truncated_json_mid_pagination(emulator, api):
    emulator.faults.truncated_json(SECOND_PAGE[api], api=api)
    with pytest.raises(ValueError):
        walk(emulator, api)
    assert [e.kind for e in emulator.faults.events] == ["truncate_json"]


@pytest.mark.parametrize("api,status", [("github", 403), ("gitlab", 429), ("jira", 429), ("slack", 429)])
def test_secondary_rate_limit_answers_with_retry_after(emulator, api, status):
    emulator.faults.secondary_rate_limit(SECOND_PAGE[api], retry_after=3, api=api)
    with pytest.raises(requests.HTTPError) as failure:
        walk(emulator, api)
    assert failure.value.response.status_code == status
    assert failure.value.response.headers["Retry-After"] == "3"
