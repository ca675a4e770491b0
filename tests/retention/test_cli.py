"""End to end from the command line: requests return at once, `sieve retention run` carries
them out through the Dagster jobs, `sieve deletions` and `sieve audit report` show them."""

from __future__ import annotations

from click.testing import CliRunner
from dagster import DagsterInstance, RunsFilter

from pipelines.cli import main
from resources.retention.requests import list_requests

SUBJECT_EMAIL = "mateo-castellan@sieve-demo.example"


def sieve(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_forget_disconnect_and_report_from_the_cli(synced_org, sieve_home, monkeypatch):
    org = synced_org
    # dbt is exercised by the person-deletion tests; here, only that the jobs ask for it.
    rebuilt = []
    monkeypatch.setattr("pipelines.retention.build_org_marts",
                        lambda sieve, org_id: rebuilt.append(org_id))
    slack = next(c for c in org.sieve.control_plane.connections(org.org) if c.source == "slack")

    requested = sieve("forget", "acme", "--email", SUBJECT_EMAIL)
    assert requested.exit_code == 0, requested.output
    assert SUBJECT_EMAIL not in requested.output
    assert sieve("disconnect", "acme", slack.id).exit_code == 0
    pending = sieve("deletions", "acme")
    assert pending.output.count("pending") == 2

    ran = sieve("retention", "run", "acme")
    assert ran.exit_code == 0, ran.output
    assert "forget_person" in ran.output and "delete_connection_data" in ran.output

    done = list_requests(org.sieve.control_plane, org_id=org.org.id,
                         scopes=("person", "connection"))
    assert rebuilt.count(org.org.id) >= 2
    assert {r.status for r in done} == {"done"}
    assert all(r.certificate["verified"] for r in done)
    assert org.count("slack_messages") == 0
    assert not org.query("SELECT * FROM metadata.identity_accounts WHERE email = ?",
                         [SUBJECT_EMAIL])
    # The Dagster runs carry the request id only.
    with DagsterInstance.from_config(str(sieve_home / "dagster")) as instance:
        runs = instance.get_run_records(RunsFilter(tags={"sieve/deletion_scope": "person"}))
        assert [r.dagster_run.run_config["ops"]["execute_deletion"]["config"] for r in runs] == [
            {"request_id": next(r.id for r in done if r.scope == "person")}]

    listing = sieve("deletions")
    assert listing.output.count("done") == 3 and "yes" in listing.output  # with out_of_date
    report = sieve("audit", "report", "--since", "1d")
    assert report.exit_code == 0, report.output
    assert "deletions done in the period: 3" in report.output
    assert SUBJECT_EMAIL not in report.output
    assert sieve("audit", "verify").exit_code == 0

    again = sieve("retention", "run", "acme")
    assert "forget_person" not in again.output and "skipped" in again.output


def test_terminate_refuses_a_grace_period_over_30_days(synced_org):
    refused = sieve("org", "terminate", "acme", "--grace-days", "31")
    assert refused.exit_code == 2 and "31" in refused.output
    accepted = sieve("org", "terminate", "acme", "--grace-days", "30")
    assert accepted.exit_code == 0 and "terminated" in accepted.output




def test_org_delete_from_the_cli(synced_org):
    org_id = synced_org.org.id
    assert sieve("org", "delete", "acme").exit_code == 1  # asks, and stdin says nothing
    requested = sieve("org", "delete", "acme", "--yes")
    assert requested.exit_code == 0, requested.output

    ran = sieve("retention", "run")
    assert ran.exit_code == 0, ran.output
    assert "purge_organization" in ran.output

    assert not synced_org.database_path.parent.exists()
    assert synced_org.org.status == "deleted"
    listing = sieve("org", "list").output
    assert "deleted" in listing and org_id in listing
    assert "error:" in sieve("forget", "acme", "--login", "someone").output


def test_an_erasure_that_matched_nobody_says_so_and_how_to_find_the_person(synced_org,
                                                                            monkeypatch):
    monkeypatch.setattr("pipelines.retention.build_org_marts", lambda sieve, org_id: None)
    assert sieve("forget", "acme", "--login", "no-such-person").exit_code == 0

    ran = sieve("retention", "run", "acme")

    assert ran.exit_code == 0, ran.output
    assert "forget_person" in ran.output and "nothing matched" in ran.output
    assert "metadata.identity_accounts" in ran.output and "--operator" in ran.output
    listing = sieve("deletions", "acme").output
    assert "nothing_matched" in listing and "sieve forget acme --person" in listing
    [request] = list_requests(synced_org.sieve.control_plane, scopes=("person",))
    assert request.status == "nothing_matched" and not request.has_sealed_subject


def test_forgetting_a_team_member_removes_them_from_the_settings_file(synced_org, monkeypatch):
    monkeypatch.setattr("pipelines.retention.build_org_marts", lambda sieve, org_id: None)
    config = synced_org.sieve.settings.home / "config" / "acme.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("teams:\n  Payments: [github:mateo-castellan, github:avery-quillon]\n"
                      "identity_merges:\n  - [github:mateo-castellan, email:m@example.test]\n")

    assert sieve("forget", "acme", "--login", "mateo-castellan").exit_code == 0
    ran = sieve("retention", "run", "acme")

    assert ran.exit_code == 0, ran.output
    settings = config.read_text()
    assert "mateo-castellan" not in settings and "github:avery-quillon" in settings
    assert "identity_merges: []" in settings  # a merge of one reference merges nothing
    listing = sieve("deletions", "acme").output
    assert "removed from settings: teams.Payments, identity_merges" in listing
    assert "nothing_matched" not in listing
