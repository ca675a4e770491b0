"""The allow-list declarations: registry, DDL, forbidden fields, generated documentation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from resources.sources import ENTITIES, allow_list, entities_for, entity, scrubbed_columns
from resources.sources.docs import allow_list_markdown
from resources.sources.github.schema import GITHUB_PULL_REQUESTS
from resources.sources.jira.schema import jira_field_ids, jira_issues_entity, sprint_ids
from resources.storage.metadata_store import MetadataStore
from resources.sync.engine import table_spec

ALLOW_LIST_DOC = Path(__file__).resolve().parents[2] / "docs" / "allow-list.md"

EXPECTED_TABLES = {
    "github": {
        "github_repositories", "github_pull_requests", "github_pull_request_reviews",
        "github_pull_request_commits", "github_pull_request_services", "github_commits",
        "github_issues", "github_deployments",
        "github_deployment_statuses", "github_releases", "github_tags", "github_workflow_runs",
        "github_users",
    },
    "gitlab": {
        "gitlab_projects", "gitlab_merge_requests", "gitlab_mr_approvals", "gitlab_mr_commits",
        "gitlab_commits", "gitlab_pipelines", "gitlab_deployments", "gitlab_users",
    },
    "jira": {
        "jira_projects", "jira_issues", "jira_issue_status_changes", "jira_sprints",
        "jira_boards", "jira_users", "jira_fix_versions",
    },
    "slack": {"slack_channels", "slack_messages", "slack_users"},
    "git": {"git_commits"},
    "pagerduty": {"pagerduty_services", "pagerduty_incidents", "pagerduty_log_entries",
                  "pagerduty_users"},
    "opsgenie": {"opsgenie_teams", "opsgenie_services", "opsgenie_incidents",
                 "opsgenie_incident_alerts", "opsgenie_alerts", "opsgenie_users"},
    "bitbucket": {"bitbucket_repositories", "bitbucket_pull_requests",
                  "bitbucket_pr_participants", "bitbucket_pr_commits", "bitbucket_commits",
                  "bitbucket_pipelines", "bitbucket_environments", "bitbucket_deployments",
                  "bitbucket_users"},
    "azuredevops": {"azuredevops_repositories", "azuredevops_pull_requests",
                    "azuredevops_pr_votes", "azuredevops_pr_commits", "azuredevops_builds",
                    "azuredevops_users", "azuredevops_work_items",
                    "azuredevops_work_item_revisions", "azuredevops_iterations"},
}

# Raw fields holding content the statement says we never store. A column may read one only
# to keep its length.
FORBIDDEN_FIELDS = {
    "body", "description", "message", "title_and_message", "patch", "diff", "content",
    "goal", "topic", "purpose", "payload", "files", "head_commit", "display_title",
    "comment", "comments_text", "attachments", "blocks", "environment_url", "phone", "title",
    "location", "company", "bio", "tz", "timeZone",
}
LENGTH_OR_COUNT = {allow_list.text_length, allow_list.item_count}


def test_registry_holds_every_entity_once() -> None:
    assert {system: {e.name for e in entities_for(system)} for system in EXPECTED_TABLES} == (
        EXPECTED_TABLES
    )
    assert len(ENTITIES) == sum(len(tables) for tables in EXPECTED_TABLES.values())
    assert all(name == declared.table for name, declared in ENTITIES.items())


def test_entity_lookup_names_the_choices() -> None:
    assert entity("github_pull_requests") is GITHUB_PULL_REQUESTS
    with pytest.raises(KeyError, match="no allow-listed entity 'github_prs'.*github_issues"):
        entity("github_prs")


@pytest.mark.parametrize("declared", ENTITIES.values(), ids=ENTITIES.keys())
def test_connection_id_leads_columns_and_key(declared: allow_list.Entity) -> None:
    assert declared.column_names[0] == "connection_id"
    assert declared.primary_key[0] == "connection_id"
    assert set(declared.primary_key) <= set(declared.column_names)


@pytest.mark.parametrize("declared", ENTITIES.values(), ids=ENTITIES.keys())
def test_no_column_keeps_content(declared: allow_list.Entity) -> None:
    for column in declared.columns:
        last_field = column.source.rsplit(".", 1)[-1]
        if last_field in FORBIDDEN_FIELDS and not column.scrub:
            assert column.transform in LENGTH_OR_COUNT, (
                f"{declared.name}.{column.name} reads {column.source!r} without reducing it to "
                "a length or count"
            )


def test_kept_titles_are_scrubbed() -> None:
    assert scrubbed_columns() == {
        "github_pull_requests": ("title", "labels"),
        "github_pull_request_commits": ("author_name", "committer_name"),
        "github_commits": ("author_name", "committer_name"),
        "github_issues": ("title", "labels"),
        "github_releases": ("name",),
        "github_users": ("name",),
        "gitlab_projects": ("name",),
        "gitlab_merge_requests": ("title", "labels"),
        "gitlab_mr_commits": ("author_name", "committer_name"),
        "gitlab_commits": ("author_name", "committer_name"),
        "gitlab_users": ("name",),
        "jira_projects": ("name",),
        "jira_issues": ("summary", "labels"),
        "jira_sprints": ("name",),
        "jira_fix_versions": ("name",),
        "jira_boards": ("name",),
        "jira_users": ("display_name",),
        "slack_messages": ("text",),
        "slack_users": ("real_name", "display_name"),
        "git_commits": ("author_name", "committer_name"),
        "pagerduty_services": ("name",),
        "pagerduty_users": ("name",),
        "opsgenie_teams": ("name",),
        "opsgenie_services": ("name",),
        "opsgenie_users": ("full_name",),
        "bitbucket_repositories": ("name",),
        "bitbucket_pull_requests": ("title",),
        "bitbucket_pr_commits": ("author_name",),
        "bitbucket_commits": ("author_name",),
        "bitbucket_environments": ("name",),
        "bitbucket_users": ("display_name",),
        "azuredevops_repositories": ("name", "project_name"),
        "azuredevops_pull_requests": ("title", "labels"),
        "azuredevops_pr_commits": ("author_name", "committer_name"),
        "azuredevops_users": ("display_name",),
        "azuredevops_work_items": ("project_name", "title", "iteration_path"),
        "azuredevops_work_item_revisions": ("iteration_path",),
        "azuredevops_iterations": ("name", "path"),
    }


def test_ddl_creates_every_table_with_its_natural_key_not_null_and_no_index() -> None:
    """The key is enforced by upsert, not by a PRIMARY KEY: its ART index would hold memory
    that grows with the organization (see TableSpec)."""
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA metadata")
    for declared in ENTITIES.values():
        spec = table_spec(declared)
        connection.execute(spec.create_sql())
        connection.execute(spec.create_sql())  # idempotent
        columns = connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'metadata' AND table_name = ? ORDER BY ordinal_position",
            [declared.table],
        ).fetchall()
        assert tuple(name for (name,) in columns) == declared.column_names
        constraints = connection.execute(
            "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
            "WHERE table_name = ?", [declared.table]).fetchall()
        assert sorted(names[0] for kind, names in constraints if kind == "NOT NULL") == \
            sorted(spec.key)
        assert not [kind for kind, _ in constraints if kind in ("PRIMARY KEY", "UNIQUE")]
        assert not connection.execute("SELECT * FROM duckdb_indexes()").fetchall()


def test_upsert_is_idempotent_by_natural_key() -> None:
    spec = table_spec(entity("github_tags"))
    store = MetadataStore(duckdb.connect())
    store.ensure_tables([spec], schema="main")

    def tag(connection_id: str, sha: str) -> dict:
        return {"connection_id": connection_id, "repository_id": 42, "name": "v1.0.0",
                "commit_sha": sha}

    store.upsert(spec, [tag("conn-a", "a" * 40)], schema="main")
    store.upsert(spec, [tag("conn-a", "b" * 40), tag("conn-b", "a" * 40)], schema="main")
    connection = store.connection
    assert connection.execute(
        "SELECT connection_id, commit_sha FROM main.github_tags ORDER BY 1"
    ).fetchall() == [("conn-a", "b" * 40), ("conn-b", "a" * 40)]


def test_timestamps_become_naive_utc() -> None:
    assert allow_list.utc_timestamp("2024-01-05T10:30:00Z") == datetime(2024, 1, 5, 10, 30)
    assert allow_list.utc_timestamp("2019-02-11T09:47:56.000+0000") == datetime(2019, 2, 11, 9, 47, 56)
    assert allow_list.utc_timestamp("2024-01-05T12:30:00+02:00") == datetime(2024, 1, 5, 10, 30)
    assert allow_list.utc_offset_minutes("2024-01-05T12:30:00-05:30") == -330
    assert allow_list.epoch_timestamp("1512085950.000216") == datetime(2017, 11, 30, 23, 52, 30, 216)


def test_sprint_ids_from_cloud_objects_and_server_strings() -> None:
    assert sprint_ids([{"id": 7, "name": "Sprint 7"}, {"id": "8"}]) == [7, 8]
    server = ["com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=12,rapidViewId=3,name=S]"]
    assert sprint_ids(server) == [12]


def test_jira_custom_fields_are_configurable() -> None:
    fields = [
        {"id": "summary", "name": "Summary", "schema": {"type": "string"}},
        {"id": "customfield_10026", "name": "Story Points", "schema": {"type": "number"}},
        {"id": "customfield_10104", "name": "Sprint",
         "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"}},
        {"id": "customfield_10008", "name": "Epic Link",
         "schema": {"custom": "com.pyxis.greenhopper.jira:gh-epic-link"}},
    ]
    field_ids = jira_field_ids(fields)
    assert field_ids == {"story_points_field": "customfield_10026",
                         "sprint_field": "customfield_10104",
                         "epic_link_field": "customfield_10008"}
    sources = {c.name: c.source for c in jira_issues_entity(**field_ids).columns}
    assert sources["story_points"] == "fields.customfield_10026"
    assert sources["sprint_ids"] == "fields.customfield_10104"
    assert sources["epic_link_key"] == "fields.customfield_10008"
    assert jira_issues_entity(**field_ids).column_names == entity("jira_issues").column_names


def test_declaring_an_unknown_key_column_fails() -> None:
    with pytest.raises(ValueError, match="natural key names unknown"):
        allow_list.Entity("t", "github", "GET /x", (allow_list.col("id", "BIGINT"),), ("number",))


def test_allow_list_doc_is_current() -> None:
    expected = allow_list_markdown()
    actual = ALLOW_LIST_DOC.read_text(encoding="utf-8") if ALLOW_LIST_DOC.exists() else ""
    assert actual == expected, (
        "docs/allow-list.md is stale: run `.venv/bin/python -m resources.sources.docs > "
        "docs/allow-list.md` and commit it"
    )


def test_allow_list_doc_lists_every_column() -> None:
    text = allow_list_markdown()
    for declared in ENTITIES.values():
        assert f"## `{declared.table}`" in text
        for column in declared.columns:
            assert f"| `{column.name}` | {column.type} |" in text
