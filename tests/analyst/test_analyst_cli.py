"""The analyst commands end to end through the CLI: report, export, export-key, shell and
query --format parquet — each audited, none leaking the metadata schema to analysts."""

from __future__ import annotations

import json

import pyarrow.parquet as parquet
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.cli.analyst import run_shell
from resources.analyst.exports import current_export, decryption_properties, org_export_key
from resources.analyst.sessions import analyst_session
from resources.security.vault import Secret
from tests.analyst.marts import CANARY_EMAIL, CANARY_NAME, build_marts


@pytest.fixture
def acme(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    return org


def sieve(*args: str, input: str | None = None, ok: bool = True):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def audited(org) -> list[tuple[str, dict]]:
    return [(e.action, e.details) for e in org.sieve.audit.entries(org_id=org.org.id)]


def test_sieve_report_writes_the_page_where_asked_and_audits_it(acme, tmp_path):
    out = tmp_path / "out" / "report.html"
    result = sieve("report", "acme", "--out", str(out))
    assert f"wrote {out} (13 charts over 12 weeks" in result.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert ("report.generated", {"interface": "sieve report", "charts": 13}) in audited(acme)


def test_sieve_export_publishes_and_export_key_reads_it(acme, tmp_path):
    result = sieve("export", "acme")
    assert "dora_weekly" in result.output and "published" in result.output
    refused = sieve("export-key", "acme", ok=False)
    assert refused.exit_code == 2 and "needs --operator" in refused.output
    key = sieve("export-key", "acme", "--operator").output.strip()
    assert key == org_export_key(acme.sieve, acme.org).reveal()
    key_file = tmp_path / "acme.key"
    sieve("export-key", "acme", "--operator", "--out", str(key_file))
    assert key_file.read_text().strip() == key and key_file.stat().st_mode & 0o777 == 0o600
    table = parquet.read_table(
        current_export(acme.sieve.settings.orgs_dir, acme.org.id) / "dora_weekly.parquet",
        decryption_properties=decryption_properties(Secret(key)))
    assert table.num_rows == 12
    actions = audited(acme)
    assert [a for a, _ in actions].count("export.key_revealed") == 2
    assert ("data.exported", {"interface": "sieve export", "marts": 9, "rows": 145}) in actions
    assert key not in json.dumps([details for _, details in actions])


def test_query_writes_encrypted_parquet_for_analysts(acme, tmp_path):
    out = tmp_path / "prs.parquet"
    result = sieve("query", "acme", "select week_start, prs_merged from pr_flow_weekly",
                   "--format", "parquet", "--out", str(out))
    assert "wrote 12 rows" in result.output
    key = org_export_key(acme.sieve, acme.org)
    table = parquet.read_table(out, decryption_properties=decryption_properties(key))
    assert table.column_names == ["week_start", "prs_merged"] and table.num_rows == 12
    with pytest.raises(OSError):
        parquet.read_table(out)
    missing_out = sieve("query", "acme", "select 1", "--format", "parquet", ok=False)
    assert missing_out.exit_code == 2 and "--out FILE" in missing_out.output
    analyst = sieve("query", "acme", "select * from metadata.people", "--format", "parquet",
                    "--out", str(tmp_path / "people.parquet"), ok=False)
    assert analyst.exit_code == 2 and not (tmp_path / "people.parquet").exists()
    operator = sieve("query", "acme", "select * from metadata.people", "--operator", "--format",
                     "parquet", "--out", str(tmp_path / "people.parquet"), ok=False)
    assert operator.exit_code == 2 and "not with --operator" in operator.output
    assert not (tmp_path / "people.parquet").exists()
    assert ("data.queried", {"interface": "sieve query", "operator": False}) in audited(acme)


def test_the_shell_shows_analysts_the_marts_only(acme):
    script = ("select count(*) as weeks\n  from dora_weekly;\n.tables\n"
              "select * from metadata.people;\n.schema sprint_outcomes\n.quit\n")
    result = sieve("shell", "acme", input=script)
    assert "weeks" in result.output and "12" in result.output
    assert "review_load" in result.output and "sprint_id" in result.output
    assert "people" not in result.output.replace("metadata.people", "")
    assert CANARY_NAME not in result.output and "error:" in result.output
    assert ("data.queried", {"interface": "sieve shell", "operator": False}) in audited(acme)


def test_the_operator_shell_reads_metadata_and_is_audited_as_such(acme):
    result = sieve("shell", "acme", "--operator",
                   input="select email from metadata.people;\n")
    assert CANARY_EMAIL in result.output
    entries = [(a, d) for a, d in audited(acme) if a == "data.queried"]
    assert entries == [("data.queried", {"interface": "sieve shell", "operator": True})]


def test_run_shell_reads_statements_across_lines_and_keeps_going_after_errors(acme, capsys):
    lines = iter(["select 1 as one", ";", "select nope;", ".bogus", "", "select 2 as two;"])

    def read(_prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    connection = analyst_session(acme.sieve, acme.org, operator=False)
    try:
        assert run_shell(connection, read, max_rows=5) == 2
    finally:
        connection.close()
    out, err = capsys.readouterr()
    assert "one" in out and "two" in out
    assert "error: Binder Error" in err and "unknown command .bogus" in err


@pytest.mark.parametrize("command", [["report"], ["shell"], ["export"], ["export-key"]])
def test_every_analyst_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output
