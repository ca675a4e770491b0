"""What decides whether the marts are rebuilt: the fingerprint of their inputs, and the records
of which build of the marts each product was made from."""

from __future__ import annotations

import duckdb
import pytest

from resources.marts import build_state
from resources.marts.build_state import (
    MARTS,
    forget_build,
    make_unless_marts_unchanged,
    marts_inputs,
    metadata_fingerprint,
    record_marts_build,
    unchanged_marts,
)

VARS = {"stale_pr_days": 14, "as_of": "2026-03-13 09:00:00"}


@pytest.fixture
def connection():
    connection = duckdb.connect()
    connection.execute("attach ':memory:' as org")
    connection.execute("create schema org.metadata")
    connection.execute("create table org.metadata.github_pull_requests (id int, state varchar)")
    connection.execute("insert into org.metadata.github_pull_requests values (1, 'open'), "
                       "(2, 'closed')")
    yield connection
    connection.close()


def test_the_same_rows_in_another_order_give_the_same_fingerprint(connection):
    before = metadata_fingerprint(connection)
    connection.execute("delete from org.metadata.github_pull_requests")
    connection.execute("insert into org.metadata.github_pull_requests values (2, 'closed'), "
                       "(1, 'open')")
    assert metadata_fingerprint(connection) == before


@pytest.mark.parametrize("change", [
    "update org.metadata.github_pull_requests set state = 'merged' where id = 1",
    "insert into org.metadata.github_pull_requests values (3, 'open')",
    "delete from org.metadata.github_pull_requests where id = 2",
    "create table org.metadata.jira_issues (id int)",
])
def test_any_change_to_a_metadata_table_changes_the_fingerprint(connection, change):
    before = metadata_fingerprint(connection)
    connection.execute(change)
    assert metadata_fingerprint(connection) != before


def test_a_build_as_of_now_stands_for_its_day_an_asked_instant_for_itself(connection):
    same_day = {**VARS, "as_of": "2026-03-13 23:59:59"}
    next_day = {**VARS, "as_of": "2026-03-14 00:00:00"}
    assert marts_inputs(connection, VARS, False) == marts_inputs(connection, same_day, False)
    assert marts_inputs(connection, VARS, False) != marts_inputs(connection, next_day, False)
    assert marts_inputs(connection, VARS, True) != marts_inputs(connection, same_day, True)


def test_a_changed_setting_or_model_changes_the_inputs(connection, tmp_path, monkeypatch):
    before = marts_inputs(connection, VARS, False)
    assert marts_inputs(connection, {**VARS, "stale_pr_days": 7}, False) != before
    project = tmp_path / "dbt_project" / "models"
    project.mkdir(parents=True)
    (project / "a.sql").write_text("select 1")
    monkeypatch.setattr(build_state, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(build_state, "CODE_FILES", ("dbt_project/models",))
    one = marts_inputs(connection, VARS, False)
    (project / "a.sql").write_text("select 2")
    assert marts_inputs(connection, VARS, False) != one


def test_marts_are_unchanged_only_for_the_recorded_fingerprint(tmp_path):
    assert unchanged_marts(tmp_path, "f1", "run-1") is None
    built = record_marts_build(tmp_path, "f1", "2026-03-13 09:00:00", "run-1")
    assert unchanged_marts(tmp_path, "f2", "run-2") is None
    verified = unchanged_marts(tmp_path, "f1", "run-2")
    assert verified["built_at"] == built["built_at"] and verified["checked_in_run"] == "run-2"
    forget_build(tmp_path, MARTS)
    assert unchanged_marts(tmp_path, "f1", "run-3") is None


def test_a_product_is_made_again_unless_made_from_the_marts_this_run_verified(tmp_path):
    made = []

    def make():
        made.append(1)
        return {"rows": 3}

    record_marts_build(tmp_path, "f1", "2026-03-13 09:00:00", "run-1")
    assert make_unless_marts_unchanged(tmp_path, "report", "run-1", make) == {"rows": 3}
    # Same build, verified by this run: skipped, and it says since when.
    unchanged_marts(tmp_path, "f1", "run-2")
    skipped = make_unless_marts_unchanged(tmp_path, "report", "run-2", make)
    assert skipped["rebuilt"] is False and len(made) == 1
    # The output went missing: made again.
    make_unless_marts_unchanged(tmp_path, "report", "run-2", make, output_exists=False)
    assert len(made) == 2
    # A run that did not verify the marts (the marts not in it): made again.
    make_unless_marts_unchanged(tmp_path, "report", "run-3", make)
    assert len(made) == 3
    # The marts rebuilt (same inputs, a new build): made again.
    record_marts_build(tmp_path, "f1", "2026-03-13 10:00:00", "run-4")
    make_unless_marts_unchanged(tmp_path, "report", "run-4", make)
    assert len(made) == 4
