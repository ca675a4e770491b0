"""A source's sync step when some of its connections fail (issue #20, items 2 and 8): the other
connections are synced and materialized, then the step fails with the people-facing causes as
its description; a cause that a retry may cure is retried before anything is materialized, so
the steps downstream wait for the retry."""

from __future__ import annotations

from dagster import DagsterEventType, RetryPolicy, instance_for_test, materialize

from assets.ingestion import FAILED_CONNECTION_LABEL, source_sync_asset
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource

OWNER = "sieve-demo"
ONE_REPO = {"repos": ["web-app"]}
# One retry, at once: the product's policy waits 30 s and more between attempts.
ONE_QUICK_RETRY = RetryPolicy(max_retries=1)
FOLLOWED = (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.STEP_UP_FOR_RETRY,
            DagsterEventType.STEP_FAILURE)


def run_github_step(org) -> list:
    """The step's materializations, retries and failure, in order."""
    with instance_for_test() as instance:
        instance.add_dynamic_partitions(organization_partitions.name, [org.org.id])
        result = materialize([source_sync_asset("github", ONE_QUICK_RETRY)],
                             partition_key=org.org.id, instance=instance,
                             resources={"sieve": SieveResource()}, raise_on_error=False)
    return [event for event in result.all_events if event.event_type in FOLLOWED]


def failure_of(event):
    return event.event_specific_data.user_failure_data


def test_a_refused_token_fails_the_step_after_the_others_are_materialized(sieve_org, emulator):
    org = sieve_org()
    refused = org.connect("github", {"base_url": emulator.base_url("github"), "owner": OWNER,
                                     **ONE_REPO}, {"token": "not-the-token"})
    org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)

    raw, extracted, failed = run_github_step(org)

    raw = raw.event_specific_data.materialization.metadata
    extracted = extracted.event_specific_data.materialization.metadata
    assert raw["connections"].value == 2 and raw["records_fetched"].value > 0
    assert extracted["connections_failed"].value == 1
    # Not retried: a refused token stays refused until a person acts.
    assert failed.event_type == DagsterEventType.STEP_FAILURE
    failure = failure_of(failed)
    headline, consequence = failure.description.splitlines()
    assert headline.startswith(f"The token for connection '{refused.id}' of organization "
                               "'acme' was rejected") and "sieve connect acme github" in headline
    assert "not-the-token" not in failure.description
    assert consequence == ("(1 of 2 GitHub connections synced; the metrics are rebuilt without "
                           "the failed ones.)")
    assert failure.metadata["source"].value == "github"
    assert failure.metadata[f"{FAILED_CONNECTION_LABEL}{refused.id}"].value == headline


def test_a_cause_a_retry_may_cure_is_retried_before_anything_is_materialized(
        sieve_org, emulator):
    org = sieve_org()
    connection = org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    # Out of budget for two hours: longer than a request may wait (65 min).
    emulator.faults.rate_limit("github", 1000, window_seconds=7200)
    emulator.faults.exhaust_rate_limit("github")

    retried, *after_the_retry = run_github_step(org)

    assert retried.event_type == DagsterEventType.STEP_UP_FOR_RETRY
    # The UI shows the retry "caused by" the step's Failure, whose message is the cause.
    cause = retried.event_specific_data.error.cause.message
    assert f"connection '{connection.id}'" in cause and "rate limit" in cause
    # The last attempt materializes what it has, then fails with the cause.
    assert [event.event_type for event in after_the_retry] == [
        DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.STEP_FAILURE]
    assert "rate limit" in failure_of(after_the_retry[-1]).description


def refused_refresh(control_plane, connection_id: str) -> str:
    """The connection's refresh token was refused once: it now needs connecting again."""
    from resources.storage.control_plane.credentials import (
        release_refresh_lease,
        take_refresh_lease,
    )

    reason = "The github token endpoint refused the refresh token (invalid_grant)"
    assert take_refresh_lease(control_plane, connection_id, "test", 60.0) == "acquired"
    release_refresh_lease(control_plane, connection_id, "test", needs_reauth=reason)
    return reason


def test_a_connection_needing_reauth_is_skipped_visibly_and_the_step_succeeds(
        sieve_org, emulator, monkeypatch):
    from click.testing import CliRunner

    from assets.ingestion import SKIPPED_CONNECTION_LABEL
    from pipelines.cli import main
    from pipelines.runs import job_outcome

    org = sieve_org()
    waiting = org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    org.connect_emulator(emulator, "github", owner=OWNER, **ONE_REPO)
    reason = refused_refresh(org.sieve.control_plane, waiting.id)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions(organization_partitions.name, [org.org.id])
        result = materialize([source_sync_asset("github", ONE_QUICK_RETRY)],
                             partition_key=org.org.id, instance=instance,
                             resources={"sieve": SieveResource()}, raise_on_error=False)
        warnings = [record.user_message for record in instance.all_logs(result.run_id)
                    if record.level >= 30 and waiting.id in record.user_message]
    assert result.success  # the other connection synced; nothing failed
    raw = result.asset_materializations_for_node("github_sync")[0].metadata
    assert raw["connections"].value == 2 and raw["connections_skipped"].value == 1
    skip = raw[f"{SKIPPED_CONNECTION_LABEL}{waiting.id}"].value
    assert reason in skip and "sieve connections acme" in skip
    assert raw["records_fetched"].value > 0
    assert warnings and reason in warnings[0]

    # `sieve sync` reads the same metadata back and says so after its counts.
    outcome = job_outcome(result.run_id, result.success, result.all_events)
    monkeypatch.setattr("pipelines.runs.run_org_job", lambda *args, **kwargs: outcome)
    printed = CliRunner().invoke(main, ["sync", "acme"])
    assert printed.exit_code == 0, printed.output
    assert "1 connection skipped until connected again:" in printed.stderr
    assert f"  github {waiting.id}: {skip}" in printed.stderr
    assert SKIPPED_CONNECTION_LABEL not in printed.stdout
