"""The nightly schedule: one run per active organization partition at the configured hour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import RunRequest, SkipReason, build_schedule_context, instance_for_test
from sqlalchemy import update

from pipelines.schedules import (
    NIGHTLY_HOUR_ENV,
    ScheduleConfigError,
    defs,
    nightly_hour,
    nightly_schedule,
)
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource

NIGHT = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def evaluate(instance, when: datetime):
    context = build_schedule_context(instance=instance, scheduled_execution_time=when,
                                     resources={"sieve": SieveResource()})
    return nightly_schedule()(context)


@pytest.fixture
def installation(sieve_org):
    acme, globex, initech = sieve_org("acme"), sieve_org("globex"), sieve_org("initech")
    from resources.storage.control_plane.schema import organizations

    with acme.sieve.control_plane.engine.begin() as conn:
        conn.execute(update(organizations).where(organizations.c.id == initech.org.id)
                     .values(status="terminated"))
    with instance_for_test() as instance:
        yield instance, [acme.org.id, globex.org.id, initech.org.id]


def test_one_run_per_active_partition_with_deterministic_keys(installation):
    instance, (acme, globex, terminated) = installation
    instance.add_dynamic_partitions(organization_partitions.name, [acme, globex, terminated])

    requests = evaluate(instance, NIGHT)

    assert all(isinstance(r, RunRequest) for r in requests)
    assert sorted(r.partition_key for r in requests) == sorted([acme, globex])
    assert {r.run_key for r in requests} == {f"nightly-{acme}-2026-03-04",
                                             f"nightly-{globex}-2026-03-04"}
    assert all(r.tags["sieve/trigger"] == "nightly" for r in requests)
    assert [r.run_key for r in evaluate(instance, NIGHT)] == [r.run_key for r in requests]


def test_a_true_nightly_cron_in_utc_at_the_configured_hour(monkeypatch):
    [default] = defs().schedules
    assert (default.cron_schedule, default.execution_timezone) == ("0 2 * * *", "UTC")
    assert "02:00 UTC" in default.description
    monkeypatch.setenv(NIGHTLY_HOUR_ENV, "5")
    [configured] = defs().schedules
    assert configured.cron_schedule == "0 5 * * *"


def test_skip_reasons_name_what_is_missing(sieve_org, installation):
    instance, _ = installation
    waiting = evaluate(instance, NIGHT)
    assert isinstance(waiting, SkipReason)
    assert "2 active organization(s), none has its partition yet" in waiting.skip_message


def test_skips_when_there_is_no_organization(sieve_home):
    from tests.harness import new_installation

    new_installation().close()
    with instance_for_test() as instance:
        skipped = evaluate(instance, NIGHT)
    assert isinstance(skipped, SkipReason)
    assert "no active organization" in skipped.skip_message


@pytest.mark.parametrize("raw", ["24", "-1", "two", "2.5"])
def test_a_bad_hour_is_refused_with_its_name(raw):
    with pytest.raises(ScheduleConfigError, match=NIGHTLY_HOUR_ENV):
        nightly_hour({NIGHTLY_HOUR_ENV: raw})


def test_default_hour_is_two():
    assert nightly_hour({}) == 2
    assert nightly_hour({NIGHTLY_HOUR_ENV: "0"}) == 0


def test_an_access_review_summary_is_recorded_once_a_month(installation, sieve_org):
    instance, _ = installation
    evaluate(instance, NIGHT)
    evaluate(instance, NIGHT.replace(day=5))
    evaluate(instance, NIGHT.replace(month=4, day=1))

    from resources.runtime import open_sieve

    sieve = open_sieve()
    try:
        recorded = [e for e in sieve.audit.entries() if e.action == "access.review_recorded"]
    finally:
        sieve.close()
    assert [e.recorded_at.month for e in recorded] == [3, 4]
    assert recorded[0].details["grants"] == 0 and "operator_reads" in recorded[0].details
    assert all("@" not in str(e.details) for e in recorded)  # counts only, no emails


def test_a_run_names_the_connections_it_will_skip_in_a_tag(installation, emulator):
    from pipelines.schedules import NEEDS_REAUTH_TAG
    from tests.dagster.test_source_step_failures import refused_refresh

    instance, (acme, globex, terminated) = installation
    instance.add_dynamic_partitions(organization_partitions.name, [acme, globex])
    from resources.runtime import open_sieve
    from tests.harness import SieveOrg

    org = SieveOrg(open_sieve(), "acme")  # the installation's acme
    waiting = org.connect_emulator(emulator, "github", owner="sieve-demo")
    org.connect_emulator(emulator, "github", owner="sieve-demo")
    refused_refresh(org.sieve.control_plane, waiting.id)
    org.sieve.close()

    requests = {r.partition_key: r for r in evaluate(instance, NIGHT)}

    assert requests[acme].tags[NEEDS_REAUTH_TAG] == waiting.id
    assert NEEDS_REAUTH_TAG not in requests[globex].tags
