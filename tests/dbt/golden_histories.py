"""The golden histories organization: the shapes real organizations' histories have and the
golden organization (golden_org.py) does not — years of PRs before deployments were reported, a
repository switching deployment source, merges into feature and release branches, a change
reverted before it ever shipped, incidents that name no service, several incidents on one
deployment, untimed GitLab approvals, reviews before a PR existed, reopened PRs, unmatched commit
authors and a burst of deployments on one day. Every mart value the tests read is worked out by
hand in tests/dbt/test_golden_histories.py. Times are naive UTC; 2026-03-02 is a Monday.

People (person_id, team): alice, bob → payments · carol → platform.
Repositories (GitHub): acme/legacy (GitHub deployments since 3 March 2026, PRs since 2025),
acme/infra (deploy workflow), acme/burst (deploy workflow, no PRs), acme/lab (never deploys),
acme/switch (releases, then GitHub deployments). GitLab: acme-infra/pipelines (never deploys).
"""

from __future__ import annotations

from datetime import datetime

from tests.dbt.golden_org import _account, _issue, _person, t

AS_OF = datetime(2026, 3, 13, 0, 0)

CONFIG_YAML = """\
release_branch_patterns: ["^release/"]
"""

LEGACY, INFRA, BURST, LAB, SWITCH = 11, 12, 13, 14, 15
PIPELINES = 31
ALICE, BOB, CAROL = 101, 102, 103
GL_ALICE, GL_BOB = 201, 202
LOGINS = {ALICE: "alice", BOB: "bob", CAROL: "carol"}

PEOPLE = [_person("p_alice", "payments"), _person("p_bob", "payments"),
          _person("p_carol", "platform")]
IDENTITY_ACCOUNTS = [
    _account("github", ALICE, "p_alice", "alice"), _account("github", BOB, "p_bob", "bob"),
    _account("github", CAROL, "p_carol", "carol"),
    _account("gitlab", GL_ALICE, "p_alice", "alice"), _account("gitlab", GL_BOB, "p_bob", "bob"),
    _account("email", "alice@acme.test", "p_alice", None),
]

REPOSITORIES = [
    {"id": repo_id, "name": name, "full_name": f"acme/{name}", "default_branch": "main"}
    for repo_id, name in ((LEGACY, "legacy"), (INFRA, "infra"), (BURST, "burst"), (LAB, "lab"),
                          (SWITCH, "switch"))
]


def _pr(pr_id, repo, number, author, title, created, merged=None, closed=None, *, sha=None,
        base="main", state=None):
    return {"id": pr_id, "repository_id": repo, "number": number, "title": title,
            "state": state or ("closed" if (merged or closed) else "open"),
            "author_id": author, "author_login": LOGINS[author], "author_type": "User",
            "labels": [], "head_ref": f"branch-{number}", "head_sha": f"head{number}",
            "base_ref": base, "merge_commit_sha": sha, "is_merged": merged is not None,
            "additions": 1, "deletions": 1, "changed_files": 1,
            "created_at": created, "updated_at": merged or closed or created,
            "closed_at": merged or closed, "merged_at": merged}


PULL_REQUESTS = [
    # legacy: merged fourteen months before the repository's first reported deployment.
    _pr(2001, LEGACY, 1, ALICE, "Old work", datetime(2025, 1, 6, 9), datetime(2025, 1, 6, 12),
        sha="l1"),
    _pr(2002, LEGACY, 2, BOB, "Recent work", t(2, 8), t(2, 10), sha="l2"),
    _pr(2003, LEGACY, 3, CAROL, "Into a feature branch", t(4, 9), t(4, 10), sha="l3",
        base="feature/x"),
    _pr(2004, LEGACY, 4, CAROL, "Into a release branch", t(4, 9), t(4, 11), sha="l4",
        base="release/1.2"),
    # infra: a change and its revert, both merged before the deployment that ships them.
    _pr(2049, INFRA, 49, BOB, "Add bucket", t(2, 9), t(2, 10), sha="i49"),
    _pr(2051, INFRA, 51, BOB, 'Revert "Add bucket"', t(2, 10, 30), t(2, 11), sha="i51"),
    # lab (never deploys): an open and a closed PR with reviews, a review older than its PR,
    # and a PR reopened after being closed (GitHub kept the old closed_at).
    _pr(2005, LAB, 5, ALICE, "Open with a review", t(2, 9)),
    _pr(2006, LAB, 6, ALICE, "Closed with a review", t(2, 9), closed=t(2, 15)),
    _pr(2007, LAB, 7, BOB, "Reviewed as a draft", t(3, 12), t(3, 14), sha="b7"),
    _pr(2008, LAB, 8, CAROL, "Reopened", t(2, 9), closed=t(3, 9), state="open"),
    # switch: shipped by releases until GitHub deployments start on 4 March.
    _pr(2009, SWITCH, 9, ALICE, "Shipped by a release", t(2, 11), t(2, 12), sha="s9"),
    _pr(2010, SWITCH, 10, ALICE, "Shipped by a deployment", t(4, 8), t(4, 9), sha="s10"),
]

PULL_REQUEST_COMMITS = [
    {"repository_id": LAB, "pull_number": 7, "sha": "c7", "parent_shas": [],
     "author_email": "bob@acme.test", "authored_at": t(3, 9), "committed_at": t(3, 9),
     "author_id": BOB},
]


def _review(review_id, repo, number, reviewer, state, submitted):
    return {"id": review_id, "repository_id": repo, "pull_number": number,
            "reviewer_id": reviewer, "reviewer_login": LOGINS[reviewer], "state": state,
            "submitted_at": submitted}


REVIEWS = [
    _review(51, LAB, 5, BOB, "COMMENTED", t(2, 12)),
    _review(61, LAB, 6, BOB, "APPROVED", t(2, 11)),
    _review(71, LAB, 7, ALICE, "COMMENTED", t(3, 10)),  # two hours before the PR was opened
]


def _deployment(dep_id, repo, sha, created):
    return {"id": dep_id, "repository_id": repo, "sha": sha, "ref": "main",
            "environment": "production", "is_production_environment": True,
            "created_at": created, "updated_at": created}


def _status(status_id, repo, dep_id, created):
    return {"id": status_id, "node_id": f"DES_{status_id}", "repository_id": repo, "deployment_id": dep_id, "state": "success",
            "environment": "production", "created_at": created, "updated_at": created}


DEPLOYMENTS = [
    _deployment(1, LEGACY, "l2", t(3, 10)),       # L1: the first legacy deployment
    _deployment(2, LEGACY, "unknown", t(5, 10)),  # L2: sha unknown, ships all merged before
    _deployment(3, SWITCH, "s10", t(4, 10)),      # S1: the first switch deployment
]
DEPLOYMENT_STATUSES = [
    _status(11, LEGACY, 1, t(3, 10)), _status(21, LEGACY, 2, t(5, 10)),
    _status(31, SWITCH, 3, t(4, 10)),
]


def _run(run_id, repo, name, sha, finished):
    return {"id": run_id, "repository_id": repo, "workflow_id": 7, "name": name,
            "path": ".github/workflows/deploy.yml", "event": "push", "status": "completed",
            "conclusion": "success", "head_branch": "main", "head_sha": sha,
            "run_number": run_id, "run_attempt": 1, "created_at": finished,
            "updated_at": finished, "run_started_at": finished}


WORKFLOW_RUNS = [
    _run(801, INFRA, "Deploy infra to prod", "i51", t(2, 12)),  # I1
    # burst: eight deployments on Tuesday 10 March, 10:00 to 17:00.
    *[_run(900 + hour, BURST, "Deploy burst to prod", f"b{hour}", t(10, hour))
      for hour in range(10, 18)],
]


def _release(release_id, tag, published):
    return {"id": release_id, "repository_id": SWITCH, "tag_name": tag,
            "target_commitish": "main", "name": tag, "is_draft": False, "is_prerelease": False,
            "author_id": ALICE, "created_at": published, "published_at": published}


RELEASES = [_release(701, "v1.0.0", t(2, 10)), _release(702, "v1.1.0", t(3, 10))]


def _commit(sha, email, author_id, authored):
    return {"repository_id": LAB, "sha": sha, "parent_shas": [], "author_email": email,
            "authored_at": authored, "committed_at": authored, "author_id": author_id}


REPOSITORY_COMMITS = [
    # Ten commits by one contractor no person matches (no account, unknown email), one by alice.
    *[_commit(f"ext{n}", "contractor@ext.test", None, t(2, 8 + n)) for n in range(10)],
    _commit("own1", "alice@acme.test", ALICE, t(3, 8)),
]

INCIDENTS = [
    # Both name acme/legacy: L2 (5d10:00) is blamed twice; INC-2 is still open.
    _issue(1, "INC-1", "Incident", t(5, 12), resolved=t(5, 15), labels=("legacy",)),
    _issue(2, "INC-2", "Incident", t(5, 13), status="Open", category="new",
           labels=("legacy",)),
    # Names nothing; infra (I1 2d12:00) and legacy (L1 3d10:00) deployed in the 72 h before.
    _issue(3, "INC-3", "Incident", t(3, 12), resolved=t(3, 14)),
]

GITLAB_PROJECTS = [{"id": PIPELINES, "name": "pipelines", "path": "pipelines",
                    "path_with_namespace": "acme-infra/pipelines", "default_branch": "main"}]


def _mr(mr_id, iid, created, merged):
    return {"id": mr_id, "iid": iid, "project_id": PIPELINES, "title": f"MR {iid}",
            "state": "merged", "author_id": GL_ALICE, "author_username": "alice",
            "labels": [], "source_branch": f"branch-{iid}", "target_branch": "main",
            "sha": f"glhead{iid}", "merge_commit_sha": f"glm{iid}", "created_at": created,
            "updated_at": merged, "merged_at": merged, "closed_at": None}


MERGE_REQUESTS = [
    _mr(3001, 1, datetime(2026, 2, 24, 10), datetime(2026, 2, 24, 14)),
    _mr(3002, 2, datetime(2026, 2, 24, 10), datetime(2026, 2, 24, 12)),
    _mr(3003, 3, datetime(2026, 2, 24, 10), datetime(2026, 2, 24, 13)),
]
MR_COMMITS = [
    {"project_id": PIPELINES, "merge_request_iid": 1, "sha": "glc1",
     "author_email": "alice@acme.test", "authored_at": datetime(2026, 2, 24, 9),
     "committed_at": datetime(2026, 2, 24, 9)},
]
# GitLab's approvals endpoint gives who approved, not when; the approval's system note gives
# the time (MR 3), unless it was not found (MR 1).
MR_APPROVALS = [{"project_id": PIPELINES, "merge_request_iid": 1, "approver_id": GL_BOB,
                 "approver_username": "bob", "approved_at": None},
                {"project_id": PIPELINES, "merge_request_iid": 3, "approver_id": GL_BOB,
                 "approver_username": "bob", "approved_at": datetime(2026, 2, 24, 11)}]

GITHUB = {
    "github_repositories": REPOSITORIES,
    "github_pull_requests": PULL_REQUESTS,
    "github_pull_request_commits": PULL_REQUEST_COMMITS,
    "github_pull_request_reviews": REVIEWS,
    "github_deployments": DEPLOYMENTS,
    "github_deployment_statuses": DEPLOYMENT_STATUSES,
    "github_workflow_runs": WORKFLOW_RUNS,
    "github_releases": RELEASES,
    "github_commits": REPOSITORY_COMMITS,
}
GITLAB = {
    "gitlab_projects": GITLAB_PROJECTS,
    "gitlab_merge_requests": MERGE_REQUESTS,
    "gitlab_mr_commits": MR_COMMITS,
    "gitlab_mr_approvals": MR_APPROVALS,
}
JIRA = {"jira_issues": INCIDENTS}
IDENTITIES = {"identity_accounts": IDENTITY_ACCOUNTS, "people": PEOPLE}
