"""Forgetting one person: gone from every table and every store's bytes; others unchanged."""

from __future__ import annotations

import pyarrow.parquet as parquet
from dagster import DagsterInstance, build_sensor_context

from pipelines.definitions import defs
from resources.analyst.exports import (
    current_export,
    decryption_properties,
    export_marts,
    org_export_key,
)
from resources.marts.runner import build_org_marts
from resources.retention.execute import execute_request
from resources.retention.requests import get_request, record_request
from resources.retention.verify import files_under, scan_files
from resources.security.vault import Secret
from resources.sieve_resource import SieveResource
from resources.storage.org_config import config_path
from sensors.retention import deletion_request_sensor

SUBJECT_LOGIN = "mateo-castellan"
MARTS_READ_BEFORE_THE_JOB = ("run", "--select", "+pull_requests", "+review_load", "+deployments",
                             "+int_commits")


def identifiers_of(org, login: str) -> dict:
    """The person's linked accounts, as the identity model knows them before the deletion."""
    [person_id] = {r[0] for r in org.query(
        "SELECT person_id FROM metadata.identity_accounts WHERE login = ?", [login])}
    rows = org.query("SELECT system, account_key, login, email FROM metadata.identity_accounts "
                     "WHERE person_id = ?", [person_id])
    return {"person_id": person_id,
            "keys": {(system, key) for system, key, _, _ in rows},
            "strings": {v for _, key, login_, email in rows for v in (key, login_, email) if v}}


def forget(org, kind: str, value: str) -> dict:
    control_plane = org.sieve.control_plane
    request = record_request(control_plane, org.org, "person", subject_kind=kind,
                             subject=Secret(value) if kind != "person" else None,
                             subject_ref=value if kind == "person" else None)
    return execute_request(org.sieve, request.id)


def test_forgetting_by_email_removes_every_row_and_byte(synced_org):
    org = synced_org
    emulator_person = {"email": "mateo-castellan@sieve-demo.example", "github_id": "5817202",
                       "slack_id": "U0VJNCFP2MZ"}
    known = identifiers_of(org, SUBJECT_LOGIN)
    assert {emulator_person["email"], emulator_person["github_id"],
            emulator_person["slack_id"], SUBJECT_LOGIN} <= known["strings"]
    before = org.snapshot()

    certificate = forget(org, "email", emulator_person["email"])

    assert certificate["verified"] and not certificate["noop"]
    assert certificate["verification"]["sql"]["hits"] == 0
    assert certificate["verification"]["bytes"]["hits"] == 0
    assert certificate["rows"]["github_pull_requests"] > 0
    assert certificate["rows"]["opsgenie_users"] == 1
    assert certificate["rows"]["bitbucket_users"] == 1
    assert certificate["rows"]["bitbucket_pr_participants"] > 0
    assert certificate["rows"]["azuredevops_users"] == 1
    assert certificate["rows"]["azuredevops_pull_requests"] > 0
    assert certificate["rows"]["azuredevops_work_items.cleared"] > 0
    assert emulator_person["email"] not in str(certificate)
    after = org.snapshot()
    for table, rows in after.items():
        text = repr(rows).lower()
        for value in known["strings"] | {known["person_id"]}:
            assert f"'{value.lower()}'" not in text, (table, value)
    # Rows that never involved them are untouched.
    untouched = [r for r in before["jira_projects"] if "'" + known["person_id"] not in repr(r)]
    assert set(untouched) <= set(after["jira_projects"])
    assert len(after["people"]) == len(before["people"]) - 1
    request = get_request(org.sieve.control_plane, certificate["request_id"])
    assert request.status == "done" and not request.has_sealed_subject


def forgotten_strings_in(org, known: dict) -> list[str]:
    values = {v.lower() for v in known["strings"] | {known["person_id"]}}
    return sorted({v for v in org.stored_strings() if v.lower() in values})


def test_forget_job_rebuilds_the_marts_and_leaves_others_alone(synced_org, sieve_home):
    org = synced_org
    # The marts this test reads before the job, built without their data tests: the job's own
    # rebuild is the full production build (tests included) whose result is checked below.
    build_org_marts(org.sieve, org.org.id, args=MARTS_READ_BEFORE_THE_JOB)
    first_export = export_marts(org.sieve, org.org).directory
    known = identifiers_of(org, SUBJECT_LOGIN)
    untouched_tables = ["github_repositories", "github_tags", "jira_projects", "jira_sprints"]
    before = org.snapshot(untouched_tables)
    # Deployments stay. Their rows stay whole where the subject shipped nothing; Bitbucket and
    # Azure DevOps deployments ship the subject's pull requests, whose change counts go with them.
    deployments_before = org.query("SELECT * FROM marts.deployments ORDER BY ALL")
    for schema_table in ("marts.pull_requests", "intermediate.int_commits"):
        assert org.query(f"SELECT count(*) FROM {schema_table} WHERE author_person_id = ?",
                         [known["person_id"]])[0][0] > 0, schema_table
    request = record_request(org.sieve.control_plane, org.org, "person", subject_kind="login",
                             subject=Secret(SUBJECT_LOGIN.upper()))

    with DagsterInstance.from_config(str(sieve_home / "dagster")) as instance:
        [run_request] = deletion_request_sensor(build_sensor_context(
            instance=instance, resources={"sieve": SieveResource()})).run_requests
        assert (run_request.job_name, run_request.run_key) == ("forget_person", request.id)
        assert defs.resolve_job_def(run_request.job_name).execute_in_process(
            run_config=run_request.run_config, instance=instance, tags=run_request.tags).success

    certificate = get_request(org.sieve.control_plane, request.id).certificate
    assert certificate["verified"] and certificate["details"]["marts_rebuilt"]
    # Every export generation was withdrawn and a fresh one published from the cleaned marts.
    assert certificate["details"]["exports_withdrawn"] > 0
    assert certificate["details"]["exports_republished"] and not first_export.exists()
    exported = parquet.read_table(
        current_export(org.sieve.settings.orgs_dir, org.org.id) / "pull_requests.parquet",
        decryption_properties=decryption_properties(org_export_key(org.sieve, org.org)))
    assert exported.num_rows > 0
    assert known["person_id"] not in exported.column("author_person_id").to_pylist()
    assert forgotten_strings_in(org, known) == []
    for schema_table in ("marts.pull_requests", "marts.review_load", "intermediate.int_commits"):
        person_column = "person_id" if schema_table.endswith("review_load") else "author_person_id"
        assert org.query(f"SELECT count(*) FROM {schema_table} WHERE {person_column} = ?",
                         [known["person_id"]]) == [(0,)]
    assert org.snapshot(untouched_tables) == before
    deployments_after = org.query("SELECT * FROM marts.deployments ORDER BY ALL")
    assert [row[:7] for row in deployments_after] == [row[:7] for row in deployments_before]
    assert all(after[7] <= before[7] for after, before in zip(
        deployments_after, deployments_before, strict=True))
    shipped_theirs = ("bitbucket", "azuredevops")
    assert [row for row in deployments_after if row[1] not in shipped_theirs] == [
        row for row in deployments_before if row[1] not in shipped_theirs]
    # Dagster never saw the subject: its whole instance, byte by byte.
    needles = {v for v in known["strings"] if len(v) >= 5}
    assert scan_files(files_under(sieve_home / "dagster"), needles).hits == []

    rerun = execute_request(org.sieve, request.id)
    assert rerun["noop"] and rerun["verified"]
    again = forget(org, "email", "mateo-castellan@sieve-demo.example")
    assert again["noop"] and again["verified"] and again["rows"] == {}
    entries = [e for e in org.sieve.audit.entries()
               if e.action == "deletion.certified" and e.details["scope"] == "person"]
    assert [e.details["noop"] for e in entries] == [False, True, True]
    assert SUBJECT_LOGIN not in repr([e.details for e in entries])
    assert org.sieve.audit.verify().ok


def test_delink_mode_keeps_their_rows_without_any_identifier(synced_org):
    org = synced_org
    config = config_path(org.sieve.settings.home, "acme")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("person_deletion_mode: delink\n")
    known = identifiers_of(org, SUBJECT_LOGIN)
    authored = org.query("SELECT id FROM metadata.github_pull_requests WHERE author_login = ?",
                         [SUBJECT_LOGIN])
    assert authored
    pull_requests = org.count("github_pull_requests")

    certificate = forget(org, "login", SUBJECT_LOGIN)

    assert certificate["verified"] and certificate["details"]["mode"] == "delink"
    assert org.count("github_pull_requests") == pull_requests
    placeholders = ", ".join("?" for _ in authored)
    assert org.query(f"SELECT author_login, author_id FROM metadata.github_pull_requests "
                     f"WHERE id IN ({placeholders})", [r[0] for r in authored]) == (
        [(None, None)] * len(authored))
    assert forgotten_strings_in(org, known) == []
    assert org.query("SELECT count(*) FROM metadata.github_users WHERE login = ?",
                     [SUBJECT_LOGIN]) == [(0,)]


def test_forgetting_a_person_drops_the_records_of_their_notifications(synced_org,
                                                                      webhook_receiver):
    from resources.notifications.delivery import deliver_insight_notifications
    from resources.storage.control_plane.notifications import delivered_events, set_webhook
    from resources.storage.metadata_store import open_store
    from tests.unit.test_notifications import INSIGHTS_DDL, person_wip, waiting_pr

    org = synced_org
    person_id = identifiers_of(org, SUBJECT_LOGIN)["person_id"]
    # The insights mart as dbt writes it: one signal about them, one about a pull request.
    with open_store(org.database_path, org.sieve.control_plane.org_data_key(org.org)) as store:
        store.connection.execute(INSIGHTS_DDL)
        store.connection.executemany(
            "insert into marts.insights values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [person_wip(person_id=person_id), waiting_pr(1)])
    control_plane = org.sieve.control_plane
    set_webhook(control_plane, org.org, Secret(webhook_receiver.url), "json", "user:test")
    assert deliver_insight_notifications(org.sieve, org.org).sent == 2

    certificate = forget(org, "person", person_id)

    assert certificate["verified"] and certificate["details"]["notification_records"] == 1
    assert len(delivered_events(control_plane, org.org)) == 1
    assert person_id not in str(webhook_receiver.received)
