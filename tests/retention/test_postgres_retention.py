"""On PostgreSQL (control plane and Dagster instance): after forgetting a person, a pg_dump of
either database holds none of their identifiers; after deleting the organization, the Dagster
database holds nothing of it."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, MaterializeResult, asset, materialize

from pipelines.retention import run_retention_once
from resources.partitions import organization_partitions
from resources.retention.requests import get_request, record_request
from resources.security.vault import Secret
from resources.sync.engine import rebuild_identities
from tests.harness import SieveOrg, new_installation
from tests.postgres.test_postgres import pg_dump, reset_database, use_production_instance

pytestmark = pytest.mark.postgres

SUBJECT_EMAIL = "mateo-castellan@sieve-demo.example"


@asset(partitions_def=organization_partitions)
def org_probe() -> MaterializeResult:
    return MaterializeResult(metadata={"rows": 1})


def use_postgres_dagster(monkeypatch, dagster_pg_url: str, sieve_home) -> None:
    use_production_instance(monkeypatch, dagster_pg_url, sieve_home / "dagster")


def test_pg_dumps_hold_nothing_of_a_forgotten_person_or_a_deleted_org(
        sieve_home, control_plane_pg_url, dagster_pg_url, emulator, monkeypatch):
    reset_database(control_plane_pg_url)
    reset_database(dagster_pg_url)
    monkeypatch.setenv("SIEVE_CONTROL_PLANE_URL", control_plane_pg_url)
    use_postgres_dagster(monkeypatch, dagster_pg_url, sieve_home)
    monkeypatch.setattr("pipelines.retention.build_org_marts", lambda sieve, org_id: None)
    sieve = new_installation()
    sieve.control_plane.add_organization("acme")
    org = SieveOrg(sieve, "acme")
    for source, settings in (("jira", {"projects": []}), ("slack", {})):
        org.connect_emulator(emulator, source, **settings)
        org.sync(source)
    rebuild_identities(sieve, org.org.id)
    needles = {v.lower().encode() for row in org.query(
        "SELECT account_key, login, email FROM metadata.identity_accounts WHERE person_id IN "
        "(SELECT person_id FROM metadata.identity_accounts WHERE email = ?)", [SUBJECT_EMAIL])
        for v in row if v and len(v) >= 5}
    assert SUBJECT_EMAIL.encode() in needles and len(needles) >= 3
    org_id = org.org.id

    with DagsterInstance.from_config(str(sieve_home / "dagster")) as instance:
        instance.add_dynamic_partitions(organization_partitions.name, [org_id])
        assert materialize([org_probe], instance=instance, partition_key=org_id).success
        person = record_request(sieve.control_plane, org.org, "person", subject_kind="email",
                                subject=Secret(SUBJECT_EMAIL))
        assert {o.request_id: o.success for o in run_retention_once(sieve, instance)
                if o.request_id}[person.id]
        assert get_request(sieve.control_plane, person.id).certificate["verified"]
        control_dump, dagster_dump = pg_dump(control_plane_pg_url), pg_dump(dagster_pg_url)
        assert person.id.encode() in control_dump and b"forget_person" in dagster_dump
        for needle in needles:
            assert needle not in control_dump.lower(), needle
            assert needle not in dagster_dump.lower(), needle

        others = {r[0].lower().encode() for r in org.query(
            "SELECT email FROM metadata.identity_accounts WHERE email IS NOT NULL")}
        whole_org = record_request(sieve.control_plane, org.org, "organization",
                                   subject_kind="organization", subject_ref=org_id)
        run_retention_once(sieve, instance)
    assert get_request(sieve.control_plane, whole_org.id).certificate["verified"]
    dagster_dump = pg_dump(dagster_pg_url)
    control_dump = pg_dump(control_plane_pg_url)
    assert org_id.encode() not in dagster_dump
    for email in others:
        assert email not in control_dump.lower() and email not in dagster_dump.lower()
    sieve.close()
