"""Production storage on a real PostgreSQL: the control plane (credentials never in clear in a
dump) and the Dagster instance built from deploy/dagster.yaml."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import sqlalchemy
from dagster import DagsterInstance, asset, materialize
from sqlalchemy.engine import make_url

from pipelines.instance import PRODUCTION_TEMPLATE
from resources.partitions import organization_partitions
from resources.security.keys import FileKeyProvider, create_key_file
from resources.security.vault import Secret
from resources.storage.control_plane import ControlPlane

pytestmark = pytest.mark.postgres

CANARY_TOKEN = "xoxb-CANARYpostgresDUMP5e1f"


def reset_database(url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE"))
        conn.execute(sqlalchemy.text("CREATE SCHEMA public"))
    engine.dispose()


def pg_dump(url: str) -> bytes:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed; it ships with the postgresql-client package")
    parsed = make_url(url)
    done = subprocess.run(
        ["pg_dump", "--no-owner", "-h", parsed.host, "-p", str(parsed.port or 5432),
         "-U", parsed.username, parsed.database],
        env={"PGPASSWORD": parsed.password, "PATH": "/usr/bin:/bin"},
        capture_output=True, check=True, timeout=120)
    return done.stdout


def use_production_instance(monkeypatch, dagster_url: str, dagster_home) -> None:
    """DAGSTER_HOME holds deploy/dagster.yaml, its DAGSTER_PG_* variables naming ``dagster_url``."""
    parsed = make_url(dagster_url)
    for name, value in {"DAGSTER_PG_USERNAME": parsed.username,
                        "DAGSTER_PG_PASSWORD": parsed.password,
                        "DAGSTER_PG_HOST": parsed.host, "DAGSTER_PG_DB": parsed.database,
                        "DAGSTER_PG_PORT": str(parsed.port or 5432)}.items():
        monkeypatch.setenv(name, value)
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PRODUCTION_TEMPLATE, dagster_home / "dagster.yaml")


def test_control_plane_on_postgres_keeps_credentials_sealed(tmp_path, control_plane_pg_url):
    reset_database(control_plane_pg_url)
    key_file = tmp_path / "master.keys"
    create_key_file(key_file)
    plane = ControlPlane.open(control_plane_pg_url, keys=lambda: FileKeyProvider(key_file))
    acme = plane.add_organization("acme")
    connection = plane.add_connection(acme, "slack", {"base_url": "https://slack.com"},
                                      {"token": Secret(CANARY_TOKEN)})
    assert plane.credentials(connection)["token"].reveal() == CANARY_TOKEN
    dump = pg_dump(control_plane_pg_url)
    assert b"conn_" in dump and b"organizations" in dump  # the dump really has our rows
    assert CANARY_TOKEN.encode() not in dump
    plane.close()


def test_notification_webhook_is_sealed_on_postgres(tmp_path, control_plane_pg_url):
    from resources.storage.control_plane.notifications import (
        delivered_events,
        forget_deliveries_except,
        record_delivered,
        set_webhook,
        webhook_url,
    )

    reset_database(control_plane_pg_url)
    key_file = tmp_path / "master.keys"
    create_key_file(key_file)
    plane = ControlPlane.open(control_plane_pg_url, keys=lambda: FileKeyProvider(key_file))
    acme = plane.add_organization("acme")
    url = "https://hooks.slack.com/services/T0/B0/CANARYpostgresWEBHOOK7c2d"
    set_webhook(plane, acme, Secret(url), "slack", "user:test")
    record_delivered(plane, acme, [("s1", "opened"), ("s2", "opened")])
    assert forget_deliveries_except(plane, acme, {"s2"}) == 1
    assert delivered_events(plane, acme) == {("s2", "opened")}
    assert webhook_url(plane, acme).reveal() == url
    dump = pg_dump(control_plane_pg_url)
    assert b"notification_webhooks" in dump and b"s2" in dump
    assert b"CANARYpostgresWEBHOOK7c2d" not in dump
    plane.close()


@asset(partitions_def=organization_partitions)
def organization_probe() -> int:
    return 1


@pytest.fixture
def production_instance(tmp_path, dagster_pg_url, monkeypatch) -> None:
    """DAGSTER_HOME holds deploy/dagster.yaml, on an empty database."""
    reset_database(dagster_pg_url)
    dagster_home = tmp_path / "dagster"
    use_production_instance(monkeypatch, dagster_pg_url, dagster_home)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))


def test_dagster_instance_template_stores_runs_and_events_in_postgres(production_instance,
                                                                      dagster_pg_url):
    with DagsterInstance.get() as instance:
        assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
        instance.add_dynamic_partitions(organization_partitions.name, ["org_pgtest"])
        result = materialize([organization_probe], instance=instance, partition_key="org_pgtest")
        assert result.success
        run_id = result.run_id

    engine = sqlalchemy.create_engine(dagster_pg_url)
    with engine.connect() as conn:
        runs = conn.execute(sqlalchemy.text("SELECT count(*) FROM runs WHERE run_id = :r"),
                            {"r": run_id}).scalar_one()
        events = conn.execute(sqlalchemy.text(
            "SELECT count(*) FROM event_logs WHERE run_id = :r"), {"r": run_id}).scalar_one()
        materialized = conn.execute(sqlalchemy.text(
            "SELECT count(*) FROM event_logs WHERE run_id = :r "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'"), {"r": run_id}).scalar_one()
        partitions = conn.execute(sqlalchemy.text(
            "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'organizations'"
        )).scalars().all()
    engine.dispose()
    assert runs == 1 and events > 5 and materialized == 1
    assert partitions == ["org_pgtest"]


def test_a_run_on_the_production_instance_reuses_its_connections(production_instance,
                                                                  monkeypatch):
    """deploy/dagster.yaml keeps a connection open per storage (pipelines/postgres_storage.py):
    dagster-postgres alone opened one for every read and write of a run."""
    import psycopg2

    from pipelines.postgres_storage import (
        SievePostgresEventLogStorage,
        SievePostgresRunStorage,
        SievePostgresScheduleStorage,
    )

    with DagsterInstance.get() as instance:
        assert (type(instance.run_storage), type(instance.event_log_storage),
                type(instance.schedule_storage)) == (
            SievePostgresRunStorage, SievePostgresEventLogStorage, SievePostgresScheduleStorage)
        instance.add_dynamic_partitions(organization_partitions.name, ["org_pgtest"])
        opened = []
        real_connect = psycopg2.connect
        monkeypatch.setattr(psycopg2, "connect",
                            lambda *args, **kwargs: opened.append(1) or real_connect(*args,
                                                                                     **kwargs))
        for _ in range(3):
            assert materialize([organization_probe], instance=instance,
                               partition_key="org_pgtest").success
        records = instance.get_run_records()
    assert len(records) == 3
    # dagster-postgres alone opened 134 connections for these three runs; kept open, 5 (one
    # per storage, a few more only while threads overlap).
    assert len(opened) <= 10, len(opened)
