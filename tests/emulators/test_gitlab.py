"""The GitLab emulator, driven with plain ``requests``."""

from __future__ import annotations

from urllib.parse import quote

import requests

from emulators.org import CANARY_PREFIX


def gl(emulator, path, token="demo-token", **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["PRIVATE-TOKEN"] = token
    return requests.get(f"{emulator.base_url('gitlab')}/api/v4{path}", headers=headers, timeout=10, **kwargs)


def project(emulator):
    return emulator.org.gitlab_projects[0]


def test_group_projects_and_lookup_by_encoded_path(emulator):
    projects = gl(emulator, f"/groups/{emulator.org.gitlab_group}/projects").json()
    assert [p["name"] for p in projects] == [r.name for r in emulator.org.gitlab_projects]
    by_path = gl(emulator, "/projects/" + quote(projects[0]["path_with_namespace"], safe="")).json()
    assert by_path["id"] == projects[0]["id"]


def test_merge_request_pagination_headers_walk_every_mr_once(emulator):
    repo = project(emulator)
    iids, page, pages = [], "1", 0
    while page:
        r = gl(emulator, f"/projects/{repo.repo_id}/merge_requests", params={"per_page": 4, "page": page})
        iids.extend(m["iid"] for m in r.json())
        assert r.headers["x-total"] == str(emulator.org.item_count(repo))
        page = r.headers["x-next-page"]
        pages += 1
        if page:
            assert "rel=\"next\"" in r.headers["Link"]
    assert sorted(iids) == list(range(1, emulator.org.item_count(repo) + 1))
    assert len(iids) == len(set(iids)) and pages == int(r.headers["x-total-pages"])


def test_updated_after_filters_and_states(emulator):
    repo = project(emulator)
    everything = gl(emulator, f"/projects/{repo.repo_id}/merge_requests", params={"per_page": 100}).json()
    assert {"merged", "closed", "opened"} <= {m["state"] for m in everything}
    cutoff = sorted(m["updated_at"] for m in everything)[len(everything) // 2]
    recent = gl(emulator, f"/projects/{repo.repo_id}/merge_requests",
                params={"updated_after": cutoff, "per_page": 100}).json()
    assert 0 < len(recent) < len(everything) and all(m["updated_at"] >= cutoff for m in recent)
    emulator.org.touch_merge_request(repo.name, everything[-1]["iid"])
    newest = gl(emulator, f"/projects/{repo.repo_id}/merge_requests",
                params={"updated_after": "2026-11-16T12:00:00Z"}).json()
    assert [m["iid"] for m in newest] == [everything[-1]["iid"]]


def test_mr_details_approvals_notes_commits(emulator):
    repo = project(emulator)
    merged = [m for m in gl(emulator, f"/projects/{repo.repo_id}/merge_requests",
                            params={"state": "merged", "per_page": 100}).json()]
    approvals = [gl(emulator, f"/projects/{repo.repo_id}/merge_requests/{m['iid']}/approvals").json()
                 for m in merged]
    assert any(a["approved"] for a in approvals)
    canaries = set(emulator.canaries())
    notes = [n for m in merged
             for n in gl(emulator, f"/projects/{repo.repo_id}/merge_requests/{m['iid']}/notes").json()]
    assert any(n["system"] for n in notes)
    assert all(any(c in n["body"] for c in canaries) for n in notes if not n["system"])
    commits = gl(emulator, f"/projects/{repo.repo_id}/merge_requests/{merged[0]['iid']}/commits").json()
    assert commits and all(c["authored_date"][-6] in "+-" for c in commits)
    assert all(CANARY_PREFIX not in m["title"] and any(c in m["description"] for c in canaries)
               for m in merged)


def test_commits_pipelines_deployments(emulator):
    repo = project(emulator)
    commits = gl(emulator, f"/projects/{repo.repo_id}/repository/commits",
                 params={"with_stats": "true", "per_page": 100}).json()
    assert commits and all("stats" in c for c in commits)
    since = sorted(c["committed_date"] for c in commits)[len(commits) // 2]
    single = gl(emulator, f"/projects/{repo.repo_id}/repository/commits/{commits[0]['id']}").json()
    assert single["stats"]["total"] == single["stats"]["additions"] + single["stats"]["deletions"]
    newer = gl(emulator, f"/projects/{repo.repo_id}/repository/commits",
               params={"since": since, "per_page": 100}).json()
    assert 0 < len(newer) < len(commits)
    pipelines = gl(emulator, f"/projects/{repo.repo_id}/pipelines", params={"per_page": 100}).json()
    assert {"success", "failed"} <= {p["status"] for p in pipelines}
    deployments = gl(emulator, f"/projects/{repo.repo_id}/deployments", params={"per_page": 100}).json()
    assert {"production", "staging"} == {d["environment"]["name"] for d in deployments}
    assert "failed" in {d["status"] for d in deployments}


def test_auth_rate_limit_and_conditional(emulator):
    assert gl(emulator, "/user", token=None).json() == {"message": "401 Unauthorized"}
    assert gl(emulator, "/user", token="bad").status_code == 401
    first = gl(emulator, "/user")
    assert gl(emulator, "/user", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    emulator.faults.rate_limit("gitlab", limit=1, window_seconds=10)
    ok = gl(emulator, "/user")
    assert ok.headers["RateLimit-Remaining"] == "0"
    refused = gl(emulator, "/user")
    assert refused.status_code == 429 and refused.text == "Retry later\n"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10


def test_users_list_bots_and_deleted_authors_show_as_ghost(emulator):
    users = gl(emulator, "/users", params={"per_page": 100}).json()
    assert any(u["bot"] for u in users) and not any(u["username"] == "ghost" for u in users)
    repo = project(emulator)
    authors = {m["author"]["username"] for m in gl(
        emulator, f"/projects/{repo.repo_id}/merge_requests", params={"per_page": 100}).json()}
    assert "ghost" in authors  # a deleted account's MRs show GitLab's Ghost User


def test_single_pipeline_detail(emulator):
    repo = project(emulator)
    listed = gl(emulator, f"/projects/{repo.repo_id}/pipelines", params={"per_page": 100}).json()
    done = next(p for p in listed if p["status"] == "success")
    detail = gl(emulator, f"/projects/{repo.repo_id}/pipelines/{done['id']}").json()
    assert {k: detail[k] for k in done} == done
    assert detail["duration"] > 0 and detail["user"]["username"]
    assert gl(emulator, f"/projects/{repo.repo_id}/pipelines/1").status_code == 404


def test_groups_lists_the_readers_memberships_by_role_page_by_page(emulator):
    group = emulator.org.gitlab_group
    listed = gl(emulator, "/groups", params={"order_by": "path"}).json()
    assert [g["full_path"] for g in listed] == [group, f"{group}/handbook", "sieve-demo-web"]
    assert listed[1]["parent_id"] == listed[0]["id"] and listed[0]["visibility"] == "private"
    # The Guest membership of the subgroup drops out at Reporter (20) and above.
    paths, page = [], "1"
    while page:
        answer = gl(emulator, "/groups", params={"min_access_level": 20, "order_by": "path",
                                                  "per_page": 1, "page": page})
        assert answer.headers["x-total"] == "2"
        paths += [g["full_path"] for g in answer.json()]
        page = answer.headers["x-next-page"]
    assert paths == [group, "sieve-demo-web"]
    assert [g["full_path"] for g in gl(emulator, "/groups",
                                       params={"top_level_only": "true", "sort": "desc",
                                               "order_by": "path"}).json()] == [
        "sieve-demo-web", group]
    assert gl(emulator, "/groups", params={"min_access_level": 25}).status_code == 400
    assert gl(emulator, "/groups", token="bad").status_code == 401
    assert gl(emulator, "/groups/sieve-demo-web/projects").json() == []


def test_a_user_in_no_group_sees_no_group_and_no_project(emulator):
    emulator.apps["gitlab"].memberships = ()
    assert gl(emulator, "/groups", params={"min_access_level": 10}).json() == []
    assert gl(emulator, f"/groups/{emulator.org.gitlab_group}/projects").status_code == 404
    assert gl(emulator, f"/projects/{project(emulator).repo_id}").status_code == 404
    assert gl(emulator, "/projects").json() == []
    path = f"{emulator.org.gitlab_group}/{project(emulator).name}"
    answer = requests.post(f"{emulator.base_url('gitlab')}/api/graphql", timeout=10,
                           headers={"PRIVATE-TOKEN": "demo-token"},
                           json={"query": f'{{ project(fullPath: "{path}") {{ id }} }}'})
    assert answer.json()["data"]["project"] is None
