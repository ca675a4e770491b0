"""The retention sensors: one run per due request (run_key = request id, typed config holding
only that id), a SkipReason when there is nothing to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from resources.retention.requests import mark_finished, record_request, terminate_organization
from resources.security.vault import Secret
from resources.sieve_resource import SieveResource
from sensors.retention import (
    account_termination_sensor,
    deletion_request_sensor,
    out_of_date_sensor,
    removed_connection_sensor,
)


def evaluate(sensor_def):
    with DagsterInstance.ephemeral() as instance:
        return sensor_def(build_sensor_context(instance=instance,
                                               resources={"sieve": SieveResource()}))


def test_every_retention_sensor_skips_when_idle(sieve_org):
    sieve_org("acme")
    for sensor_def in (deletion_request_sensor, account_termination_sensor,
                       removed_connection_sensor):
        assert isinstance(evaluate(sensor_def), SkipReason), sensor_def.name


def test_deletion_requests_launch_their_jobs_with_the_request_id_only(sieve_org):
    org = sieve_org("acme")
    control_plane = org.sieve.control_plane
    person = record_request(control_plane, org.org, "person", subject_kind="email",
                            subject=Secret("someone@example.com"))
    whole_org = record_request(control_plane, org.org, "organization",
                               subject_kind="organization", subject_ref=org.org.id)

    result = evaluate(deletion_request_sensor)

    assert isinstance(result, SensorResult)
    launched = {r.run_key: r for r in result.run_requests}
    assert set(launched) == {person.id, whole_org.id}
    assert launched[person.id].job_name == "forget_person"
    assert launched[whole_org.id].job_name == "purge_organization"
    assert launched[person.id].run_config["ops"] == {
        "execute_deletion": {"config": {"request_id": person.id}}}
    assert "someone@example.com" not in repr(result)
    mark_finished(control_plane, person.id, {"verified": True}, verified=True)
    mark_finished(control_plane, whole_org.id, {"verified": True}, verified=True)
    assert isinstance(evaluate(deletion_request_sensor), SkipReason)


def test_removed_connection_launches_its_data_deletion(sieve_org):
    org = sieve_org("acme")
    control_plane = org.sieve.control_plane
    connection = org.connect("git", {"path": "/nowhere"}, {})
    control_plane.remove_connection(connection)
    request_id = control_plane.request_deletion(org.org, "connection", subject_ref=connection.id,
                                                subject_kind="connection")
    [run_request] = evaluate(removed_connection_sensor).run_requests
    assert (run_request.run_key, run_request.job_name) == (request_id, "delete_connection_data")


def test_termination_waits_for_the_grace_period(sieve_org):
    org = sieve_org("acme")
    start = datetime(2026, 5, 1, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        request = terminate_organization(org.sieve.control_plane, org.org, grace_days=7)
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        skipped = evaluate(account_termination_sensor)
        assert isinstance(skipped, SkipReason) and "grace period" in skipped.skip_message
        # The immediate-deletion sensor leaves terminations to this one.
        assert isinstance(evaluate(deletion_request_sensor), SkipReason)
    with time_machine.travel(start + timedelta(days=7), tick=False):
        [run_request] = evaluate(account_termination_sensor).run_requests
        assert run_request.run_key == request.id


def test_out_of_date_sensor_launches_once_a_day_per_organization(sieve_org):
    org = sieve_org("acme")
    day = datetime(2026, 6, 3, 4, 0, tzinfo=UTC)
    with time_machine.travel(day, tick=False):
        [first] = evaluate(out_of_date_sensor).run_requests
        [again] = evaluate(out_of_date_sensor).run_requests
        assert first.run_key == again.run_key and first.job_name == "remove_out_of_date_data"
        mark_finished(org.sieve.control_plane, first.run_key, {"verified": True}, verified=True)
        assert isinstance(evaluate(out_of_date_sensor), SkipReason)
    with time_machine.travel(day + timedelta(days=1), tick=False):
        [next_day] = evaluate(out_of_date_sensor).run_requests
        assert next_day.run_key != first.run_key
