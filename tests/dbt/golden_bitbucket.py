"""The golden Bitbucket Cloud organization: one workspace repository whose pull requests,
participants, commits and deployments feed the same marts as GitHub's. Every value the tests
read is worked out by hand in tests/dbt/test_golden_bitbucket.py. Times are naive UTC, March
2026.

People (Atlassian account → person, team): aa-alice → p_alice, aa-bob → p_bob (payments).
Repository: acme/portal (main), deploying to "Staging" and "Production" environments.
Bitbucket abbreviates shas to 12 characters in pull requests; commits carry them whole.
"""

from __future__ import annotations

from datetime import datetime

from tests.dbt.golden_org import t

AS_OF = datetime(2026, 3, 13, 0, 0)
CONFIG_YAML = "stale_pr_days: 3\n"

PORTAL = "{7f3c2a10-0000-4000-8000-000000000001}"
STAGING, PRODUCTION = "{e0000000-0000-4000-8000-00000000000a}", "{e0000000-0000-4000-8000-00000000000b}"
ALICE, BOB = "aa-alice", "aa-bob"
HEAD1 = "abc123def456" + "0" * 27 + "1"
MERGE1 = "fff000111222" + "0" * 27 + "2"
HEAD2 = "bbb222ccc333" + "0" * 27 + "3"
HEAD3 = "ccc333ddd444" + "0" * 27 + "4"
MERGE3 = "ddd444eee555" + "0" * 27 + "5"
DIRECT = "eee555fff666" + "0" * 27 + "6"
HEAD4 = "fff666aaa777" + "0" * 27 + "7"
MERGE4 = "aaa777bbb888" + "0" * 27 + "8"


def _pr(number, author, state, created, updated, head, merge=None, destination="main"):
    return {"repository_uuid": PORTAL, "number": number, "title": f"Change {number}",
            "state": state, "is_draft": False, "author_account_id": author,
            "source_branch": f"feature/{number}", "source_commit": head[:12],
            "destination_branch": destination,
            "merge_commit_sha": merge[:12] if merge else None,
            "closed_by_account_id": None, "comment_count": 1, "task_count": 0,
            "description_length": 10, "created_at": created, "updated_at": updated}


def _participant(number, account, role, approved, state, at):
    return {"repository_uuid": PORTAL, "pull_request_number": number, "user_account_id": account,
            "role": role, "is_approved": approved, "state": state, "participated_at": at}


def _commit(sha, author, at, **parent):
    return {"repository_uuid": PORTAL, "sha": sha, "author_email": f"{author}@acme.test",
            "author_name": author, "author_account_id": f"aa-{author}", "committed_at": at,
            **parent}


def _deployment(uuid, environment, status, sha, started, completed):
    return {"uuid": uuid, "repository_uuid": PORTAL, "environment_uuid": environment,
            "state": "COMPLETED", "status": status, "commit_sha": sha, "pipeline_uuid": None,
            "started_at": started, "completed_at": completed}


BITBUCKET = {
    "bitbucket_repositories": [
        {"uuid": PORTAL, "slug": "portal", "full_name": "acme/portal", "name": "portal",
         "workspace": "acme", "project_key": "AC", "default_branch": "main", "is_private": True,
         "language": "python", "created_at": t(1, 0), "updated_at": t(1, 0)}],
    "bitbucket_environments": [
        {"uuid": STAGING, "repository_uuid": PORTAL, "name": "Staging",
         "environment_type": "Staging", "rank": 1},
        {"uuid": PRODUCTION, "repository_uuid": PORTAL, "name": "Production",
         "environment_type": "Production", "rank": 2}],
    "bitbucket_pull_requests": [
        # #1: merged; a comment at 2d15:00 is its last update, after the merge at 2d12:00.
        _pr(1, ALICE, "MERGED", t(2, 9), t(2, 15), HEAD1, MERGE1),
        # #2: declined at its last update.
        _pr(2, BOB, "DECLINED", t(3, 10), t(3, 18), HEAD2),
        # #3: merged into develop (not the main branch) at its last update, before d2 ran.
        _pr(3, BOB, "MERGED", t(2, 10), t(2, 11), HEAD3, MERGE3, destination="develop"),
        # #4: merged into main at 3d14:00, after the commit d4 deploys was pushed.
        _pr(4, ALICE, "MERGED", t(3, 13, 30), t(3, 15), HEAD4, MERGE4)],
    "bitbucket_pr_participants": [
        _participant(1, BOB, "REVIEWER", True, "approved", t(2, 11)),
        # Alice commented on her own pull request: not a review.
        _participant(1, ALICE, "PARTICIPANT", False, None, t(2, 10)),
        _participant(2, ALICE, "REVIEWER", False, "changes_requested", t(3, 12)),
        # A reviewer asked on #1 who never took part (no participated_on): no review.
        _participant(1, "aa-carol", "REVIEWER", False, None, None)],
    "bitbucket_pr_commits": [
        _commit(HEAD1, "alice", t(2, 8), pull_request_number=1),
        _commit(HEAD2, "bob", t(3, 9), pull_request_number=2)],
    "bitbucket_commits": [_commit(MERGE1, "bob", t(2, 12), parent_shas=[HEAD1]),
                          # Pushed to main directly, without a pull request.
                          _commit(DIRECT, "bob", t(3, 13), parent_shas=[MERGE1]),
                          _commit(MERGE4, "alice", t(3, 14), parent_shas=[DIRECT, HEAD4])],
    "bitbucket_deployments": [
        _deployment("{d1}", STAGING, "SUCCESSFUL", MERGE1, t(2, 13), t(2, 13, 30)),
        _deployment("{d2}", PRODUCTION, "SUCCESSFUL", MERGE1, t(2, 13, 45), t(2, 14)),
        _deployment("{d3}", PRODUCTION, "FAILED", MERGE1, t(3, 9), t(3, 9, 20)),
        _deployment("{d4}", PRODUCTION, "SUCCESSFUL", DIRECT, t(3, 15, 45), t(3, 16))],
}


def _person(person_id):
    return {"person_id": person_id, "display_name": person_id, "email": f"{person_id}@acme.test",
            "team": "payments", "is_bot": False, "account_count": 1, "systems": ["jira"]}


def _account(key, person_id):
    return {"system": "jira", "account_key": key, "person_id": person_id, "login": None,
            "email": None, "display_name": None, "is_bot": False}


IDENTITIES = {"people": [_person("p_alice"), _person("p_bob")],
              "identity_accounts": [_account(ALICE, "p_alice"), _account(BOB, "p_bob")]}
