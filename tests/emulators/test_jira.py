"""The Jira Cloud emulator, driven with plain ``requests``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from emulators.org import CANARY_PREFIX


def jira(emulator, path, method="GET", auth=True, **kwargs):
    creds = emulator.credentials("jira")
    return requests.request(method, emulator.base_url("jira") + path, timeout=10,
                            auth=(creds["email"], creds["token"]) if auth else None, **kwargs)


def all_issue_count(emulator):
    return sum(emulator.org.jira_issue_count(p) for p in emulator.org.jira_projects)


def test_search_startat_pagination_walks_every_issue_once(emulator):
    keys, start, total = [], 0, None
    while True:
        page = jira(emulator, "/rest/api/3/search",
                    params={"jql": "ORDER BY key ASC", "startAt": start, "maxResults": 7}).json()
        total = page["total"]
        keys.extend(i["key"] for i in page["issues"])
        start += page["maxResults"]
        if start >= total:
            break
    assert len(keys) == len(set(keys)) == total == all_issue_count(emulator)


def test_search_jql_token_pagination_and_post_body(emulator):
    keys, token = [], None
    while True:
        body = {"jql": "project in (PAY, OPS) ORDER BY created DESC", "maxResults": 10,
                "fields": ["summary", "status", "updated"]}
        if token:
            body["nextPageToken"] = token
        page = jira(emulator, "/rest/api/3/search/jql", "POST", json=body).json()
        keys.extend(i["key"] for i in page["issues"])
        assert set(page["issues"][0]["fields"]) == {"summary", "status", "updated"}
        if page["isLast"]:
            break
        token = page["nextPageToken"]
    assert len(keys) == len(set(keys)) == all_issue_count(emulator)


def test_jql_updated_filter_really_filters(emulator):
    everything = jira(emulator, "/rest/api/3/search",
                      params={"jql": "project = PAY ORDER BY updated ASC", "maxResults": 100,
                              "fields": "updated"}).json()
    cutoff_issue = everything["issues"][len(everything["issues"]) // 2]
    cutoff = datetime.strptime(cutoff_issue["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z")
    jql_date = cutoff.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    recent = jira(emulator, "/rest/api/3/search",
                  params={"jql": f'project = PAY AND updated >= "{jql_date}" ORDER BY updated ASC',
                          "maxResults": 100, "fields": "updated"}).json()
    assert 0 < recent["total"] < everything["total"]
    floor = cutoff.astimezone(UTC).replace(second=0, microsecond=0)
    assert all(datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") >= floor
               for i in recent["issues"])
    emulator.org.touch_jira_issue("PAY-1")
    touched = jira(emulator, "/rest/api/3/search",
                   params={"jql": "updated >= -1h", "fields": "updated"}).json()
    assert [i["key"] for i in touched["issues"]] == ["PAY-1"]


def test_changelog_pages_and_workflow_back_flow(emulator):
    issues = jira(emulator, "/rest/api/3/search",
                  params={"jql": "project = PAY", "maxResults": 100, "expand": "changelog"}).json()["issues"]
    transitions = [(item["fromString"], item["toString"]) for i in issues
                   for h in i["changelog"]["histories"] for item in h["items"] if item["field"] == "status"]
    assert ("In Review", "In Progress") in transitions and ("In Review", "Done") in transitions
    key = next(i["key"] for i in issues if i["changelog"]["total"] > 3)
    seen, start = [], 0
    while True:
        page = jira(emulator, f"/rest/api/3/issue/{key}/changelog",
                    params={"startAt": start, "maxResults": 2}).json()
        seen.extend(v["id"] for v in page["values"])
        if page["isLast"]:
            break
        start += 2
    assert len(seen) == len(set(seen)) == page["total"]


def test_sprints_have_committed_and_added_scope(emulator):
    sprints = jira(emulator, "/rest/agile/1.0/board/1/sprint").json()["values"]
    assert {"closed", "active", "future"} <= {s["state"] for s in sprints}
    added = committed = 0
    for sprint in sprints:
        issues = jira(emulator, f"/rest/agile/1.0/sprint/{sprint['id']}/issue",
                      params={"expand": "changelog"}).json()["issues"]
        for issue in issues:
            set_at = [h["created"] for h in issue["changelog"]["histories"]
                      for item in h["items"] if item["field"] == "Sprint"
                      and str(sprint["id"]) in (item["to"] or "").split(", ")]
            when = datetime.strptime(set_at[0], "%Y-%m-%dT%H:%M:%S.%f%z")
            start = datetime.strptime(sprint["startDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
            added += when > start
            committed += when <= start
    assert added and committed


def test_issue_types_epics_incidents_and_canaries(emulator):
    issues = jira(emulator, "/rest/api/3/search",
                  params={"jql": "ORDER BY key ASC", "maxResults": 100, "fields": "*all"}).json()["issues"]
    types = {i["fields"]["issuetype"]["name"] for i in issues}
    assert {"Epic", "Story", "Bug", "Task", "Incident"} <= types
    assert any("parent" in i["fields"] for i in issues)
    canaries = set(emulator.canaries())
    for issue in issues:
        text = issue["fields"]["description"]["content"][0]["content"][0]["text"]
        assert any(c in text for c in canaries)
        assert CANARY_PREFIX not in issue["fields"]["summary"]
    assert any(v in i["fields"]["summary"] for i in issues for v in emulator.forbidden_pii())


def test_auth_errors_and_rate_limit_429(emulator):
    missing = jira(emulator, "/rest/api/3/myself", auth=False)
    assert missing.status_code == 401
    wrong = requests.get(emulator.base_url("jira") + "/rest/api/3/myself", auth=("a", "b"), timeout=10)
    assert wrong.status_code == 401 and wrong.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    emulator.faults.rate_limit("jira", limit=2, window_seconds=30)
    first = jira(emulator, "/rest/api/3/myself")
    assert first.headers["X-RateLimit-Remaining"] == "1"
    jira(emulator, "/rest/api/3/myself")
    refused = jira(emulator, "/rest/api/3/myself")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 30


def test_no_conditional_requests_and_deleted_issue(emulator):
    first = jira(emulator, "/rest/api/3/issue/PAY-3")
    assert "ETag" not in first.headers  # Jira Cloud offers no validators
    again = jira(emulator, "/rest/api/3/issue/PAY-3", headers={"If-None-Match": '"anything"'})
    assert again.status_code == 200 and again.content == first.content
    emulator.org.delete_jira_issue("PAY-3")
    assert jira(emulator, "/rest/api/3/issue/PAY-3").status_code == 404
    new_key = emulator.org.add_jira_issue("PAY")
    assert jira(emulator, f"/rest/api/3/issue/{new_key}").json()["key"] == new_key


def test_bad_jql_gets_jiras_400(emulator):
    r = jira(emulator, "/rest/api/3/search", params={"jql": "summary ~ secret"})
    assert r.status_code == 400 and r.json()["errorMessages"][0].startswith("Error in the JQL Query")


def test_incidents_follow_failed_production_deployments(emulator):
    failures = {(d.repo.name, d.train): d.statuses[-1].created_at for d in
                emulator.org.failed_production_deployments()}
    incidents = jira(emulator, "/rest/api/3/search",
                     params={"jql": "project = OPS AND issuetype = Incident", "maxResults": 100,
                             "fields": "summary,created"}).json()["issues"]
    assert incidents
    for incident in incidents:
        cause = re.search(r"Incident: (\S+) v1\.(\d+)\.0 production", incident["fields"]["summary"])
        repo, train = cause.group(1), int(cause.group(2))
        created = datetime.strptime(incident["fields"]["created"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert created > failures[(repo, train)] - timedelta(minutes=15)


def test_timestamps_carry_each_persons_offset_across_dst(emulator):
    issues = jira(emulator, "/rest/api/3/search",
                  params={"jql": "ORDER BY created ASC", "maxResults": 100,
                          "fields": "created,reporter"}).json()["issues"]
    offsets: dict[str, set[str]] = {}
    for issue in issues:
        offsets.setdefault(issue["fields"]["reporter"]["accountId"], set()).add(issue["fields"]["created"][-5:])
    assert any(len(seen) == 2 for seen in offsets.values())  # summer and winter time
    assert len(set().union(*offsets.values())) >= 4  # several zones


def test_field_catalogue_names_story_points_and_sprint(emulator):
    fields = {f["name"]: f["id"] for f in jira(emulator, "/rest/api/3/field").json()}
    issue = jira(emulator, "/rest/api/3/issue/PAY-2").json()["fields"]
    assert issue[fields["Story point estimate"]] in (1.0, 2.0, 3.0, 5.0, 8.0)
    assert issue[fields["Sprint"]][0]["name"].startswith("PAY Sprint")


def test_project_clause_accepts_keys_and_ids(emulator):
    by_key = jira(emulator, "/rest/api/3/search", params={"jql": "project = PAY", "fields": "summary"}).json()
    by_id = jira(emulator, "/rest/api/3/search", params={"jql": "project = 10000", "fields": "summary"}).json()
    assert by_key["total"] == by_id["total"] == emulator.org.jira_issue_count(emulator.org.jira_project("PAY"))


def test_project_search_pages_by_key_and_shows_only_browsable_projects(emulator):
    keys, start = [], 0
    while True:
        page = jira(emulator, "/rest/api/3/project/search",
                    params={"startAt": start, "maxResults": 1}).json()
        keys += [p["key"] for p in page["values"]]
        if page["isLast"]:
            break
        assert page["nextPage"].endswith(f"startAt={start + 1}&maxResults=1")
        start += 1
    assert keys == sorted(p.key for p in emulator.org.jira_projects)
    named = jira(emulator, "/rest/api/3/project/search",
                 params={"keys": ["PAY"], "orderBy": "-name", "maxResults": 500}).json()
    assert [p["key"] for p in named["values"]] == ["PAY"] and named["maxResults"] == 50
    assert jira(emulator, "/rest/api/3/project/search", auth=False).status_code == 401
    emulator.apps["jira"].browsable = frozenset()
    empty = jira(emulator, "/rest/api/3/project/search").json()
    assert empty["values"] == [] and empty["total"] == 0 and empty["isLast"] is True
    assert jira(emulator, "/rest/api/3/project/PAY").status_code == 404
    assert jira(emulator, "/rest/api/3/search", params={"jql": "project = PAY"}).json()[
        "total"] == 0


def _refresh(emulator, api, refresh_token):
    return requests.post(emulator.base_url(api) + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": "sieve-demo-client",
        "client_secret": "demo-client-secret", "refresh_token": refresh_token})


@pytest.mark.parametrize("api, refused_status, grant_survives", [
    ("jira", 403, False),  # Atlassian: reuse ends the grant
    ("gitlab", 400, True),
])
def test_a_spent_refresh_token_is_refused_and_on_atlassian_ends_the_grant(
        emulator, api, refused_status, grant_survives):
    first = emulator.apps[api].oauth.grant()["refresh_token"]
    second = _refresh(emulator, api, first).json()["refresh_token"]
    reused = _refresh(emulator, api, first)
    assert reused.status_code == refused_status and reused.json()["error"] == "invalid_grant"
    assert (_refresh(emulator, api, second).status_code == 200) is grant_survives


def test_3lo_tokens_reach_the_site_only_through_the_gateway(emulator):
    app = emulator.apps["jira"]
    bearer = {"Authorization": f"Bearer {app.oauth.grant()['access_token']}"}
    site = emulator.base_url("jira")
    [resource] = requests.get(f"{site}/oauth/token/accessible-resources", headers=bearer,
                              timeout=10).json()
    assert (resource["id"], resource["url"]) == (app.cloud_id, site)
    gateway = f"{site}/ex/jira/{resource['id']}/rest/api/3/myself"
    assert requests.get(gateway, headers=bearer, timeout=10).status_code == 200
    assert requests.get(f"{site}/rest/api/3/myself", headers=bearer, timeout=10).status_code == 401
    assert requests.get(f"{site}/ex/jira/another-cloud/rest/api/3/myself", headers=bearer,
                        timeout=10).status_code == 404
    basic = (app.reader_email, "demo-token")
    assert requests.get(gateway, auth=basic, timeout=10).status_code == 401
