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
