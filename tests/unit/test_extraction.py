"""Projection of raw API records (shaped like the real services' JSON) onto the allow-list."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest

from bench.extraction_bench import bench_extraction
from resources.security.pii import PiiScrubber
from resources.sources import ENTITIES, entity
from resources.sources.jira.schema import jira_issues_entity
from resources.sync.extraction import ExtractionError, project, project_many

CANARY = "CANARY-7f3a9c"


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber()


def gh_user(login: str = "octo-dev", uid: int = 501) -> dict:
    return {"login": login, "id": uid, "node_id": "MDQ6VXNlcjE=", "type": "User",
            "site_admin": False, "avatar_url": "https://avatars.example.test/u/1",
            "html_url": f"https://github.example.test/{login}", "gravatar_id": ""}


GH_REPO = {"id": 42, "node_id": "R_42", "name": "web", "full_name": "acme/web",
           "owner": gh_user("acme", 9), "private": True, "fork": False, "archived": False,
           "visibility": "private", "default_branch": "main", "language": "Python",
           "topics": ["api"], "size": 1024, "stargazers_count": 3, "forks_count": 1,
           "open_issues_count": 4, "created_at": "2020-01-01T00:00:00Z",
           "updated_at": "2024-01-01T00:00:00Z", "pushed_at": "2024-01-02T00:00:00Z",
           "description": f"internal {CANARY}", "homepage": f"https://{CANARY}.example.test",
           "permissions": {"admin": False, "push": True, "pull": True}}

GIT_COMMIT_OBJECT = {
    "author": {"name": "Ana Lima", "email": "ana@example.com", "date": "2024-01-05T10:30:00Z"},
    "committer": {"name": "GitHub", "email": "noreply@github.com", "date": "2024-01-05T11:00:00Z"},
    "message": f"Fix login\n\nsecret {CANARY}", "tree": {"sha": "t" * 40},
    "comment_count": 0, "verification": {"verified": True, "reason": "valid",
                                          "signature": CANARY, "payload": CANARY},
}

# One raw record per entity, as the API returns it, with the canary in every field that
# must not be stored.
ADO_IDENTITY = {"id": "ad-1", "uniqueName": "ana@example.com", "displayName": "Ana Lima",
                "imageUrl": CANARY, "descriptor": CANARY}

RAW = {
    "github_repositories": (GH_REPO, {}),
    "github_pull_requests": ({
        "id": 1001, "node_id": "PR_1", "number": 7, "state": "closed", "locked": False,
        "title": "Add retry (call +1 415 555 2671)", "user": gh_user(), "body": CANARY,
        "labels": [{"id": 1, "name": "bug", "color": "f00", "description": CANARY}],
        "milestone": {"number": 2, "title": "M2", "description": CANARY},
        "created_at": "2024-01-05T10:30:00Z", "updated_at": "2024-01-06T10:30:00Z",
        "closed_at": "2024-01-06T10:30:00Z", "merged_at": "2024-01-06T10:30:00Z",
        "merge_commit_sha": "m" * 40, "assignee": gh_user(), "assignees": [gh_user()],
        "requested_reviewers": [gh_user("rev", 2), gh_user("rev2", 3)],
        "requested_teams": [{"id": 5, "name": "core", "description": CANARY}],
        "head": {"ref": "feature/retry", "sha": "h" * 40, "repo": GH_REPO, "label": "acme:x",
                 "user": gh_user()},
        "base": {"ref": "main", "sha": "b" * 40, "repo": GH_REPO, "label": "acme:main",
                 "user": gh_user()},
        "author_association": "MEMBER", "draft": False, "merged": True, "mergeable": None,
        "merged_by": gh_user("lead", 8), "comments": 2, "review_comments": 1, "commits": 3,
        "additions": 10, "deletions": 4, "changed_files": 2, "diff_url": CANARY,
        "_links": {"self": {"href": CANARY}}, "auto_merge": None,
    }, {}),
    "github_pull_request_reviews": ({
        "id": 80, "node_id": "PRR_80", "user": gh_user("rev", 2), "body": CANARY,
        "state": "APPROVED", "html_url": CANARY, "commit_id": "c" * 40,
        "submitted_at": "2024-01-06T09:00:00Z", "author_association": "MEMBER",
    }, {"repository_id": 42, "pull_number": 7}),
    "github_pull_request_commits": ({
        "sha": "c" * 40, "node_id": "C_1", "commit": GIT_COMMIT_OBJECT, "author": gh_user(),
        "committer": gh_user("web-flow", 19864447), "parents": [{"sha": "p" * 40, "url": "u"}],
    }, {"repository_id": 42, "pull_number": 7}),
    "github_pull_request_services": ({
        "service": "payments", "files_changed": 3, "additions": 20, "deletions": 5,
    }, {"repository_id": 42, "pull_number": 7}),
    "github_commits": ({
        "sha": "c" * 40, "node_id": "C_1", "commit": GIT_COMMIT_OBJECT, "author": None,
        "committer": gh_user("web-flow", 19864447),
        "parents": [{"sha": "p" * 40}, {"sha": "q" * 40}],
        "stats": {"total": 14, "additions": 10, "deletions": 4},
        "files": [{"filename": CANARY, "patch": CANARY, "additions": 10},
                  {"filename": "b.py", "patch": CANARY}],
    }, {"repository_id": 42}),
    "github_issues": ({
        "id": 2001, "node_id": "I_1", "number": 12, "title": "Crash on 10.0.0.7",
        "user": gh_user(), "labels": [{"name": "bug"}], "state": "closed",
        "state_reason": "completed", "locked": False, "assignee": None, "assignees": [],
        "milestone": None, "comments": 5, "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-02T00:00:00Z", "closed_at": "2024-01-02T00:00:00Z",
        "author_association": "NONE", "body": CANARY, "reactions": {"+1": 1},
    }, {"repository_id": 42}),
    "github_deployments": ({
        "id": 300, "node_id": "DE_1", "sha": "d" * 40, "ref": "main", "task": "deploy",
        "payload": {"secret": CANARY}, "original_environment": "production",
        "environment": "production", "description": CANARY, "creator": gh_user(),
        "created_at": "2024-01-06T12:00:00Z", "updated_at": "2024-01-06T12:05:00Z",
        "transient_environment": False, "production_environment": True,
    }, {"repository_id": 42}),
    "github_deployment_statuses": ({
        "id": 400, "node_id": "DES_1", "state": "success", "creator": gh_user(),
        "description": CANARY, "environment": "production", "target_url": CANARY,
        "log_url": CANARY, "environment_url": CANARY, "created_at": "2024-01-06T12:05:00Z",
        "updated_at": "2024-01-06T12:05:00Z",
    }, {"repository_id": 42, "deployment_id": 300}),
    "github_releases": ({
        "id": 500, "node_id": "RE_1", "tag_name": "v1.2.0", "target_commitish": "main",
        "name": "v1.2.0", "draft": False, "prerelease": False, "author": gh_user(),
        "body": CANARY, "assets": [{"name": CANARY}], "created_at": "2024-01-06T12:00:00Z",
        "published_at": "2024-01-06T12:10:00Z",
    }, {"repository_id": 42}),
    "github_tags": ({"name": "v1.2.0", "commit": {"sha": "t" * 40, "url": "u"},
                     "zipball_url": CANARY, "tarball_url": CANARY, "node_id": "REF_1"},
                    {"repository_id": 42}),
    "github_workflow_runs": ({
        "id": 600, "node_id": "WFR_1", "name": "CI", "display_title": CANARY,
        "head_branch": "main", "head_sha": "h" * 40, "path": ".github/workflows/ci.yml",
        "run_number": 31, "run_attempt": 1, "event": "push", "status": "completed",
        "conclusion": "success", "workflow_id": 61, "actor": gh_user(),
        "triggering_actor": gh_user(), "created_at": "2024-01-06T12:00:00Z",
        "updated_at": "2024-01-06T12:09:00Z", "run_started_at": "2024-01-06T12:00:05Z",
        "head_commit": {"id": "h" * 40, "message": CANARY, "author": {"name": "Ana"}},
        "repository": GH_REPO, "head_repository": GH_REPO, "pull_requests": [],
    }, {}),
    "github_users": ({
        **gh_user(), "name": "Ana Lima", "email": "ana@example.com", "company": CANARY,
        "location": CANARY, "bio": CANARY, "blog": CANARY, "twitter_username": CANARY,
        "created_at": "2019-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
    }, {}),
    "gitlab_projects": ({
        "id": 11, "name": "api", "path": "api", "path_with_namespace": "infra/api",
        "description": CANARY, "namespace": {"id": 9, "full_path": "infra", "name": "Infra"},
        "default_branch": "main", "visibility": "private", "archived": False,
        "empty_repo": False, "topics": [], "star_count": 0, "forks_count": 0,
        "created_at": "2021-01-01T00:00:00.000Z", "last_activity_at": "2024-01-01T00:00:00.000Z",
        "readme_url": CANARY,
    }, {}),
    "gitlab_merge_requests": ({
        "id": 7001, "iid": 3, "project_id": 11, "title": "Draft: speed up", "description": CANARY,
        "state": "merged", "draft": True, "created_at": "2024-01-05T10:30:00.000Z",
        "updated_at": "2024-01-06T10:30:00.000Z", "merged_at": "2024-01-06T10:30:00.000Z",
        "closed_at": None, "prepared_at": "2024-01-05T10:31:00.000Z",
        "author": {"id": 5, "username": "ana", "name": "Ana"},
        "merge_user": {"id": 6, "username": "lead"}, "closed_by": None,
        "assignees": [{"id": 5, "username": "ana"}],
        "reviewers": [{"id": 6, "username": "lead"}],
        "source_branch": "speed", "target_branch": "main", "source_project_id": 11,
        "target_project_id": 11, "labels": ["perf"], "sha": "s" * 40,
        "merge_commit_sha": None, "squash_commit_sha": "q" * 40,
        "detailed_merge_status": "not_open", "user_notes_count": 2, "upvotes": 1,
        "downvotes": 0, "changes_count": "1000+", "milestone": None,
        "diff_refs": {"base_sha": CANARY},
    }, {}),
    "gitlab_mr_approvals": ({"user": {"id": 6, "username": "lead", "name": "Lead"},
                             "approved_at": "2024-01-06T09:00:00.000Z"},
                            {"project_id": 11, "merge_request_iid": 3}),
    "gitlab_mr_commits": ({
        "id": "c" * 40, "short_id": "cccccccc", "title": CANARY, "message": CANARY,
        "author_name": "Ana", "author_email": "ana@example.com",
        "authored_date": "2024-01-05T12:30:00.000+02:00", "committer_name": "Ana",
        "committer_email": "ana@example.com", "committed_date": "2024-01-05T12:30:00.000+02:00",
        "parent_ids": ["p" * 40], "web_url": CANARY, "trailers": {},
    }, {"project_id": 11, "merge_request_iid": 3}),
    "gitlab_commits": ({
        "id": "c" * 40, "title": CANARY, "message": CANARY, "author_name": "Ana",
        "author_email": "ana@example.com", "authored_date": "2024-01-05T12:30:00.000+02:00",
        "committer_name": "Ana", "committer_email": "ana@example.com",
        "committed_date": "2024-01-05T12:30:00.000+02:00", "parent_ids": [],
        "stats": {"additions": 3, "deletions": 1, "total": 4},
    }, {"project_id": 11}),
    "gitlab_pipelines": ({
        "id": 8001, "iid": 40, "project_id": 11, "sha": "s" * 40, "ref": "main", "tag": False,
        "status": "success", "source": "push", "user": {"id": 5, "username": "ana"},
        "duration": 320.5, "queued_duration": 2.0, "created_at": "2024-01-06T12:00:00.000Z",
        "updated_at": "2024-01-06T12:06:00.000Z", "started_at": "2024-01-06T12:00:02.000Z",
        "finished_at": "2024-01-06T12:05:30.000Z", "web_url": CANARY, "yaml_errors": CANARY,
    }, {}),
    "gitlab_deployments": ({
        "id": 9001, "iid": 2, "ref": "main", "sha": "s" * 40, "status": "success",
        "created_at": "2024-01-06T12:00:00.000Z", "updated_at": "2024-01-06T12:06:00.000Z",
        "user": {"id": 5, "username": "ana"},
        "environment": {"id": 110, "name": "production", "external_url": CANARY},
        "deployable": {"id": 77, "status": "success", "finished_at": "2024-01-06T12:05:00.000Z",
                       "pipeline": {"id": 8001}, "commit": {"message": CANARY}},
    }, {"project_id": 11}),
    "gitlab_users": ({"id": 5, "username": "ana", "name": "Ana Lima", "state": "active",
                      "bot": False, "public_email": "ana@example.com",
                      "created_at": "2020-01-01T00:00:00.000Z", "location": CANARY,
                      "organization": CANARY, "job_title": CANARY, "bio": CANARY}, {}),
    "jira_projects": ({"id": "10000", "key": "ABC", "name": "Alpha", "projectTypeKey": "software",
                       "simplified": False, "style": "classic", "isPrivate": False,
                       "description": CANARY, "lead": {"accountId": "acc-1", "displayName": "L"},
                       "projectCategory": {"name": "Core", "description": CANARY}}, {}),
    "jira_issues": ({
        "id": "10101", "key": "ABC-12", "self": "https://jira.example.test/rest/api/3/issue/1",
        "fields": {
            "summary": "Login fails for customer 4111 1111 1111 1111",
            "description": {"type": "doc", "content": [{"type": "text", "text": CANARY}]},
            "comment": {"comments": [{"body": CANARY}]}, "environment": CANARY,
            "project": {"id": "10000", "key": "ABC"},
            "issuetype": {"id": "10001", "name": "Story", "subtask": False, "hierarchyLevel": 0},
            "status": {"id": "3", "name": "In Progress",
                       "statusCategory": {"key": "indeterminate"}},
            "priority": {"name": "High"}, "resolution": None, "labels": ["backend"],
            "parent": {"key": "ABC-1", "fields": {"issuetype": {"name": "Epic"},
                                                  "summary": CANARY}},
            "customfield_10016": 5.0,
            "customfield_10020": [{"id": 7, "name": "Sprint 7", "goal": CANARY}],
            "assignee": {"accountId": "acc-2", "emailAddress": "x@example.com"},
            "reporter": {"accountId": "acc-1"}, "creator": {"accountId": "acc-1"},
            "created": "2024-01-05T10:30:00.000+0100", "updated": "2024-01-06T10:30:00.000+0000",
            "resolutiondate": None, "attachment": [{"content": CANARY}],
            "duedate": "2024-02-01",
            "fixVersions": [{"id": "10200", "name": "2.0", "released": False,
                             "description": CANARY}],
        },
    }, {}),
    "jira_issue_status_changes": ({
        "id": "5001", "author": {"accountId": "acc-2", "displayName": "Ana"},
        "created": "2024-01-05T11:00:00.000+0000",
        "items": [
            {"field": "description", "fieldtype": "jira", "fromString": CANARY,
             "toString": CANARY},
            {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1",
             "fromString": "To Do", "to": "3", "toString": "In Progress"},
        ],
    }, {"issue_id": "10101", "issue_key": "ABC-12"}),
    "jira_sprints": ({"id": 7, "self": "u", "state": "closed", "name": "Sprint 7",
                      "startDate": "2024-01-01T09:00:00.000Z",
                      "endDate": "2024-01-14T17:00:00.000Z",
                      "completeDate": "2024-01-14T17:20:00.000Z",
                      "createdDate": "2023-12-29T09:00:00.000Z", "originBoardId": 3,
                      "goal": f"ship login {CANARY}"}, {}),
    "jira_fix_versions": ({"id": "10200", "self": "u", "name": "2.0", "archived": False,
                           "released": False, "releaseDate": "2024-02-15",
                           "userReleaseDate": "15/Feb/24", "projectId": 10000,
                           "description": f"launch {CANARY}", "overdue": False},
                          {"project_key": "ABC"}),
    "jira_boards": ({"id": 3, "self": "u", "name": "ABC board", "type": "scrum",
                     "location": {"projectId": 10000, "projectKey": "ABC", "displayName": CANARY}},
                    {}),
    "jira_users": ({"accountId": "acc-2", "accountType": "atlassian", "displayName": "Ana Lima",
                    "emailAddress": "ana@example.com", "active": True,
                    "timeZone": "Europe/Lisbon", "locale": "pt_PT",
                    "avatarUrls": {"48x48": CANARY}}, {}),
    "slack_channels": ({"id": "C0123", "name": "eng", "is_channel": True, "is_private": False,
                        "is_im": False, "is_mpim": False, "is_group": False, "created": 1704450600,
                        "is_archived": False, "is_general": False, "creator": "U1",
                        "num_members": 12, "topic": {"value": CANARY},
                        "purpose": {"value": CANARY}}, {}),
    "slack_messages": ({"type": "message", "user": "U1", "ts": "1704450600.000200",
                        "thread_ts": "1704450600.000200", "reply_count": 2,
                        "reply_users_count": 1, "text": "ping me on 020 7946 0958 <@U2>",
                        "reactions": [{"name": "tada", "users": ["U2", "U3"], "count": 2},
                                      {"name": "eyes", "users": ["U4"], "count": 1}],
                        "files": [{"name": CANARY}], "attachments": [{"text": CANARY}],
                        "blocks": [{"type": "rich_text", "elements": [{"text": CANARY}]}]},
                       {"channel_id": "C0123"}),
    "slack_users": ({"id": "U1", "team_id": "T1", "name": "ana", "deleted": False,
                     "real_name": "Ana Lima", "tz": CANARY, "is_bot": False, "is_app_user": False,
                     "updated": 1704450600,
                     "profile": {"real_name": "Ana Lima", "display_name": "ana",
                                 "email": "ana@example.com", "phone": CANARY, "title": CANARY}},
                    {}),
    "pagerduty_services": ({"id": "PS1", "type": "service", "name": "Shop API",
                            "description": CANARY, "status": "active",
                            "created_at": "2024-01-05T10:30:00Z",
                            "escalation_policy": {"id": "PE1", "summary": CANARY},
                            "teams": [{"id": "PT1", "type": "team_reference"}]}, {}),
    "pagerduty_incidents": ({"id": "PI1", "incident_number": 7, "title": CANARY,
                             "description": CANARY, "status": "resolved", "urgency": "high",
                             "priority": {"id": "PP1", "summary": "P1"},
                             "service": {"id": "PS1", "summary": "Shop API"},
                             "escalation_policy": {"id": "PE1"}, "body": {"details": CANARY},
                             "created_at": "2024-01-05T10:30:00Z",
                             "updated_at": "2024-01-05T12:30:00Z",
                             "resolved_at": "2024-01-05T12:30:00Z",
                             "last_status_change_at": "2024-01-05T12:30:00Z"}, {}),
    "pagerduty_log_entries": ({"id": "PL1", "type": "acknowledge_log_entry", "summary": CANARY,
                               "created_at": "2024-01-05T10:40:00Z",
                               "incident": {"id": "PI1", "summary": CANARY},
                               "agent": {"id": "PU1", "type": "user_reference"},
                               "channel": {"type": "web", "summary": CANARY}}, {}),
    "pagerduty_users": ({"id": "PU1", "name": "Ana Lima", "email": "ana@example.com",
                         "role": "user", "description": CANARY, "job_title": CANARY,
                         "contact_methods": [{"address": CANARY}]}, {}),
    "opsgenie_teams": ({"id": "ot-1", "name": "Platform", "description": CANARY,
                        "links": {"web": CANARY}}, {}),
    "opsgenie_services": ({"id": "os-1", "name": "checkout", "description": CANARY,
                           "teamId": "ot-1", "tags": [CANARY]}, {}),
    "opsgenie_incidents": ({"id": "oi-1", "tinyId": "7", "message": CANARY,
                            "description": CANARY, "status": "resolved", "tags": [CANARY],
                            "createdAt": "2024-01-05T10:30:00.123Z",
                            "updatedAt": "2024-01-05T12:30:00.000Z", "priority": "P1",
                            "ownerTeam": "ot-1", "responders": [{"type": "user", "id": CANARY}],
                            "extraProperties": {"runbook": CANARY},
                            "impactedServices": ["os-1"]}, {}),
    "opsgenie_incident_alerts": ({"id": "oa-1"}, {"incident_id": "oi-1"}),
    "opsgenie_alerts": ({"id": "oa-1", "tinyId": "70", "alias": CANARY, "message": CANARY,
                         "status": "closed", "acknowledged": True, "tags": [CANARY],
                         "createdAt": "2024-01-05T10:29:00.000Z",
                         "updatedAt": "2024-01-05T12:30:00.000Z", "source": CANARY,
                         "owner": CANARY, "priority": "P1", "ownerTeamId": "ot-1",
                         "report": {"ackTime": 60000, "closeTime": 7260000,
                                    "acknowledgedBy": CANARY, "closedBy": CANARY}}, {}),
    "opsgenie_users": ({"id": "ou-1", "username": "ana@example.com", "fullName": "Ana Lima",
                        "role": {"id": "User", "name": "User"},
                        "userAddress": {"line": CANARY}, "timeZone": CANARY,
                        "details": {"notes": [CANARY]}, "tags": [CANARY]}, {}),
    "bitbucket_repositories": ({"uuid": "{r1}", "slug": "portal", "full_name": "acme/portal",
                                "name": "portal", "description": CANARY,
                                "workspace": {"slug": "acme", "name": CANARY},
                                "project": {"key": "AC", "name": CANARY},
                                "mainbranch": {"name": "main"}, "is_private": True,
                                "language": "python", "created_on": "2024-01-05T10:30:00.1+00:00",
                                "updated_on": "2024-01-06T10:30:00+00:00",
                                "links": {"html": {"href": CANARY}}}, {}),
    "bitbucket_pull_requests": ({"id": 7, "title": "Fix checkout", "description": CANARY,
                                 "summary": {"raw": CANARY, "html": CANARY},
                                 "reason": CANARY, "state": "MERGED", "draft": False,
                                 "author": {"account_id": "aa-1", "nickname": CANARY,
                                            "display_name": CANARY},
                                 "source": {"branch": {"name": "fix"},
                                            "commit": {"hash": "abc123def456"}},
                                 "destination": {"branch": {"name": "main"}},
                                 "merge_commit": {"hash": "fff000111222"},
                                 "closed_by": {"account_id": "aa-2"}, "comment_count": 2,
                                 "task_count": 0, "created_on": "2024-01-05T10:30:00+00:00",
                                 "updated_on": "2024-01-05T12:30:00+00:00"},
                                {"repository_uuid": "{r1}"}),
    "bitbucket_pr_participants": ({"user": {"account_id": "aa-2", "display_name": CANARY},
                                   "role": "REVIEWER", "approved": True, "state": "approved",
                                   "participated_on": "2024-01-05T11:30:00+00:00"},
                                  {"repository_uuid": "{r1}", "pull_request_number": 7}),
    "bitbucket_pr_commits": ({"hash": "c" * 40, "date": "2024-01-05T10:00:00+00:00",
                              "message": CANARY, "summary": {"raw": CANARY},
                              "author": {"raw": "Ana Lima <ana@example.com>",
                                         "user": {"account_id": "aa-1"}},
                              "parents": [{"hash": "p" * 40}]},
                             {"repository_uuid": "{r1}", "pull_request_number": 7}),
    "bitbucket_commits": ({"hash": "c" * 40, "date": "2024-01-05T10:00:00+00:00",
                           "message": CANARY, "author": {"raw": "Ana Lima <ana@example.com>"},
                           "parents": [{"hash": "p" * 40}]}, {"repository_uuid": "{r1}"}),
    "bitbucket_pipelines": ({"uuid": "{p1}", "build_number": 3,
                             "creator": {"display_name": CANARY},
                             "state": {"name": "COMPLETED", "result": {"name": "SUCCESSFUL"}},
                             "target": {"ref_type": "branch", "ref_name": "main",
                                        "commit": {"hash": "c" * 40}},
                             "trigger": {"type": "pipeline_trigger_push"},
                             "duration_in_seconds": 240,
                             "created_on": "2024-01-05T10:00:00+00:00",
                             "completed_on": "2024-01-05T10:04:00+00:00"},
                            {"repository_uuid": "{r1}"}),
    "bitbucket_environments": ({"uuid": "{e1}", "name": "Production", "slug": "production",
                                "environment_type": {"name": "Production", "rank": 2}},
                               {"repository_uuid": "{r1}"}),
    "bitbucket_deployments": ({"uuid": "{d1}", "environment": {"uuid": "{e1}"},
                               "state": {"name": "COMPLETED", "status": {"name": "SUCCESSFUL"},
                                         "started_on": "2024-01-05T10:05:00+00:00",
                                         "completed_on": "2024-01-05T10:09:00+00:00"},
                               "release": {"name": CANARY, "commit": {"hash": "c" * 40}},
                               "deployable": {"pipeline": {"uuid": "{p1}"}}},
                              {"repository_uuid": "{r1}"}),
    "bitbucket_users": ({"user": {"account_id": "aa-1", "uuid": "{u1}", "nickname": "ana",
                                  "display_name": "Ana Lima",
                                  "links": {"avatar": {"href": CANARY}}},
                         "workspace": {"slug": "acme"}}, {}),
    "azuredevops_repositories": ({"id": "ar-1", "name": "payments", "url": CANARY,
                                  "project": {"id": "ap-1", "name": "Apps"},
                                  "defaultBranch": "refs/heads/main", "size": 10,
                                  "remoteUrl": CANARY, "isDisabled": False}, {}),
    "azuredevops_pull_requests": ({
        "pullRequestId": 7, "repository": {"id": "ar-1", "project": {"id": "ap-1"}},
        "title": "Fix rounding", "description": CANARY, "status": "completed",
        "isDraft": False, "createdBy": ADO_IDENTITY, "closedBy": ADO_IDENTITY,
        "sourceRefName": "refs/heads/fix", "targetRefName": "refs/heads/main",
        "mergeStatus": "succeeded", "completionOptions": {"mergeCommitMessage": CANARY,
                                                          "mergeStrategy": "squash"},
        "lastMergeSourceCommit": {"commitId": "a" * 40, "comment": CANARY},
        "lastMergeCommit": {"commitId": "b" * 40}, "labels": [{"name": "hotfix"}],
        "reviewers": [{**ADO_IDENTITY, "vote": 10}], "creationDate": "2024-01-05T10:30:00.1234567Z",
        "closedDate": "2024-01-05T12:30:00Z"}, {}),
    "azuredevops_pr_votes": ({"id": 3, "publishedDate": "2024-01-05T11:00:00Z", "vote": -5,
                              "votedBy": ADO_IDENTITY},
                             {"pull_request_id": 7, "repository_id": "ar-1"}),
    "azuredevops_pr_commits": ({"commitId": "a" * 40, "comment": CANARY,
                                "author": {"name": "Ana Lima", "email": "ana@example.com",
                                           "date": "2024-01-05T10:00:00Z"},
                                "committer": {"name": "Ana Lima", "email": "ana@example.com",
                                              "date": "2024-01-05T10:00:00Z"}},
                               {"pull_request_id": 7, "repository_id": "ar-1"}),
    "azuredevops_builds": ({"id": 1000021, "buildNumber": "20261101.21", "status": "completed",
                            "result": "succeeded", "reason": "individualCI",
                            "definition": {"id": 12, "name": "deploy-production"},
                            "project": {"id": "ap-1"},
                            "repository": {"id": "ar-1", "type": "TfsGit"},
                            "sourceBranch": "refs/heads/main", "sourceVersion": "a" * 40,
                            "requestedFor": ADO_IDENTITY, "queueTime": "2024-01-05T10:00:00Z",
                            "startTime": "2024-01-05T10:00:05Z",
                            "finishTime": "2024-01-05T10:09:00Z",
                            "triggerInfo": {"ci.message": CANARY}, "parameters": CANARY}, {}),
    "azuredevops_users": (ADO_IDENTITY, {}),
    # As the connector hands them on: the fields asked for, under plain names.
    "azuredevops_work_items": ({"id": 42, "teamProject": "Apps", "workItemType": "Bug",
                                "title": "Fix rounding", "state": "Active",
                                "iterationPath": "Apps\\Sprint 3", "assignedTo": ADO_IDENTITY,
                                "storyPoints": 3.0, "createdDate": "2024-01-05T10:00:00Z",
                                "changedDate": "2024-01-06T10:00:00.123Z",
                                "description": CANARY}, {}),
    "azuredevops_work_item_revisions": ({"id": 42, "rev": 3,
                                         "changedDate": "2024-01-06T10:00:00.123Z",
                                         "state": "Active", "iterationPath": "Apps\\Sprint 3",
                                         "revisedBy": ADO_IDENTITY, "history": CANARY}, {}),
    "azuredevops_iterations": ({"id": "ai-1", "name": "Sprint 3", "path": "Apps\\Sprint 3",
                                "attributes": {"startDate": "2024-01-01T00:00:00Z",
                                               "finishDate": "2024-01-12T00:00:00Z",
                                               "timeFrame": "past"}, "url": CANARY}, {}),
    "git_commits": ({"sha": "c" * 40, "parents": ["p" * 40], "author_name": "Ana Lima",
                     "author_email": "ana@example.com", "author_date": "2024-01-05T12:30:00+02:00",
                     "committer_name": "Ana Lima", "committer_email": "ana@example.com",
                     "committer_date": "2024-01-05T12:45:00-05:00", "files_changed": 3,
                     "binary_files_changed": 1, "insertions": 10, "deletions": 2}, {}),
}


def test_every_entity_has_a_raw_fixture() -> None:
    assert set(RAW) == set(ENTITIES)


@pytest.mark.parametrize("name", sorted(RAW))
def test_projection_keeps_exactly_the_declared_columns(name: str, scrubber: PiiScrubber) -> None:
    raw, parent = RAW[name]
    row = project(name, raw, "conn-1", scrubber, parent=parent)
    assert row is not None
    assert tuple(row) == entity(name).column_names
    assert row["connection_id"] == "conn-1"
    assert all(row[key] is not None for key in entity(name).primary_key)
    assert CANARY not in repr(row)


def test_pull_request_values(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["github_pull_requests"]
    row = project("github_pull_requests", raw, "conn-1", scrubber)
    assert row["title"] == "Add retry (call [phone])"
    assert row["labels"] == ["bug"]
    assert row["repository_id"] == 42 and row["number"] == 7
    assert row["author_login"] == "octo-dev" and row["author_id"] == 501
    assert row["requested_reviewers_count"] == 2 and row["requested_teams_count"] == 1
    assert (row["head_ref"], row["base_ref"]) == ("feature/retry", "main")
    assert row["merged_by_login"] == "lead"
    assert (row["additions"], row["deletions"], row["changed_files"]) == (10, 4, 2)
    assert row["body_length"] == len(CANARY)
    assert row["merged_at"] == datetime(2024, 1, 6, 10, 30)
    assert row["milestone_number"] == 2


def test_list_endpoint_record_without_detail_fields(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["github_pull_requests"]
    listed = {k: v for k, v in raw.items() if k not in ("additions", "deletions", "merged_by")}
    row = project("github_pull_requests", listed, "conn-1", scrubber)
    assert row["additions"] is None and row["merged_by_login"] is None


def test_commit_identity_and_stats(scrubber: PiiScrubber) -> None:
    raw, parent = RAW["github_commits"]
    row = project("github_commits", raw, "conn-1", scrubber, parent=parent)
    assert row["parent_shas"] == ["p" * 40, "q" * 40]
    assert row["author_name"] == "Ana Lima" and row["author_email"] == "ana@example.com"
    assert row["author_login"] is None and row["committer_login"] == "web-flow"
    assert row["authored_at"] == datetime(2024, 1, 5, 10, 30)
    assert (row["additions"], row["deletions"], row["files_changed"]) == (10, 4, 2)
    assert row["is_verified"] is True


def test_git_commit_keeps_utc_offsets(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["git_commits"]
    row = project("git_commits", raw, "conn-1", scrubber)
    assert row["authored_at"] == datetime(2024, 1, 5, 10, 30)
    assert row["author_utc_offset_minutes"] == 120
    assert row["committed_at"] == datetime(2024, 1, 5, 17, 45)
    assert row["committer_utc_offset_minutes"] == -300


def test_jira_issue_fields_and_scrubbed_summary(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["jira_issues"]
    row = project("jira_issues", raw, "conn-1", scrubber)
    assert row["summary"] == "Login fails for customer [card]"
    assert (row["status"], row["status_category"]) == ("In Progress", "indeterminate")
    assert (row["parent_key"], row["parent_issue_type"]) == ("ABC-1", "Epic")
    assert row["story_points"] == 5.0 and row["sprint_ids"] == [7]
    assert row["created_at"] == datetime(2024, 1, 5, 9, 30)
    assert row["resolved_at"] is None
    assert row["due_date"] == date(2024, 2, 1) and row["fix_version_ids"] == ["10200"]


def test_jira_fix_version_keeps_its_release_and_drops_its_description(
        scrubber: PiiScrubber) -> None:
    raw, parent = RAW["jira_fix_versions"]
    row = project("jira_fix_versions", raw, "conn-1", scrubber, parent=parent)
    assert row == {"connection_id": "conn-1", "id": "10200", "project_key": "ABC", "name": "2.0",
                   "release_date": date(2024, 2, 15), "is_released": False,
                   "is_archived": False}


def test_jira_issue_with_site_specific_custom_fields(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["jira_issues"]
    fields = {**raw["fields"], "customfield_10026": 8.0, "customfield_10104": [{"id": 9}]}
    site = jira_issues_entity(story_points_field="customfield_10026",
                              sprint_field="customfield_10104")
    row = project(site, {**raw, "fields": fields}, "conn-1", scrubber)
    assert row["story_points"] == 8.0 and row["sprint_ids"] == [9]


def test_status_change_keeps_only_the_status_transition(scrubber: PiiScrubber) -> None:
    raw, parent = RAW["jira_issue_status_changes"]
    row = project("jira_issue_status_changes", raw, "conn-1", scrubber, parent=parent)
    assert (row["from_status"], row["to_status"]) == ("To Do", "In Progress")
    assert (row["from_status_id"], row["to_status_id"]) == ("1", "3")
    assert row["issue_key"] == "ABC-12" and row["author_account_id"] == "acc-2"
    assert row["changed_at"] == datetime(2024, 1, 5, 11, 0)


def test_sprint_goal_is_reduced_to_its_length(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["jira_sprints"]
    row = project("jira_sprints", raw, "conn-1", scrubber)
    assert row["goal_length"] == len(raw["goal"])
    assert "goal" not in row


def test_slack_message_metadata_and_scrubbed_text(scrubber: PiiScrubber) -> None:
    raw, parent = RAW["slack_messages"]
    row = project("slack_messages", raw, "conn-1", scrubber, parent=parent)
    assert row["text"] == "ping me on [phone] <@U2>"
    assert row["reactions_count"] == 3
    assert row["posted_at"] == datetime(2024, 1, 5, 10, 30, 0, 200)
    assert (row["channel_id"], row["ts"], row["reply_count"]) == ("C0123", raw["ts"], 2)


def test_jira_ids_are_text_in_both_apis(scrubber: PiiScrubber) -> None:
    board = project("jira_boards", RAW["jira_boards"][0], "c", scrubber)
    issue = project("jira_issues", RAW["jira_issues"][0], "c", scrubber)
    assert board["project_id"] == issue["project_id"] == "10000"


def test_gitlab_changes_count_past_the_limit(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["gitlab_merge_requests"]
    assert project("gitlab_merge_requests", raw, "c", scrubber)["changes_count"] == 1000
    exact = project("gitlab_merge_requests", {**raw, "changes_count": "12"}, "c", scrubber)
    assert exact["changes_count"] == 12


REFUSED = [
    ("github_issues", {**RAW["github_issues"][0], "pull_request": {"url": "u"}},
     {"repository_id": 42}),
    ("slack_channels", {**RAW["slack_channels"][0], "is_private": True}, {}),
    ("slack_channels", {**RAW["slack_channels"][0], "id": "D0123", "is_im": True}, {}),
    ("slack_channels", {**RAW["slack_channels"][0], "is_mpim": True}, {}),
    ("slack_channels", {**RAW["slack_channels"][0], "is_group": True}, {}),
    ("slack_messages", RAW["slack_messages"][0], {"channel_id": "D0123"}),
    ("slack_messages", RAW["slack_messages"][0], {"channel_id": "G0123"}),
    ("slack_messages", RAW["slack_messages"][0],
     {"channel_id": "C0999", "channel_is_private": True}),
    ("slack_messages", {**RAW["slack_messages"][0], "channel_type": "im"},
     {"channel_id": "C0123"}),
    ("jira_issue_status_changes",
     {**RAW["jira_issue_status_changes"][0], "items": [{"field": "assignee", "to": "x"}]},
     {"issue_id": "1", "issue_key": "ABC-1"}),
]


@pytest.mark.parametrize(("name", "raw", "parent"), REFUSED)
def test_records_that_must_not_be_stored_are_refused(
    name: str, raw: dict, parent: dict, scrubber: PiiScrubber
) -> None:
    assert project(name, raw, "conn-1", scrubber, parent=parent) is None
    assert list(project_many(name, [raw], "conn-1", scrubber, parent=parent)) == []


def test_missing_parent_values_are_named(scrubber: PiiScrubber) -> None:
    raw, _ = RAW["github_pull_request_reviews"]
    with pytest.raises(ExtractionError, match=r"\['pull_number'\]"):
        project("github_pull_request_reviews", raw, "c", scrubber, parent={"repository_id": 1})


def test_missing_key_refuses_the_record_naming_the_column(scrubber: PiiScrubber) -> None:
    raw = {"title": CANARY, "user": gh_user(), "base": {"repo": {"id": 1}}}
    refusals: Counter = Counter()
    assert project("github_pull_requests", raw, "c", scrubber, refusals=refusals) is None
    assert list(refusals) == ["github_pull_requests.id: no usable key value, record refused"]


def test_malformed_value_is_dropped_and_counted_without_raw_values(scrubber: PiiScrubber) -> None:
    raw = {**RAW["github_pull_requests"][0], "created_at": f"not a date {CANARY}"}
    refusals: Counter = Counter()
    row = project("github_pull_requests", raw, "c", scrubber, refusals=refusals)
    assert row["created_at"] is None and row["title"]
    assert list(refusals) == ["github_pull_requests.created_at: unreadable (ValueError)"]


def test_a_record_that_is_not_an_object_is_refused(scrubber: PiiScrubber) -> None:
    refusals: Counter = Counter()
    assert project("github_tags", [1, 2], "c", scrubber, parent={"repository_id": 1},
                   refusals=refusals) is None
    assert list(refusals) == ["github_tags.(record): not a JSON object, record refused"]


def test_project_many_streams_lazily(scrubber: PiiScrubber) -> None:
    raw, parent = RAW["github_tags"]

    def records():
        yield raw
        raise AssertionError("read past the first record")

    rows = project_many("github_tags", records(), "c", scrubber, parent=parent)
    assert next(rows)["name"] == "v1.2.0"


def test_benchmark_reports_a_rate() -> None:
    assert bench_extraction(300) > 0
