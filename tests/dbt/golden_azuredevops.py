"""The golden Azure DevOps organization: one Azure Repos repository whose pull requests, votes,
commits and deploy pipeline runs feed the same marts as GitHub's, in the history shapes of issue
15 (tests/dbt/golden_histories.py has them for GitHub and GitLab): a change merged long before the
first known deployment, a merge into a feature branch, a vote older than its pull request, a
vote without a time, open, abandoned and reactivated pull requests, and a change reverted before
it shipped. Every value the tests read is worked out by hand in
tests/dbt/test_golden_azuredevops.py. Times are naive UTC, March 2026 unless said.

People (Azure DevOps identity → person, team): ado-alice → p_alice, ado-bob → p_bob (payments).
Repository: acme/web (project acme, default branch main; Azure's "refs/heads/" is stripped at
extraction), deployed by the pipeline "Deploy web to prod".
"""

from __future__ import annotations

from datetime import datetime

from tests.dbt.golden_org import _account, _person, t

AS_OF = datetime(2026, 3, 13, 0, 0)
CONFIG_YAML = ""

WEB = "repo-web"
ALICE, BOB = "ado-alice", "ado-bob"
NAMES = {ALICE: "alice@acme.test", BOB: "bob@acme.test"}


def _pr(number, author, title, status, created, closed=None, *, target="main", merge=None):
    return {"pull_request_id": number, "repository_id": WEB, "project_id": "proj-acme",
            "title": title, "status": status, "is_draft": False, "author_id": author,
            "author_unique_name": NAMES[author], "labels": [], "source_branch": f"topic/{number}",
            "target_branch": target, "merge_status": "succeeded" if merge else None,
            "source_commit_id": f"head{number}", "merge_commit_id": merge,
            "created_at": created, "closed_at": closed}


def _vote(number, thread_id, voter, vote, at):
    return {"pull_request_id": number, "repository_id": WEB, "thread_id": thread_id,
            "reviewer_id": voter, "reviewer_unique_name": NAMES[voter], "vote": vote,
            "voted_at": at}


def _build(build_id, sha, finished, result="succeeded", name="Deploy web to prod"):
    return {"id": build_id, "build_number": str(build_id), "status": "completed",
            "result": result, "reason": "individualCI", "definition_id": 7,
            "definition_name": name, "project_id": "proj-acme", "repository_id": WEB,
            "repository_type": "TfsGit", "source_branch": "main", "source_version": sha,
            "queued_at": finished, "started_at": finished, "finished_at": finished}


AZUREDEVOPS = {
    "azuredevops_repositories": [
        {"id": WEB, "name": "web", "project_id": "proj-acme", "project_name": "acme",
         "default_branch": "main", "size_bytes": 1, "is_disabled": False}],
    "azuredevops_pull_requests": [
        # Completed fourteen months before the repository's first deploy pipeline run.
        _pr(1, ALICE, "Old change", "completed", datetime(2025, 1, 5, 9),
            datetime(2025, 1, 5, 12), merge="m1"),
        _pr(2, ALICE, "Voted on before it was opened", "completed", t(2, 10), t(2, 12),
            merge="m2"),
        _pr(3, BOB, "Into a feature branch", "completed", t(2, 11), t(2, 11, 30),
            target="feature/search", merge="m3"),
        _pr(4, BOB, "Voted on at no known time", "completed", t(3, 9), t(3, 11), merge="m4"),
        _pr(5, ALICE, "Open with a vote", "active", t(3, 9)),
        # Abandoned on 3 March, reactivated: active again, Azure kept its closedDate.
        _pr(6, ALICE, "Reactivated", "active", t(2, 9), t(3, 12)),
        _pr(7, ALICE, "Abandoned with a vote", "abandoned", t(3, 9), t(3, 10)),
        _pr(8, BOB, 'Revert "Voted on at no known time"', "completed", t(3, 11, 15),
            t(3, 11, 30), merge="m8"),
    ],
    "azuredevops_pr_votes": [
        _vote(2, 21, BOB, 10, t(2, 9, 30)),   # half an hour before #2 was opened
        _vote(4, 41, ALICE, 10, None),        # a VoteUpdate thread without a publishedDate
        _vote(5, 51, BOB, -5, t(3, 10)),
        _vote(7, 71, BOB, 10, t(3, 9, 30)),
    ],
    "azuredevops_pr_commits": [
        {"pull_request_id": 2, "repository_id": WEB, "sha": "c2", "author_email": NAMES[ALICE],
         "authored_at": t(2, 9), "committer_email": NAMES[ALICE], "committed_at": t(2, 9)}],
    "azuredevops_builds": [
        _build(501, "m2", t(2, 14)),                  # D1
        _build(502, "m8", t(3, 12)),                  # D2: ships #4 and its revert #8
        _build(503, "m8", t(3, 13), result="failed"),  # never a deployment
    ],
}


IDENTITIES = {"people": [_person("p_alice", "payments"), _person("p_bob", "payments")],
              "identity_accounts": [_account("azuredevops", ALICE, "p_alice", None),
                                    _account("azuredevops", BOB, "p_bob", None)]}
