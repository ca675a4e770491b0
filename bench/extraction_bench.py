"""The extraction benchmark: records per CPU second through the allow-list projection.

Synthetic API-shaped GitHub pull requests, Jira issues and Slack messages with a realistic
share of digits (and a little PII) in their text, projected with scrubbing on one core.
"""

from __future__ import annotations

import time
from itertools import cycle, islice

from resources.security.pii import PiiScrubber
from resources.sync.extraction import project_many


def bench_extraction(n: int = 100_000) -> float:
    """Records per CPU second through `project_many`, scrubbing included, on one core.

    The records are synthetic API-shaped GitHub pull requests, Jira issues and Slack
    messages with a realistic share of digits (and a little PII) in their text. CPU time
    rather than wall time, so that other work on the machine does not skew the figure.
    """
    scrubber = PiiScrubber()
    workloads = _benchmark_workloads()
    per_workload = max(1, n // len(workloads))
    projected = 0
    started = time.process_time()
    for entity_name, parent, records in workloads:
        stream = islice(cycle(records), per_workload)
        for _row in project_many(entity_name, stream, "bench-connection", scrubber, parent):
            projected += 1
    return projected / (time.process_time() - started)


_BENCH_TITLES = (
    "Fix flaky login test",
    "ABC-{n}: add retry to the uploader",
    "Bump requests from 2.31.0 to 2.32.{n}",
    "Release v1.{n}.0",
    'Revert "Fix cache invalidation" (#{n})',
    "Refactor billing service for tenant {n}",
    "Docs: explain the deploy process",
    "Handle timeouts from gateway 10.0.{n_octet}.1 (call +1 415 555 2671 for access)",
)
_BENCH_MESSAGES = (
    "deploy of build {n} finished at 14:05 UTC :rocket:",
    "<@U024BE7LH> can you review https://github.com/acme/web/pull/{n}?",
    "lunch?",
    "standup moved to 10:30 tomorrow",
    "ping me on 020 7946 0958 if the pager fires again",
)


def _bench_text(templates: tuple[str, ...], n: int) -> str:
    return templates[n % len(templates)].format(n=n, n_octet=n % 250)


def _benchmark_workloads() -> list[tuple[str, dict, list[dict]]]:
    def user(n: int) -> dict:
        return {"login": f"dev{n % 50}", "id": 1000 + n % 50, "node_id": f"U_{n % 50}",
                "type": "User", "site_admin": False, "avatar_url": "https://example.test/a.png",
                "url": "https://api.example.test/users/dev", "html_url": "https://example.test/dev"}

    repo = {"id": 42, "name": "web", "full_name": "acme/web", "private": False, "owner": user(0),
            "description": "the product", "fork": False, "default_branch": "main"}
    pulls = [
        {
            "id": 5_000_000 + n, "node_id": f"PR_{n}", "number": n, "state": "closed",
            "locked": False, "title": _bench_text(_BENCH_TITLES, n),
            "user": user(n), "body": "Long description with a canary and code\n" * 20,
            "labels": [{"id": 1, "name": "bug", "color": "f00"}], "milestone": None,
            "active_lock_reason": None, "created_at": "2024-01-05T10:30:00Z",
            "updated_at": "2024-01-06T11:00:00Z", "closed_at": "2024-01-06T11:00:00Z",
            "merged_at": "2024-01-06T11:00:00Z", "merge_commit_sha": "a" * 40,
            "assignee": None, "assignees": [user(n + 1)], "requested_reviewers": [user(n + 2)],
            "requested_teams": [], "head": {"ref": f"feature/{n}", "sha": "b" * 40,
                                            "user": user(n), "repo": repo},
            "base": {"ref": "main", "sha": "c" * 40, "user": user(0), "repo": repo},
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
            "_links": {"self": {"href": "https://api.example.test/x"}},
        }
        for n in range(1, 401)
    ]
    issues = [
        {
            "id": str(10_000 + n), "key": f"ABC-{n}", "self": "https://jira.example.test/x",
            "fields": {
                "summary": _bench_text(_BENCH_TITLES, n + 3),
                "description": {"type": "doc", "content": []},
                "project": {"id": "10000", "key": "ABC"},
                "issuetype": {"id": "10001", "name": "Story", "subtask": False,
                              "hierarchyLevel": 0},
                "status": {"id": "3", "name": "In Progress",
                           "statusCategory": {"key": "indeterminate"}},
                "priority": {"name": "Medium"}, "labels": ["backend"],
                "parent": {"key": "ABC-1", "fields": {"issuetype": {"name": "Epic"}}},
                "customfield_10016": 3.0, "customfield_10020": [{"id": 7, "name": "Sprint 7"}],
                "assignee": {"accountId": f"acc-{n % 30}"},
                "reporter": {"accountId": "acc-1"}, "creator": {"accountId": "acc-1"},
                "created": "2024-01-05T10:30:00.000+0000",
                "updated": "2024-01-06T10:30:00.000+0000", "resolutiondate": None,
            },
        }
        for n in range(1, 401)
    ]
    messages = [
        {
            "type": "message", "user": f"U{n % 40:08d}", "ts": f"{1_704_450_600 + n}.000{n:03d}",
            "text": _bench_text(_BENCH_MESSAGES, n),
            "reply_count": n % 3, "reply_users_count": n % 2,
            "reactions": [{"name": "tada", "users": ["U1"], "count": 2}],
            "blocks": [{"type": "rich_text", "elements": []}],
        }
        for n in range(1, 401)
    ]
    return [
        ("github_pull_requests", {}, pulls),
        ("jira_issues", {}, issues),
        ("slack_messages", {"channel_id": "C0123456"}, messages),
    ]
