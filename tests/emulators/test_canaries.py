"""``canaries()`` is exactly the set of canaries the APIs serve (tiny org)."""

from __future__ import annotations

import re

from emulators.org import CANARY_PREFIX
from tests.emulators.clients import get

TOKEN = re.compile(re.escape(CANARY_PREFIX) + r"[a-z-]+-[0-9a-f]{16}")


def served_github(emu) -> str:
    out = []
    for repo in emu.org.repos:
        base = f"/repos/sieve-demo/{repo.name}"
        for item in get(emu, "github", f"{base}/issues", state="all", per_page=100).json():
            n = item["number"]
            out += [item["body"], get(emu, "github", f"{base}/issues/{n}/comments").text]
            if "pull_request" in item:
                out += [get(emu, "github", f"{base}/pulls/{n}/{part}", per_page=100).text
                        for part in ("reviews", "commits", "files")]
        for commit in get(emu, "github", f"{base}/commits", per_page=100).json():
            out.append(get(emu, "github", f"{base}/commits/{commit['sha']}").text)
    return "\n".join(out)


def served_gitlab(emu) -> str:
    out = []
    for project in emu.org.gitlab_projects:
        base = f"/api/v4/projects/{project.repo_id}"
        for mr in get(emu, "gitlab", f"{base}/merge_requests", per_page=100).json():
            out.append(mr["description"])
            out += [get(emu, "gitlab", f"{base}/merge_requests/{mr['iid']}/{part}", per_page=100).text
                    for part in ("notes", "commits", "diffs")]
        for commit in get(emu, "gitlab", f"{base}/repository/commits", per_page=100).json():
            out.append(get(emu, "gitlab", f"{base}/repository/commits/{commit['id']}/diff").text)
            out.append(commit["message"])
    return "\n".join(out)


def served_jira(emu) -> str:
    return get(emu, "jira", "/rest/api/3/search", jql="ORDER BY key", maxResults=100, fields="*all").text


def served_slack(emu) -> str:
    out = []
    for channel in (*emu.org.channels, *emu.org.direct_messages):
        history = get(emu, "slack", "/api/conversations.history", channel=channel.channel_id, limit=999).json()
        for message in history["messages"]:
            out.append(get(emu, "slack", "/api/conversations.replies", channel=channel.channel_id,
                           ts=message["ts"]).text)
    return "\n".join(out)


def served_pagerduty(emu) -> str:
    window = {"since": "2026-05-01T00:00:00Z", "until": "2026-10-31T00:00:00Z", "limit": 100}
    rest = {"since": "2026-10-31T00:00:00Z", "limit": 100}
    return "\n".join(get(emu, "pagerduty", path, **params).text
                     for path in ("/services", "/users", "/incidents", "/log_entries")
                     for params in (window, rest))


def served_opsgenie(emu) -> str:
    incidents = get(emu, "opsgenie", "/v1/incidents", limit=100).json()["data"]
    assert len(incidents) < 100  # one page holds them all at the tiny scale
    return "\n".join(get(emu, "opsgenie", path, limit=100).text
                     for path in ("/v2/teams", "/v1/services", "/v2/users", "/v1/incidents",
                                  "/v2/alerts"))


def served_bitbucket(emu) -> str:
    data = emu.org.bitbucket
    out = [get(emu, "bitbucket", f"/2.0/repositories/{data.workspace}", pagelen=100).text]
    for repo in data.repos:
        base = f"/2.0/repositories/{data.workspace}/{repo.name}"
        prs = get(emu, "bitbucket", f"{base}/pullrequests", pagelen=50,
                  state=["OPEN", "MERGED", "DECLINED"]).json()
        assert "next" not in prs  # one page holds them all at the tiny scale
        for pr in prs["values"]:
            out.append(get(emu, "bitbucket", f"{base}/pullrequests/{pr['id']}").text)
            out += [get(emu, "bitbucket", f"{base}/pullrequests/{pr['id']}/{part}",
                        pagelen=100).text for part in ("commits", "comments")]
        out += [get(emu, "bitbucket", f"{base}/{part}", pagelen=100).text
                for part in ("commits/main", "pipelines", "deployments")]
    return "\n".join(out)


def served_azuredevops(emu) -> str:
    data = emu.org.azuredevops
    base = f"/{data.project_name}/_apis/git/repositories"
    out = []
    for repo in get(emu, "azuredevops", base).json()["value"]:
        prs = get(emu, "azuredevops", f"{base}/{repo['id']}/pullrequests",
                  **{"searchCriteria.status": "all", "$top": 1000}).json()["value"]
        out += [get(emu, "azuredevops", f"{base}/{repo['id']}/pullrequests",
                    **{"searchCriteria.status": "all", "$top": 1000}).text]
        out += [get(emu, "azuredevops", f"{base}/{repo['id']}/pullRequests/"
                    f"{pr['pullRequestId']}/{part}", **{"$top": 1000}).text
                for pr in prs for part in ("threads", "commits")]
    builds = get(emu, "azuredevops", f"/{data.project_name}/_apis/build/builds", **{"$top": 1000})
    assert "x-ms-continuationtoken" not in builds.headers  # one page holds them all (tiny)
    # Boards: every field of every work item (none named: all served), and every update.
    ids = [str(n) for n in data.boards.work_item_ids()]
    out += [get(emu, "azuredevops", f"/{data.project_name}/_apis/wit/workitems",
                ids=",".join(ids)).text]
    out += [get(emu, "azuredevops", f"/{data.project_name}/_apis/wit/workItems/{n}/updates",
                **{"$top": 1000}).text for n in ids]
    return "\n".join([*out, builds.text])


def test_canaries_are_exactly_what_the_apis_serve(emulator):
    served = "\n".join(f(emulator) for f in (served_github, served_gitlab, served_jira, served_slack,
                                              served_pagerduty, served_opsgenie,
                                              served_bitbucket, served_azuredevops))
    assert set(TOKEN.findall(served)) == set(emulator.canaries())
