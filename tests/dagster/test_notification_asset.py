"""The insight_notifications asset: a receiver that fails never fails the organization's sync,
and what it missed is delivered by the next materialization (the delivery itself is tested in
tests/unit/test_notifications.py)."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from assets.notifications import insight_notifications
from resources.sieve_resource import SieveResource
from tests.unit.test_notifications import told, turn_on, waiting_pr, write_insights
from tests.webhook_receiver import quick_webhook_retries


def test_the_asset_never_fails_the_sync(sieve_org, webhook_receiver, monkeypatch):
    quick_webhook_retries(monkeypatch)
    acme = sieve_org("acme")
    acme.connect("github", {"owner": "acme"}, {"token": "ghp_dummy"})
    turn_on(acme, webhook_receiver)
    write_insights(acme, [waiting_pr(1)])
    webhook_receiver.fail_with = 500
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("organizations", [acme.org.id])
        resources = {"sieve": SieveResource(sieve_home=str(acme.sieve.settings.home))}
        failed = materialize([insight_notifications], instance=instance,
                             partition_key=acme.org.id, resources=resources)
        assert failed.success
        [event] = failed.asset_materializations_for_node("insight_notifications")
        assert event.metadata["notifications"].value == "failed"
        assert event.metadata["notifications_left_for_next_sync"].value == 1
        webhook_receiver.fail_with = None
        delivered = materialize([insight_notifications], instance=instance,
                                partition_key=acme.org.id, resources=resources)
        [event] = delivered.asset_materializations_for_node("insight_notifications")
        assert event.metadata["notifications_sent"].value == 1
    assert told(webhook_receiver) == [("opened", "pr_awaiting_first_review acme/api#1")]
