"""Query sessions give people the database, never the file system, and only read it
(issue 21 item 6, issue 20 item 5): each escape attempt and each write is refused, for analysts
and for operators alike, through `sieve query`, the shell and `--format parquet`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.cli.analyst import run_shell
from resources.analyst.exports import export_query
from resources.analyst.sessions import ReadOnlyError, analyst_session, run_query
from resources.storage.metadata_store import StoreError
from tests.analyst.marts import CANARY_EMAIL, build_marts


@pytest.fixture
def acme(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    return org


def escape_attempts(spill_directory, outside) -> dict[str, str]:
    """What a session must not do to the file system, by name."""
    return {
        "read a local file": "select * from read_text('/etc/hostname')",
        "write rows outside the stores": f"copy (select 1 as x) to '{outside / 'rows.csv'}'",
        "write rows into the spill directory":
            f"copy (select 1 as x) to '{spill_directory / 'rows.csv'}'",
        "install an extension": "install sqlite",
        "attach another database": f"attach '{outside / 'other.duckdb'}' as other",
        "switch external access back on": "set enable_external_access = true",
        "move the spill directory": f"set temp_directory = '{outside}'",
    }


@pytest.mark.parametrize("operator", [False, True], ids=["analyst", "operator"])
def test_sessions_refuse_every_file_system_escape(acme, tmp_path, operator):
    spill_directory = acme.database_path.parent / "duckdb-tmp"
    spill_directory.mkdir(exist_ok=True)  # as a killed session leaves it
    outside = tmp_path / "outside"
    outside.mkdir()
    connection = analyst_session(acme.sieve, acme.org, operator=operator)
    try:
        succeeded = []
        for attempt, sql in escape_attempts(spill_directory, outside).items():
            try:
                connection.execute(sql).fetchall()
                succeeded.append(attempt)
            except Exception:  # noqa: BLE001 — any refusal will do; the files are checked below
                pass
        assert succeeded == []
        assert connection.execute("select count(*) from dora_weekly").fetchone() == (12,)
    finally:
        connection.close()
    assert list(outside.iterdir()) == [] and list(spill_directory.iterdir()) == []


def test_the_operator_still_reads_the_metadata_schema(acme):
    result = run_query(acme.sieve, acme.org, "select email from metadata.people", operator=True)
    assert (CANARY_EMAIL,) in result.rows


WRITES = ["drop table dora_weekly", "delete from pull_requests",
          "select 1; drop table dora_weekly", "explain analyze delete from pull_requests",
          "create table mine as select 1", "copy dora_weekly to 'x.csv'", "set threads = 1",
          "checkpoint", "pivot dora_weekly on grouping_level using count(*)"]


def test_queries_refuse_statements_that_are_not_reads(acme):
    for sql in WRITES:
        with pytest.raises(ReadOnlyError, match="sessions are read-only"):
            run_query(acme.sieve, acme.org, sql, operator=True)
        with pytest.raises(ReadOnlyError):
            export_query(acme.sieve, acme.org, sql, acme.database_path.parent / "x.parquet")


def test_reads_of_every_kind_still_run(acme):
    for sql in ["select count(*) from dora_weekly", "from dora_weekly limit 1", "describe "
                "dora_weekly", "show tables", "summarize dora_weekly", "with w as (select 1 "
                "as one) select one from w", "select 1; select 2"]:
        assert run_query(acme.sieve, acme.org, sql).rows, sql


def test_sieve_query_says_a_write_is_refused_instead_of_success(acme):
    result = CliRunner().invoke(main, ["query", "acme", "drop table dora_weekly"])
    assert result.exit_code == 2 and "Success" not in result.output
    assert "a drop statement changes data or settings" in result.output
    assert run_query(acme.sieve, acme.org, "select count(*) from dora_weekly").rows == [(12,)]


def test_the_shell_refuses_writes_and_keeps_going(acme, capsys):
    lines = iter(["delete from pull_requests;", "select count(*) as weeks from dora_weekly;"])

    def read(_prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    connection = analyst_session(acme.sieve, acme.org, operator=False)
    try:
        assert run_shell(connection, read, max_rows=5) == 1
    finally:
        connection.close()
    out, err = capsys.readouterr()
    assert "a delete statement changes data" in err and "weeks" in out


def test_a_syntax_error_is_reported_as_such(acme):
    with pytest.raises(StoreError, match="query failed: Parser Error"):
        run_query(acme.sieve, acme.org, "selec 1")


def test_only_a_query_of_the_metadata_schema_suggests_operator_access(acme):
    with pytest.raises(StoreError) as wrong_column:
        run_query(acme.sieve, acme.org, "select no_such_column from dora_weekly")
    assert "Binder Error" in str(wrong_column.value) and "--operator" not in str(wrong_column.value)
    with pytest.raises(StoreError, match="--operator opens metadata"):
        run_query(acme.sieve, acme.org, "select email from metadata.people")
