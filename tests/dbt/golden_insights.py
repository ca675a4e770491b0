"""The insights organization: every signal kind of the insights mart open at AS_OF_OPEN and
cleared by AS_OF_CLEARED, worked out by hand in tests/dbt/test_golden_insights.py.
Times are naive UTC; 2026-03-02 is a Monday (ISO week W10), 2026-03-06 is a configured holiday.

People (person_id, team): alice, bob, carol → payments · dan → platform · erin → no team.
Repositories: acme/app (the open PRs) and acme/svc (erin's merged PRs: the weekly history).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.dbt.golden_org import _account, _issue, _person, t

AS_OF_OPEN = t(10, 12)      # Tuesday 10 March 12:00
AS_OF_CLEARED = t(17, 12)   # Tuesday 17 March 12:00

CONFIG_YAML = """\
working_hours: [9, 18]
holidays: ["2026-03-06"]
first_review_working_hours: 8
stale_pr_days: 7
large_pr_lines: 500
wip_limit_per_person: 2
teams:
  payments: ["github:alice", "github:bob", "github:carol"]
  platform: ["github:dan"]
wip_limits_per_team: {payments: 4, platform: 1}
review_window_days: 14
review_concentration_percent: 60
review_concentration_min_reviews: 4
bus_factor_min_commits: 3
sprint_history_sprints: 2
trailing_band_weeks: 4
trailing_band_mads: 3
"""

APP, SVC = 1, 2
ALICE, BOB, CAROL, DAN, ERIN = 101, 102, 103, 104, 105
LOGINS = {ALICE: "alice", BOB: "bob", CAROL: "carol", DAN: "dan", ERIN: "erin"}

PEOPLE = [_person("p_alice", "payments"), _person("p_bob", "payments"),
          _person("p_carol", "payments"), _person("p_dan", "platform"), _person("p_erin", None)]
IDENTITY_ACCOUNTS = [
    *(_account("github", key, f"p_{login}", login) for key, login in LOGINS.items()),
    _account("jira", "j-alice", "p_alice", None),
]


def _pr(pr_id, repo, number, author, created, merged=None, closed=None, *, lines=10):
    return {"id": pr_id, "repository_id": repo, "number": number, "title": f"PR {number}",
            "state": "closed" if (merged or closed) else "open", "author_id": author,
            "author_login": LOGINS[author], "author_type": "User", "labels": [],
            "head_ref": f"branch-{number}", "head_sha": f"head{number}", "base_ref": "main",
            "merge_commit_sha": f"m{number}" if merged else None, "is_merged": merged is not None,
            "additions": lines - lines // 4, "deletions": lines // 4, "changed_files": 1,
            "created_at": created, "updated_at": merged or closed or created,
            "closed_at": merged or closed, "merged_at": merged}


# erin's weekly history on acme/svc: no commits and no reviews, so each PR's cycle = pickup =
# created → merged, and its review time is 0. Cycle hours by week: W6 10, W7 40, W8 20, W9 60,
# W10 150.
HISTORY_CYCLES = [(datetime(2026, 2, 3, 9), 10), (datetime(2026, 2, 10, 9), 40),
                  (datetime(2026, 2, 17, 9), 20), (datetime(2026, 2, 24, 9), 60),
                  (datetime(2026, 3, 2, 0), 150)]
HISTORY_PRS = [_pr(3000 + n, SVC, 100 + n, ERIN, created, created + timedelta(hours=hours))
               for n, (created, hours) in enumerate(HISTORY_CYCLES)]

PULL_REQUESTS = [
    *HISTORY_PRS,
    # Awaiting its first review: opened Thursday 16:00 (before the holiday), reviewed Wed 11th.
    _pr(1001, APP, 1, ALICE, t(5, 16)),
    # Opened Monday 15:00: 21 clock hours but 6 working hours by AS_OF_OPEN; merged unreviewed.
    _pr(1002, APP, 2, BOB, t(9, 15), t(10, 14)),
    # Idle: last activity dan's review 2 March 12:00; closed unmerged on 12 March.
    _pr(1003, APP, 3, CAROL, t(2, 9), closed=t(12, 9)),
    # Too large: 1,200 lines; merged 16 March.
    _pr(1004, APP, 4, DAN, t(9, 9), t(16, 10), lines=1200),
    # alice's second open PR; a commit on 12 March keeps it active; merged after AS_OF_CLEARED.
    _pr(1005, APP, 5, ALICE, t(9, 11)),
]

PULL_REQUEST_COMMITS = [
    {"repository_id": APP, "pull_number": 5, "sha": "c5", "parent_shas": [],
     "author_email": "alice@acme.test", "authored_at": t(12, 9), "committed_at": t(12, 9),
     "author_id": ALICE},
]


def _review(review_id, number, reviewer, submitted):
    return {"id": review_id, "repository_id": APP, "pull_number": number,
            "reviewer_id": reviewer, "reviewer_login": LOGINS[reviewer], "state": "COMMENTED",
            "submitted_at": submitted}


REVIEWS = [
    _review(1, 3, BOB, t(2, 10)), _review(2, 3, BOB, t(2, 11)), _review(3, 3, DAN, t(2, 12)),
    _review(4, 5, BOB, t(9, 12)),
    _review(5, 4, CAROL, t(9, 10)),
    _review(6, 1, BOB, t(11, 10)),
]


def _commit(sha, author, authored):
    return {"repository_id": APP, "sha": sha, "parent_shas": [],
            "author_email": f"{LOGINS[author]}@acme.test", "authored_at": authored,
            "committed_at": authored, "author_id": author}


# acme/app: alice 3, bob 1 by AS_OF_OPEN; bob 2 more on 12 March.
REPOSITORY_COMMITS = [
    _commit("a1", ALICE, t(2, 9)), _commit("a2", ALICE, t(3, 9)), _commit("a3", ALICE, t(4, 9)),
    _commit("b1", BOB, t(4, 10)), _commit("b2", BOB, t(12, 9)), _commit("b3", BOB, t(12, 10)),
]

REPOSITORIES = [
    {"id": APP, "name": "app", "full_name": "acme/app", "default_branch": "main"},
    {"id": SVC, "name": "svc", "full_name": "acme/svc", "default_branch": "main"},
]

# Board 1: sprint 1 (20 → 27 February) and sprint 2 (27 February → 6 March) each completed 7
# issues in 7 days; sprint 3 (6 → 13 March 09:00) has 4 issues left to do.
SPRINTS = [
    {"id": 1, "name": "Sprint 1", "state": "closed", "origin_board_id": 1,
     "created_at": datetime(2026, 2, 19, 9), "start_at": datetime(2026, 2, 20, 9),
     "end_at": datetime(2026, 2, 27, 9), "completed_at": datetime(2026, 2, 27, 9)},
    {"id": 2, "name": "Sprint 2", "state": "closed", "origin_board_id": 1,
     "created_at": datetime(2026, 2, 26, 9), "start_at": datetime(2026, 2, 27, 9),
     "end_at": t(6, 9), "completed_at": t(6, 9)},
    {"id": 3, "name": "Sprint 3", "state": "active", "origin_board_id": 1,
     "created_at": t(5, 9), "start_at": t(6, 9), "end_at": t(13, 9), "completed_at": None},
]
SPRINT_ISSUES = [
    *(_issue(200 + n, f"APP-{200 + n}", "Story", datetime(2026, 2, 19, 9),
             resolved=datetime(2026, 2, 21 + n, 9), sprints=(1,)) for n in range(7)),
    *(_issue(300 + n, f"APP-{300 + n}", "Story", datetime(2026, 2, 19, 9),
             resolved=datetime(2026, 2, 28, 9) + timedelta(days=n), sprints=(2,))
      for n in range(7)),
    *(_issue(400 + n, f"APP-{400 + n}", "Story", t(5, 9), status="To Do", category="new",
             sprints=(3,)) for n in range(4)),
]
# alice's issue in progress from 9 March, done 12 March.
WORK_ISSUE = _issue(1, "APP-1", "Task", t(2, 9), resolved=t(12, 9), assignee="j-alice")
STATUS_CHANGES = [
    {"history_id": str(n), "issue_id": "1", "issue_key": "APP-1", "author_account_id": "j-alice",
     "changed_at": changed, "from_status_id": before, "from_status": before,
     "to_status_id": after, "to_status": after}
    for n, (before, after, changed) in enumerate([("To Do", "In Progress", t(9, 9)),
                                                  ("In Progress", "Done", t(12, 9))])
]

GITHUB = {
    "github_repositories": REPOSITORIES,
    "github_pull_requests": PULL_REQUESTS,
    "github_pull_request_commits": PULL_REQUEST_COMMITS,
    "github_pull_request_reviews": REVIEWS,
    "github_commits": REPOSITORY_COMMITS,
}
JIRA = {"jira_issues": [*SPRINT_ISSUES, WORK_ISSUE], "jira_issue_status_changes": STATUS_CHANGES,
        "jira_sprints": SPRINTS}
IDENTITIES = {"identity_accounts": IDENTITY_ACCOUNTS, "people": PEOPLE}
