"""Forgetting one person: gone from every table and every store's bytes; others unchanged."""

from __future__ import annotations

import pytest

from resources.retention.execute import execute_request
from resources.retention.requests import get_request, record_request
from resources.vault import Secret

SUBJECT_LOGIN = "mateo-castellan"


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
