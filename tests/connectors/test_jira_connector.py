"""The Jira connector through the real sync path, against the Jira Cloud emulator (tiny org)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emulators.framework import Response, Route, compile_route
from resources.http import AuthenticationError
from resources.sources.connector import RawBatch
from resources.sources.jira import connector as jira_module
from resources.sources.jira.connector import JiraConnector, JiraSettingsError
from resources.sources.jira.schema import JIRA_ISSUES
from resources.storage.metadata_store import open_store
from resources.sync.engine import table_spec
from tests.harness import (
    FAULT_MODES,
    assert_reconnect_message,
    clean_sync_content,
    kill_fetch_after,
    sync_under_fault,
)

SEARCH = "GET /rest/api/3/search/jql"
CHANGELOG = "GET /rest/api/3/issue/{key}/changelog"
VERSIONS = "GET /rest/api/3/project/{key}/version"
# Every table the connector fills.
TABLES = list(JiraConnector.entities)


# -- what the emulator's org model says should land ---------------------------------------------


def model_issues(org):
    for project in org.jira_projects:
        for number in range(1, org.jira_issue_count(project) + 1):
            issue = org.jira_issue(project, number)
            if issue is not None:
                yield issue


def is_status_change(history) -> bool:
    return any(item.field_id == "status" for item in history.items)


def expected_counts(org) -> dict[str, int]:
    issues = list(model_issues(org))
    people = {p.lead.jira_account_id for p in org.jira_projects}
    for issue in issues:
        people.add(issue.reporter.jira_account_id)
        people.update(history.author.jira_account_id for history in issue.histories)
        if issue.assignee is not None:
            people.add(issue.assignee.jira_account_id)
    return {
        "jira_projects": len(org.jira_projects),
        "jira_issues": len(issues),
        "jira_issue_status_changes": sum(is_status_change(h) for i in issues for h in i.histories),
        "jira_boards": len(org.jira_projects),
        "jira_sprints": sum(len(org.sprints(p.board_id)) for p in org.jira_projects),
        "jira_users": len(people),
        "jira_fix_versions": sum(len(org.jira_fix_versions(p)) for p in org.jira_projects),
    }


def counts(org) -> dict[str, int]:
    return {table: org.count(table) for table in TABLES}


def search_queries(emulator) -> list[dict]:
    return [r.query for r in emulator.requests if r.endpoint == SEARCH]


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few items, so the tiny org spans several pages of every listing."""
    monkeypatch.setattr(jira_module, "SEARCH_PAGE_SIZE", 7)
    monkeypatch.setattr(jira_module, "AGILE_PAGE_SIZE", 4)
    monkeypatch.setattr(jira_module, "PROJECT_PAGE_SIZE", 1)
    monkeypatch.setattr(jira_module, "VERSION_PAGE_SIZE", 2)


# -- tests ----------------------------------------------------------------------------------------


def test_first_sync_lands_every_entity_with_the_model_counts(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    [summary] = org.sync("jira")

    assert counts(org) == expected_counts(emulator.org)
    issue = next(i for i in model_issues(emulator.org) if i.story_points and i.parent_number)
    [(status, points, category, parent_key)] = org.query(
        "SELECT status, story_points, status_category, parent_key FROM metadata.jira_issues "
        "WHERE key = ?", [issue.key])
    assert (status, points) == (issue.status, issue.story_points)
    assert category in ("new", "indeterminate", "done")
    assert parent_key == f"{issue.project.key}-{issue.parent_number}"
    # Only the allow-listed issue fields are asked for: never descriptions or comments.
    for query in search_queries(emulator):
        fields = query["fields"].split(",")
        assert "description" not in fields and "comment" not in fields and "*all" not in fields
        assert query["expand"] == "changelog" and query["maxResults"] == "100"
    # The tiny org's changelogs fit in the search answer: no per-issue request.
    assert emulator.count_requests("jira", CHANGELOG) == 0
    assert summary.http["requests"] == len(emulator.requests)


def test_unchanged_second_sync_is_cursor_limited_and_changes_nothing(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")
    before = org.snapshot(TABLES)
    emulator.clear_requests()

    org.sync("jira")

    assert org.snapshot(TABLES) == before
    queries = search_queries(emulator)
    assert len(queries) == len(emulator.org.jira_projects)
    assert all('updated >= "' in query["jql"] for query in queries)
    listings = {"GET /rest/api/3/project/search", "GET /rest/agile/1.0/board",
                "GET /rest/agile/1.0/board/{board}/sprint"}
    # Besides the cursor-limited searches: the field list, the reader's time zone and the
    # small project, board and sprint listings, once each, and each project's versions (a
    # release moves no issue's cursor, so they are listed again).
    others = emulator.requests_per_endpoint("jira")
    del others[SEARCH]
    assert others.pop(VERSIONS) == len(emulator.org.jira_projects)
    assert set(others) <= listings | {"GET /rest/api/3/myself", "GET /rest/api/3/field"}
    assert max(others.values()) == 1


def test_next_sync_picks_up_touched_and_added_issues(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")
    project = emulator.org.jira_projects[0]
    touched_key = f"{project.key}-3"
    emulator.org.touch_jira_issue(touched_key)
    added_key = emulator.org.add_jira_issue(project.key)

    org.sync("jira")

    assert counts(org) == expected_counts(emulator.org)
    touched = emulator.org.jira_issue_by_key(touched_key)
    [(updated_at,)] = org.query("SELECT updated_at FROM metadata.jira_issues WHERE key = ?",
                                [touched_key])
    assert updated_at == touched.updated.replace(tzinfo=None)
    added = org.query("SELECT count(*) FROM metadata.jira_issues WHERE key = ?", [added_key])
    assert added == [(1,)]


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_sync_under_fault_equals_a_clean_sync(sieve_org, emulator, monkeypatch, small_pages, mode):
    expected = clean_sync_content(sieve_org, emulator, "jira", TABLES)
    org = sieve_org("faulty")
    org.connect_emulator(emulator, "jira")
    sync_under_fault(org, emulator, "jira", mode, r"/search/jql|/board", monkeypatch)
    assert org.content(TABLES) == expected


def test_killed_sync_rerun_converges(sieve_org, emulator, monkeypatch, small_pages):
    expected = clean_sync_content(sieve_org, emulator, "jira", TABLES)
    org = sieve_org("killed")
    org.connect_emulator(emulator, "jira")
    revive = kill_fetch_after(monkeypatch, JiraConnector, 30)
    with pytest.raises(KeyboardInterrupt):
        org.sync("jira")
    assert 0 < org.count("jira_issues") < expected_counts(emulator.org)["jira_issues"]
    revive()
    emulator.clear_requests()

    org.sync("jira")

    assert org.content(TABLES) == expected
    # The rerun resumed the first project after its last durable page, not from its start.
    assert 'updated >= "' in search_queries(emulator)[0]["jql"]


def test_truncated_embedded_changelog_is_read_from_the_changelog_endpoint(
        sieve_org, emulator, monkeypatch):
    app = emulator.apps["jira"]
    render = app.issue_json

    def with_one_embedded_history(issue, base, fields, expand):
        body = render(issue, base, fields, expand)
        if "changelog" in body and body["changelog"]["total"] > 1:
            body["changelog"]["histories"] = body["changelog"]["histories"][:1]
            body["changelog"]["maxResults"] = 1
        return body

    monkeypatch.setattr(app, "issue_json", with_one_embedded_history)
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")

    truncated = sum(len(i.histories) > 1 for i in model_issues(emulator.org))
    assert emulator.count_requests("jira", CHANGELOG) == truncated > 0
    expected = expected_counts(emulator.org)["jira_issue_status_changes"]
    assert org.count("jira_issue_status_changes") == expected


def test_story_points_field_is_discovered_from_the_site_field_list(
        sieve_org, emulator, monkeypatch):
    site_fields = [
        {"id": "summary", "name": "Summary", "schema": {"type": "string"}},
        {"id": "customfield_10028", "name": "Story Points",
         "schema": {"type": "number",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}},
        {"id": "customfield_10011", "name": "Sprint",
         "schema": {"type": "array", "custom": "com.pyxis.greenhopper.jira:gh-sprint"}},
    ]
    app = emulator.apps["jira"]
    # A site whose story points and sprint fields are not the usual ids.
    route = Route("GET", compile_route("/rest/api/3/field"), "GET /rest/api/3/field",
                  lambda request: Response(body=site_fields))
    monkeypatch.setattr(app, "routes", [route, *app.routes])
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")

    fields = search_queries(emulator)[0]["fields"].split(",")
    assert "customfield_10028" in fields and "customfield_10011" in fields
    assert "customfield_10016" not in fields
    context = org.connector_context("jira")
    declared = JiraConnector(context).declared_entity("jira_issues")
    sources = {column.name: column.source for column in declared.columns}
    assert sources["story_points"] == "fields.customfield_10028"
    assert sources["sprint_ids"] == "fields.customfield_10011"


@pytest.mark.parametrize("zone", ["Australia/Sydney", "America/Los_Angeles", "Not/A_Zone"])
def test_cursor_is_rendered_in_the_reader_time_zone_with_an_overlap(
        sieve_org, emulator, monkeypatch, zone):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")
    app = emulator.apps["jira"]
    [route] = [r for r in app.routes if r.endpoint == "GET /rest/api/3/myself"]
    answer = route.handler

    def reader_in_zone(request):
        response = answer(request)
        return dataclasses.replace(response, body={**response.body, "timeZone": zone})

    monkeypatch.setattr(route, "handler", reader_in_zone)
    emulator.clear_requests()
    org.sync("jira")

    project = emulator.org.jira_projects[0]
    cursor = org.connector_context("jira").state.cursor(f"issues:{project.project_id}")
    since = datetime.fromisoformat(cursor).replace(tzinfo=UTC) - timedelta(hours=1)
    if zone == "Not/A_Zone":  # unknown: UTC, widened by the largest UTC offset
        rendered = since - timedelta(hours=14)
    else:
        rendered = since.astimezone(ZoneInfo(zone))
    [query] = [q for q in search_queries(emulator) if f'"{project.key}"' in q["jql"]]
    assert f'updated >= "{rendered:%Y-%m-%d %H:%M}"' in query["jql"]


def test_configured_projects_limit_issues_and_boards(sieve_org, emulator):
    project = emulator.org.jira_projects[0]
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira", projects=[project.key])
    org.sync("jira")

    assert org.query("SELECT DISTINCT project_key FROM metadata.jira_issues") == [(project.key,)]
    assert org.query("SELECT key FROM metadata.jira_projects") == [(project.key,)]
    assert org.count("jira_issues") == emulator.org.jira_issue_count(project)
    assert org.query("SELECT project_key FROM metadata.jira_boards") == [(project.key,)]
    assert all(f'project = "{project.key}"' in q["jql"] for q in search_queries(emulator))


def test_unknown_configured_project_is_named_before_any_issue_is_read(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira", projects=["NOPE"])
    error = org.sync_error("jira", JiraSettingsError)
    assert re.search(r"NOPE.*not visible.*sieve connect acme jira", str(error))
    assert search_queries(emulator) == []


def test_no_canary_and_no_forbidden_pii_is_stored(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")
    stored = "\n".join(org.stored_strings())
    assert [c for c in emulator.canaries() if c in stored] == []
    assert "CANARY-" not in stored
    assert [p for p in emulator.forbidden_pii() if p in stored] == []


def test_bad_token_names_org_and_connection_and_says_reconnect(sieve_org, emulator):
    org = sieve_org("acme")
    connection = org.connect("jira", {"base_url": emulator.base_url("jira")},
                             {**emulator.credentials("jira"), "token": "not-the-token"})
    error = org.sync_error("jira", AuthenticationError)
    assert_reconnect_message(error, org, connection, "not-the-token")


def test_check_makes_one_request_and_reveals_no_personal_data(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    description = JiraConnector(org.connector_context("jira")).check()
    assert len(emulator.requests) == 1
    assert emulator.credentials("jira")["email"] not in description


def test_cursor_only_moves_on_the_last_batch_of_a_page(sieve_org, emulator, small_pages):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    batches: list[RawBatch] = list(JiraConnector(org.connector_context("jira")).fetch())
    issue_pages = [i for i, b in enumerate(batches) if b.entity == "jira_issues"]
    with_cursor = [i for i, b in enumerate(batches) if b.cursors]
    # One cursor per page of issues, on the batch just before the next page (or the boards).
    assert len(with_cursor) == len(issue_pages)
    for page_index, cursor_index in zip(issue_pages, with_cursor):
        assert cursor_index > page_index
        assert batches[cursor_index].entity == "jira_users"


def test_fix_versions_and_the_issues_planned_into_them(sieve_org, emulator, small_pages):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    org.sync("jira")

    versions = [v for p in emulator.org.jira_projects for v in emulator.org.jira_fix_versions(p)]
    assert {v.released for v in versions} == {True, False}
    stored = org.query("SELECT id, project_key, name, release_date, is_released, is_archived "
                       "FROM metadata.jira_fix_versions ORDER BY id")
    assert stored == sorted((v.version_id, v.project_key, v.name, v.release_date, v.released,
                             False) for v in versions)
    planned = {key: ids for key, ids in org.query(
        "SELECT key, fix_version_ids FROM metadata.jira_issues WHERE len(fix_version_ids) > 0")}
    assert planned == {i.key: [v.version_id for v in i.fix_versions]
                       for i in model_issues(emulator.org) if i.fix_versions}
    # The listing is paged (two versions a page here) and asked for each project.
    assert emulator.count_requests("jira", VERSIONS) > len(
        emulator.org.jira_projects)


def test_a_store_kept_before_due_dates_gains_the_column_and_syncs_them(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "jira")
    current = table_spec(JIRA_ISSUES)
    earlier = dataclasses.replace(current, columns=tuple(
        column for column in current.columns if column[0] != "due_date"))
    key = org.sieve.control_plane.org_data_key(org.org)
    with open_store(org.database_path, key) as store:
        store.ensure_tables([earlier])
        with store.transaction():
            store.upsert(earlier, [{"connection_id": "kept", "id": "1", "key": "OLD-1"}])

    org.sync("jira")

    due = {key: due for key, due in org.query(
        "SELECT key, due_date FROM metadata.jira_issues WHERE due_date IS NOT NULL")}
    expected = {i.key: i.due_date for i in model_issues(emulator.org) if i.due_date}
    assert expected and due == expected
    assert org.query("SELECT key, due_date FROM metadata.jira_issues "
                     "WHERE connection_id = 'kept'") == [("OLD-1", None)]
