"""The golden organization: a small, hand-built company whose every mart value is worked out
by hand in tests/dbt/test_golden.py. Times are naive UTC; 2026-03-02 is a Monday (ISO week 10).

People (person_id, team):  alice, bob → payments · carol → platform · dan → no team ·
dependabot[bot] and ci-bot → bots.
Repositories: acme/api (reports GitHub deployments) and acme/shop, a monorepo whose services
`checkout` and `search` deploy through "Deploy <service> to prod" workflow runs.
"""

from __future__ import annotations

from datetime import datetime

AS_OF = datetime(2026, 3, 13, 0, 0)

CONFIG_YAML = """\
stale_pr_days: 3
services:
  - {name: checkout, repository: shop, paths: ["services/checkout/"]}
  - {name: search, repository: shop, paths: ["services/search/"]}
"""

API, SHOP = 1, 2
ALICE, BOB, CAROL, DAN, DEPENDABOT, CI_BOT = 101, 102, 103, 104, 900, 901


def t(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2026."""
    return datetime(2026, 3, day, hour, minute)


def _person(person_id, team, is_bot=False):
    return {"person_id": person_id, "display_name": person_id, "email": f"{person_id}@acme.test",
            "team": team, "is_bot": is_bot, "account_count": 1, "systems": ["github"]}


def _account(system, key, person_id, login, is_bot=False):
    return {"system": system, "account_key": str(key), "person_id": person_id, "login": login,
            "email": None, "display_name": None, "is_bot": is_bot}


PEOPLE = [
    _person("p_alice", "payments"), _person("p_bob", "payments"),
    _person("p_carol", "platform"), _person("p_dan", None),
    _person("p_dependabot", None, True), _person("p_cibot", None, True),
]
IDENTITY_ACCOUNTS = [
    _account("github", ALICE, "p_alice", "alice"), _account("github", BOB, "p_bob", "bob"),
    _account("github", CAROL, "p_carol", "carol"), _account("github", DAN, "p_dan", "dan"),
    _account("github", DEPENDABOT, "p_dependabot", "dependabot[bot]", True),
    _account("github", CI_BOT, "p_cibot", "ci-bot", True),
    _account("jira", "j-alice", "p_alice", None), _account("jira", "j-bob", "p_bob", None),
    _account("jira", "j-carol", "p_carol", None),
    _account("slack", "U_ALICE", "p_alice", "alice"), _account("slack", "U_BOB", "p_bob", "bob"),
    _account("slack", "U_CAROL", "p_carol", "carol"),
    _account("email", "alice@acme.test", "p_alice", None),
    _account("email", "bob@acme.test", "p_bob", None),
    _account("email", "carol@acme.test", "p_carol", None),
]

REPOSITORIES = [
    {"id": API, "name": "api", "full_name": "acme/api", "default_branch": "main"},
    {"id": SHOP, "name": "shop", "full_name": "acme/shop", "default_branch": "main"},
]


def _pr(pr_id, repo, number, author, title, created, merged=None, closed=None, *, sha=None,
        labels=(), additions=0, deletions=0, files=0, author_type="User"):
    return {"id": pr_id, "repository_id": repo, "number": number, "title": title,
            "state": "closed" if (merged or closed) else "open", "author_id": author,
            "author_login": {v: k for k, v in LOGINS.items()}[author], "author_type": author_type,
            "labels": list(labels), "head_ref": f"branch-{number}", "head_sha": f"head{number}",
            "base_ref": "main", "merge_commit_sha": sha, "is_merged": merged is not None,
            "additions": additions, "deletions": deletions, "changed_files": files,
            "created_at": created, "updated_at": merged or closed or created,
            "closed_at": merged or closed, "merged_at": merged}


LOGINS = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dan": DAN,
          "dependabot[bot]": DEPENDABOT, "ci-bot": CI_BOT}

PULL_REQUESTS = [
    _pr(1001, API, 1, ALICE, "Add payment retries", t(2, 10), t(2, 14), sha="m1",
        additions=30, deletions=10, files=3),
    # Squash merge: its branch commits c2a/c2b never reach main, s2 does.
    _pr(1002, API, 2, BOB, "Tidy logging", t(2, 11), t(2, 13), sha="s2",
        additions=5, deletions=2, files=1),
    _pr(1003, API, 3, CAROL, "Faster search index", t(2, 16), t(2, 22), sha="s3",
        additions=200, deletions=100, files=12),
    _pr(1004, API, 4, DEPENDABOT, "Bump lib from 1.0 to 1.1", t(3, 1), t(3, 1, 30), sha="m4",
        additions=2, deletions=2, files=1, author_type="Bot"),
    _pr(1005, API, 5, ALICE, 'Revert "Add payment retries"', t(4, 10), t(4, 11), sha="m5",
        additions=10, deletions=30, files=3),
    _pr(1006, SHOP, 6, DAN, "Checkout button", t(9, 9), t(9, 11), sha="m6",
        labels=("checkout",), additions=600, deletions=500, files=20),
    _pr(1007, SHOP, 7, BOB, "Fix search crash", t(9, 14), t(9, 15), sha="m7",
        labels=("hotfix", "search"), additions=1, deletions=1, files=1),
    # Open; last activity Thursday 5 March 10:00 (its creation): stale 3 days later.
    _pr(1008, API, 8, CAROL, "Experiment", t(5, 10), additions=50, deletions=0, files=2),
    _pr(1009, API, 9, ALICE, "Abandoned idea", t(3, 9), closed=t(3, 10)),
]


def _commit(repo, number, sha, authored, author):
    return {"repository_id": repo, "pull_number": number, "sha": sha, "parent_shas": [],
            "author_email": f"{author}@acme.test", "authored_at": authored,
            "committed_at": authored, "author_id": LOGINS[author]}


PULL_REQUEST_COMMITS = [
    _commit(API, 1, "c1", t(2, 8), "alice"),
    _commit(API, 2, "c2a", t(2, 9), "bob"), _commit(API, 2, "c2b", t(2, 10), "bob"),
    _commit(API, 3, "c3", t(2, 15), "carol"),
    _commit(API, 5, "c5", t(4, 9, 30), "alice"),
    _commit(SHOP, 6, "c6", t(9, 8), "dan"),
    _commit(SHOP, 7, "c7", t(9, 13, 30), "bob"),
    _commit(API, 8, "c8", t(5, 9), "carol"),
]


def _review(review_id, repo, number, reviewer, state, submitted):
    return {"id": review_id, "repository_id": repo, "pull_number": number,
            "reviewer_id": reviewer, "reviewer_login": {v: k for k, v in LOGINS.items()}[reviewer],
            "state": state, "submitted_at": submitted}


REVIEWS = [
    _review(1, API, 1, CI_BOT, "COMMENTED", t(2, 10, 30)),  # a bot: never counts
    _review(2, API, 1, BOB, "APPROVED", t(2, 12)),
    _review(3, API, 3, ALICE, "COMMENTED", t(2, 20)),
    _review(4, API, 3, BOB, "APPROVED", t(2, 21)),
    _review(5, API, 5, CAROL, "APPROVED", t(4, 10, 30)),
    _review(6, SHOP, 6, CAROL, "APPROVED", t(9, 10)),
    _review(7, API, 8, CAROL, "COMMENTED", t(5, 9, 30)),  # the author's own: never counts
    _review(8, API, 8, BOB, "PENDING", None),  # a draft review: never counts
]


def _deployment(dep_id, repo, sha, environment, created):
    return {"id": dep_id, "repository_id": repo, "sha": sha, "ref": "main",
            "environment": environment, "is_production_environment": environment == "production",
            "created_at": created, "updated_at": created}


DEPLOYMENTS = [
    _deployment(1, API, "m1", "production", t(2, 15, 50)),    # D1
    _deployment(2, API, "s3", "production", t(3, 9, 50)),     # D2 (squash commit of PR 3)
    _deployment(3, API, "m4", "production", t(3, 11, 50)),    # failed: not a deployment
    _deployment(4, API, "m4", "staging", t(3, 12)),           # not production
    _deployment(5, API, "m4", "production", t(4, 8, 50)),     # D5
    _deployment(6, API, "m5", "production", t(4, 11, 50)),    # D6
]


def _status(status_id, dep_id, state, created):
    return {"id": status_id, "node_id": f"DES_{status_id}", "repository_id": API, "deployment_id": dep_id, "state": state,
            "environment": "production", "created_at": created, "updated_at": created}


DEPLOYMENT_STATUSES = [
    _status(11, 1, "in_progress", t(2, 15, 55)), _status(12, 1, "success", t(2, 16)),
    _status(21, 2, "in_progress", t(3, 9, 50)), _status(22, 2, "success", t(3, 10)),
    _status(31, 3, "failure", t(3, 12)),
    _status(41, 4, "success", t(3, 12, 5)),
    _status(51, 5, "success", t(4, 9)),
    _status(61, 6, "success", t(4, 12)),
]


def _run(run_id, repo, name, conclusion, sha, finished):
    return {"id": run_id, "repository_id": repo, "workflow_id": 7, "name": name,
            "path": ".github/workflows/deploy.yml", "event": "push", "status": "completed",
            "conclusion": conclusion, "head_branch": "main", "head_sha": sha, "run_number": run_id,
            "run_attempt": 1, "created_at": finished, "updated_at": finished,
            "run_started_at": finished}


WORKFLOW_RUNS = [
    # acme/api reports deployments: its deploy workflow is not counted a second time.
    _run(501, API, "Deploy api to prod", "success", "m4", t(3, 13)),
    _run(601, SHOP, "Deploy checkout to prod", "skipped", "m6", t(9, 11, 30)),
    _run(602, SHOP, "Deploy search to prod", "success", "m6", t(9, 12)),     # W1
    _run(603, SHOP, "Deploy checkout to prod", "success", "m6", t(9, 13)),   # W2
    _run(604, SHOP, "Deploy search to prod", "success", "m7", t(9, 16)),     # W3
    _run(605, SHOP, "Deploy search to prod", "failure", "m7", t(9, 15, 30)),
    _run(606, SHOP, "CI", "success", "m7", t(9, 15, 10)),
]

RELEASES = [
    # acme/api reports deployments: its releases are not counted a second time.
    {"id": 701, "repository_id": API, "tag_name": "v1.0.0", "target_commitish": "main",
     "name": "1.0.0", "is_draft": False, "is_prerelease": False, "author_id": ALICE,
     "created_at": t(4, 13), "published_at": t(4, 13)},
]


def _issue(issue_id, key, issue_type, created, *, status="Done", category="done",
           resolved=None, labels=(), assignee=None, points=None, sprints=(), epic=None):
    return {"id": str(issue_id), "key": key, "project_id": "10", "project_key": key.split("-")[0],
            "summary": key, "issue_type": issue_type, "is_subtask": False, "status": status,
            "status_id": status, "status_category": category, "labels": list(labels),
            "parent_key": epic, "story_points": points, "sprint_ids": list(sprints),
            "assignee_account_id": assignee, "reporter_account_id": assignee,
            "created_at": created, "updated_at": resolved or created, "resolved_at": resolved}


JIRA_ISSUES = [
    # Attributed to D2 (api, 3 March 10:00, four hours earlier).
    _issue(1, "OPS-1", "Incident", t(3, 14), resolved=t(3, 18)),
    # 76 hours after the last deployment (W3, 9 March 16:00): beyond the 72-hour window.
    _issue(2, "OPS-2", "Incident", t(12, 20), resolved=t(12, 22)),
    _issue(11, "PAY-1", "Story", t(2, 9), resolved=t(4, 12), assignee="j-alice", points=3,
           sprints=(1,)),
    _issue(12, "PAY-2", "Bug", t(3, 9), resolved=t(3, 14), assignee="j-bob", points=2,
           sprints=(1,)),
    _issue(13, "PAY-3", "Story", t(2, 8), status="In Progress", category="indeterminate",
           assignee="j-carol", points=5, sprints=(1, 2)),
    _issue(14, "PAY-4", "Task", t(9, 9), resolved=t(10, 10), assignee="j-alice",
           sprints=(2,), epic="PAY-10"),
    _issue(15, "PAY-5", "Story", t(10, 9), status="To Do", category="new"),
]


def _change(history_id, issue_id, from_status, to_status, changed):
    return {"history_id": str(history_id), "issue_id": str(issue_id),
            "issue_key": f"PAY-{issue_id - 10}", "author_account_id": "j-alice",
            "changed_at": changed, "from_status_id": from_status, "from_status": from_status,
            "to_status_id": to_status, "to_status": to_status}


STATUS_CHANGES = [
    # PAY-1: in progress 2d12:00, blocked 3d12:00–4d00:00, done 4d12:00.
    _change(1, 11, "To Do", "In Progress", t(2, 12)),
    _change(2, 11, "In Progress", "Blocked", t(3, 12)),
    _change(3, 11, "Blocked", "In Progress", t(4, 0)),
    _change(4, 11, "In Progress", "Done", t(4, 12)),
    # PAY-2: created mid-sprint, in progress 3d10:00, done 3d14:00.
    _change(5, 12, "To Do", "In Progress", t(3, 10)),
    _change(6, 12, "In Progress", "Done", t(3, 14)),
    # PAY-3: in progress since 5d09:00, carried over into sprint 2.
    _change(7, 13, "To Do", "In Progress", t(5, 9)),
    # PAY-4: in progress 9d10:00, done 10d10:00.
    _change(8, 14, "To Do", "In Progress", t(9, 10)),
    _change(9, 14, "In Progress", "Done", t(10, 10)),
]

SPRINTS = [
    {"id": 1, "name": "Sprint 1", "state": "closed", "origin_board_id": 1,
     "created_at": t(1, 9), "start_at": t(2, 10), "end_at": t(6, 18), "completed_at": t(6, 18)},
    {"id": 2, "name": "Sprint 2", "state": "active", "origin_board_id": 1,
     "created_at": t(6, 18), "start_at": t(9, 9, 30), "end_at": t(13, 18), "completed_at": None},
    {"id": 3, "name": "Sprint 3", "state": "future", "origin_board_id": 1,
     "created_at": t(9, 9), "start_at": None, "end_at": None, "completed_at": None},
]

def _repo_commit(repo, sha, author, authored):
    return {"repository_id": repo, "sha": sha, "parent_shas": [],
            "author_email": f"{author}@acme.test", "authored_at": authored,
            "committed_at": authored, "author_id": LOGINS[author]}


REPOSITORY_COMMITS = [
    _repo_commit(API, "m1", "alice", t(2, 14)), _repo_commit(API, "s2", "bob", t(2, 13)),
    _repo_commit(API, "s3", "carol", t(2, 22)), _repo_commit(API, "m5", "alice", t(4, 11)),
    _repo_commit(API, "x1", "alice", t(5, 9)), _repo_commit(API, "m4", "dependabot[bot]", t(3, 1)),
    # Outside the 90-day knowledge window before AS_OF.
    _repo_commit(API, "old", "dan", datetime(2025, 10, 1, 12, 0)),
    _repo_commit(SHOP, "m6", "dan", t(9, 11)), _repo_commit(SHOP, "x2", "dan", t(9, 12)),
    _repo_commit(SHOP, "m7", "bob", t(9, 15)), _repo_commit(SHOP, "x3", "bob", t(9, 17)),
]

GITHUB = {
    "github_commits": REPOSITORY_COMMITS,
    "github_repositories": REPOSITORIES,
    "github_pull_requests": PULL_REQUESTS,
    "github_pull_request_commits": PULL_REQUEST_COMMITS,
    "github_pull_request_reviews": REVIEWS,
    "github_deployments": DEPLOYMENTS,
    "github_deployment_statuses": DEPLOYMENT_STATUSES,
    "github_workflow_runs": WORKFLOW_RUNS,
    "github_releases": RELEASES,
}
JIRA = {"jira_issues": JIRA_ISSUES, "jira_issue_status_changes": STATUS_CHANGES,
        "jira_sprints": SPRINTS}
def _message(channel, ts, user, posted, *, thread=None, replies=0, bot_id=None, subtype=None):
    return {"channel_id": channel, "ts": ts, "posted_at": posted, "thread_ts": thread,
            "user_id": user, "bot_id": bot_id, "subtype": subtype, "reply_count": replies,
            "reply_users_count": None, "reactions_count": 0, "text": "…", "text_length": 1}


SLACK = {
    "slack_channels": [
        {"id": "C_ENG", "name": "eng", "is_archived": False, "is_general": False},
        {"id": "C_RANDOM", "name": "random", "is_archived": False, "is_general": True},
    ],
    "slack_messages": [
        _message("C_ENG", "a", "U_ALICE", t(2, 9), thread="a", replies=2),
        _message("C_ENG", "a1", "U_BOB", t(2, 9, 30), thread="a"),
        _message("C_ENG", "a2", "U_ALICE", t(2, 10), thread="a"),
        _message("C_ENG", "b", "U_BOB", t(2, 11), thread="b", replies=2),
        _message("C_ENG", "b1", "U_BOB", t(2, 11, 15), thread="b"),  # the poster's own
        _message("C_ENG", "b2", "U_CAROL", t(2, 13), thread="b"),
        _message("C_ENG", "c", "U_CAROL", t(3, 9)),
        _message("C_ENG", "bot", None, t(3, 10), bot_id="B_DEPLOY", subtype="bot_message"),
        _message("C_ENG", "join", "U_ALICE", t(3, 11), subtype="channel_join"),
        _message("C_ENG", "d", "U_UNKNOWN", t(9, 9), thread="d", replies=1),
        _message("C_ENG", "d1", "U_ALICE", t(9, 10), thread="d"),
        _message("C_RANDOM", "r", "U_BOB", t(4, 12)),
    ],
}

IDENTITIES = {"identity_accounts": IDENTITY_ACCOUNTS, "people": PEOPLE}
