"""Account termination: the data stays through the grace period, is purged on day 30 by the
sensor's job, and afterwards nothing of the organization is left in any store."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import time_machine
from dagster import (
    DagsterInstance,
    MaterializeResult,
    RunsFilter,
    SensorResult,
    SkipReason,
    asset,
    build_sensor_context,
    materialize,
)

from resources.partitions import organization_partitions
from resources.retention.requests import get_request, terminate_organization
from resources.retention.verify import files_under, scan_files
from resources.security.vault import Secret
from resources.sieve_resource import SieveResource
from resources.storage.control_plane import ControlPlaneError
from resources.storage.control_plane.notifications import (
    delivered_events,
    record_delivered,
    set_webhook,
    webhook_status,
)
from resources.storage.metadata_store import StoreError, connect_encrypted
from sensors.retention import account_termination_sensor

TERMINATED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@asset(partitions_def=organization_partitions)
def org_probe() -> MaterializeResult:
    return MaterializeResult(metadata={"rows": 1})


def evaluate(instance):
    return account_termination_sensor(
        build_sensor_context(instance=instance, resources={"sieve": SieveResource()}))


def test_terminated_org_is_purged_on_day_30_and_its_copies_cannot_be_opened(
        synced_org, sieve_home, tmp_path):
    org = synced_org
    org_id = org.org.id
    logins = {r[0] for r in org.query(
        "SELECT login FROM metadata.identity_accounts WHERE length(login) >= 5")}
    set_webhook(org.sieve.control_plane, org.org,
                Secret("https://hooks.slack.com/services/T0/B0/purgedWEBHOOK"), "slack", "user:t")
    record_delivered(org.sieve.control_plane, org.org, [("s1", "opened")])
    with time_machine.travel(TERMINATED_AT, tick=True):
        request = terminate_organization(org.sieve.control_plane, org.org, grace_days=30)
    copy_before = tmp_path / "stolen-copy.duckdb"
    shutil.copy(org.database_path, copy_before)

    with DagsterInstance.from_config(str(sieve_home / "dagster")) as instance:
        instance.add_dynamic_partitions(organization_partitions.name, [org_id])
        assert materialize([org_probe], instance=instance, partition_key=org_id).success

        with time_machine.travel(TERMINATED_AT + timedelta(days=29), tick=True):
            waiting = evaluate(instance)
            assert isinstance(waiting, SkipReason)
            assert "grace period" in waiting.skip_message
            assert org.count("github_pull_requests") > 0

        with time_machine.travel(TERMINATED_AT + timedelta(days=30, minutes=1), tick=True):
            launched = evaluate(instance)
            assert isinstance(launched, SensorResult)
            [run_request] = launched.run_requests
            assert run_request.run_key == request.id
            assert run_request.job_name == "purge_organization"
            assert org_id not in repr(run_request.run_config)
            from pipelines.definitions import defs

            result = defs.resolve_job_def(run_request.job_name).execute_in_process(
                run_config=run_request.run_config, instance=instance, tags=run_request.tags)
            assert result.success

        assert not instance.has_dynamic_partition(organization_partitions.name, org_id)
        assert not instance.get_run_records(RunsFilter(tags={"dagster/partition": org_id}))

    done = get_request(org.sieve.control_plane, request.id)
    assert done.status == "done" and done.certificate["verified"]
    assert done.certificate["verification"]["data_key_destroyed"]
    assert not org.database_path.parent.exists()
    with pytest.raises(ControlPlaneError, match="crypto-shredded"):
        org.sieve.control_plane.org_data_key(org.org)
    assert org.sieve.control_plane.connections(org.org, include_removed=True) == []
    # Its webhook's sealed URL and what was sent to it go with its credentials.
    assert webhook_status(org.sieve.control_plane, org.org) is None
    assert delivered_events(org.sieve.control_plane, org.org) == set()
    # Nothing of the org in any store file: not its id in the Dagster instance, not one of
    # its people's logins anywhere under SIEVE_HOME.
    assert scan_files(files_under(sieve_home / "dagster"), [org_id]).hits == []
    assert scan_files(files_under(sieve_home), logins).hits == []
    # The copy taken before the deletion is unreadable: its key no longer exists anywhere,
    # and no other key opens it.
    with pytest.raises(StoreError):
        connect_encrypted(copy_before, Secret("00" * 32), read_only=True)
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(copy_before), read_only=True)
    assert org.sieve.audit.verify().ok
