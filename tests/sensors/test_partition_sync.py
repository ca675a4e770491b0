"""The partition sync sensor mirrors the control plane's organizations into Dagster."""

from __future__ import annotations

from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from resources.runtime import open_sieve
from resources.sieve_resource import SieveResource
from sensors.partition_sync import organization_partitions_sensor


def run_sensor(instance):
    context = build_sensor_context(instance=instance, resources={"sieve": SieveResource()})
    return organization_partitions_sensor(context)


def test_adds_new_orgs_removes_deleted_and_skips_when_in_sync(sieve_home):
    from resources.security.keys import create_key_file
    from resources.settings import load_settings

    create_key_file(load_settings().key_file)
    opened = open_sieve()
    acme = opened.control_plane.add_organization("acme")
    globex = opened.control_plane.add_organization("globex")
    with DagsterInstance.ephemeral() as instance:
        result = run_sensor(instance)
        assert isinstance(result, SensorResult)
        [request] = result.dynamic_partitions_requests
        assert sorted(request.partition_keys) == sorted([acme.id, globex.id])
        instance.add_dynamic_partitions("organizations", list(request.partition_keys))

        skipped = run_sensor(instance)
        assert isinstance(skipped, SkipReason)
        assert "2 organization partitions already match" in skipped.skip_message

        from sqlalchemy import update

        from resources.storage.control_plane.schema import organizations

        with opened.control_plane.engine.begin() as conn:
            conn.execute(update(organizations).where(organizations.c.id == globex.id)
                         .values(status="deleted"))
        removal = run_sensor(instance)
        [delete_request] = removal.dynamic_partitions_requests
        assert list(delete_request.partition_keys) == [globex.id]
    opened.close()
