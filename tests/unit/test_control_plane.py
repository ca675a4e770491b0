"""Control plane on SQLite: migrations, organizations, connections, rotation."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from resources.security.keys import FileKeyProvider, WrongKeyError, create_key_file
from resources.security.vault import Secret
from resources.storage.control_plane import ControlPlane, ControlPlaneError, schema

TOKEN = "glpat-CANARYcontrolPLANE0042"


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "keys" / "master.keys"
    create_key_file(path)
    return path


@pytest.fixture
def control_plane(tmp_path, key_file):
    plane = ControlPlane.open(f"sqlite:///{tmp_path / 'control.db'}",
                              keys=lambda: FileKeyProvider(key_file))
    yield plane
    plane.close()


def test_migrations_build_exactly_the_declared_schema(control_plane):
    inspector = inspect(control_plane.engine)
    for table in schema.metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name


def test_reopening_is_idempotent(tmp_path, key_file, control_plane):
    control_plane.add_organization("acme")
    again = ControlPlane.open(f"sqlite:///{tmp_path / 'control.db'}",
                              keys=lambda: FileKeyProvider(key_file))
    assert [o.slug for o in again.organizations()] == ["acme"]
    again.close()


def test_organizations_have_opaque_ids_and_their_own_data_key(control_plane):
    acme = control_plane.add_organization("acme")
    globex = control_plane.add_organization("globex")
    assert acme.id.startswith("org_") and "acme" not in acme.id
    assert control_plane.org_data_key(acme) != control_plane.org_data_key(globex)
    assert len(control_plane.org_data_key(acme).reveal()) == 64
    with pytest.raises(ControlPlaneError, match="already exists"):
        control_plane.add_organization("acme")
    with pytest.raises(ControlPlaneError, match="No organization 'initech'"):
        control_plane.organization("initech")


def test_credentials_round_trip_and_are_wiped_on_removal(tmp_path, control_plane):
    acme = control_plane.add_organization("acme")
    connection = control_plane.add_connection(acme, "gitlab", {"group": "acme"},
                                              {"token": Secret(TOKEN)})
    assert connection.credential_fields == ("token",)
    assert control_plane.credentials(connection)["token"].reveal() == TOKEN
    control_plane.remove_connection(connection)
    removed = control_plane.connection(connection.id)
    assert removed.status == "removed" and removed.credential_fields == ()
    assert control_plane.credentials(removed) == {}
    assert control_plane.connections(acme) == []
    assert [c.id for c in control_plane.connections(acme, include_removed=True)] == [connection.id]


def test_unknown_source_is_refused(control_plane):
    acme = control_plane.add_organization("acme")
    with pytest.raises(ControlPlaneError, match="Unknown source 'sourcehut'"):
        control_plane.add_connection(acme, "sourcehut", {}, {})


def test_rotation_interrupted_then_rerun_leaves_everything_on_the_new_key(tmp_path, key_file,
                                                                          control_plane,
                                                                          monkeypatch):
    acme = control_plane.add_organization("acme")
    tokens = {}
    for number in range(5):
        connection = control_plane.add_connection(
            acme, "github", {"owner": f"o{number}"},
            {"token": Secret(f"{TOKEN}-{number}"), "extra": Secret(f"x-{number}")})
        tokens[connection.id] = f"{TOKEN}-{number}"
    data_key = control_plane.org_data_key(acme)
    provider = FileKeyProvider(key_file)
    old_id = provider.current().kek_id
    new_id = provider.add_new_key().kek_id

    real_store, stored = control_plane._store_rewrapped, []

    def crash_after_four(locator, envelope):
        if len(stored) == 4:
            raise KeyboardInterrupt("simulated crash mid-rotation")
        stored.append(locator)
        real_store(locator, envelope)

    monkeypatch.setattr(control_plane, "_store_rewrapped", crash_after_four)
    with pytest.raises(KeyboardInterrupt):
        control_plane.rewrap_all(provider)
    assert control_plane.kek_ids_in_use() == {old_id, new_id}
    monkeypatch.setattr(control_plane, "_store_rewrapped", real_store)

    counts = control_plane.rewrap_all(FileKeyProvider(key_file))
    assert counts == {"rewrapped": 11 - 4, "already_current": 4}
    assert control_plane.kek_ids_in_use() == {new_id}
    FileKeyProvider(key_file).retire_all_but_current()
    only_new = FileKeyProvider(key_file)
    assert [k.kek_id for k in only_new.all_keys()] == [new_id]
    for connection in control_plane.connections(acme):
        assert control_plane.credentials(connection)["token"].reveal() == tokens[connection.id]
    assert control_plane.org_data_key(acme) == data_key


def test_missing_old_key_fails_closed(tmp_path, key_file, control_plane):
    acme = control_plane.add_organization("acme")
    connection = control_plane.add_connection(acme, "slack", {}, {"token": Secret(TOKEN)})
    other = tmp_path / "other.keys"
    create_key_file(other)
    stranger = ControlPlane(control_plane.engine, keys=lambda: FileKeyProvider(other))
    with pytest.raises(WrongKeyError) as raised:
        stranger.credentials(connection)
    assert TOKEN not in str(raised.value)
    assert control_plane.credentials(connection)["token"].reveal() == TOKEN


def test_head_revision_is_the_newest_migration():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from resources.storage.control_plane import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


WEBHOOK_URL = "https://hooks.slack.com/services/T0/B0/CANARYwebhookPATH0042"


def test_webhook_url_is_sealed_rotated_and_wiped(tmp_path, key_file, control_plane):
    from resources.storage.control_plane.notifications import (
        delivered_events,
        record_delivered,
        set_webhook,
        turn_off,
        webhook_url,
    )

    acme = control_plane.add_organization("acme")
    set_webhook(control_plane, acme, Secret(WEBHOOK_URL), "slack", "user:test")
    record_delivered(control_plane, acme, [("a1", "opened")])
    assert delivered_events(control_plane, acme) == {("a1", "opened")}
    assert WEBHOOK_URL.encode() not in (tmp_path / "control.db").read_bytes()
    assert b"CANARYwebhookPATH0042" not in (tmp_path / "control.db").read_bytes()

    provider = FileKeyProvider(key_file)
    new_id = provider.add_new_key().kek_id
    assert control_plane.rewrap_all(FileKeyProvider(key_file)) == {"rewrapped": 2,
                                                                   "already_current": 0}
    FileKeyProvider(key_file).retire_all_but_current()
    assert control_plane.kek_ids_in_use() == {new_id}
    assert webhook_url(control_plane, acme).reveal() == WEBHOOK_URL

    # A new URL may be another channel: what the old one was told is forgotten with it.
    set_webhook(control_plane, acme, Secret(WEBHOOK_URL + "2"), "slack", "user:test")
    assert delivered_events(control_plane, acme) == set()
    assert turn_off(control_plane, acme)
    with control_plane.engine.connect() as conn:
        assert conn.execute(schema.notification_webhooks.select()).all() == []
