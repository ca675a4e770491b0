"""Delivering an organization's pending notifications after its marts are built.

Never fails the sync: a receiver that is down, refuses or cannot be reached is recorded (in
words without the URL) and what it missed is sent at the next sync. Each message's events
are recorded as delivered as soon as the receiver accepts it, so a re-run sends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from resources.notifications.events import (
    DEFAULT_API_ROOTS,
    Notification,
    pending_notifications,
    person_signal_ids,
    read_episodes,
    web_root,
)
from resources.notifications.webhook import (
    WebhookError,
    check_message_payload,
    messages,
    post,
    webhook_client,
)
from resources.runtime import Sieve
from resources.security.vault import Secret
from resources.storage.control_plane import ControlPlane, ControlPlaneError, Organization
from resources.storage.control_plane.notifications import (
    delivered_events,
    forget_deliveries,
    forget_deliveries_except,
    record_delivered,
    record_failure,
    webhook_status,
    webhook_url,
)
from resources.storage.metadata_store import open_store, org_database_path

log = logging.getLogger("sieve.notifications")


@dataclass(frozen=True)
class DeliveryOutcome:
    """``state``: off | no insights yet | nothing new | delivered | failed."""

    state: str
    sent: int = 0
    left_for_next_sync: int = 0
    forgotten: int = 0
    failure: str | None = None

    def as_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"notifications": self.state}
        if self.state != "off":
            metadata |= {"notifications_sent": self.sent,
                         "notifications_left_for_next_sync": self.left_for_next_sync,
                         "delivery_records_forgotten": self.forgotten}
        if self.failure:
            metadata["last_failure"] = self.failure
        return metadata


def deliver_insight_notifications(sieve: Sieve, org: Organization) -> DeliveryOutcome:
    """Tell the org's webhook, if it has one, what opened and resolved since it was last told."""
    control_plane = sieve.control_plane
    if webhook_status(control_plane, org) is None:
        return DeliveryOutcome("off")
    key = control_plane.org_data_key(org)
    path = org_database_path(sieve.settings.orgs_dir, org.id)
    if not path.exists():
        return DeliveryOutcome("no insights yet")
    with open_store(path, key, read_only=True) as store:
        if not _has_insights(store.connection):
            return DeliveryOutcome("no insights yet")
        episodes = read_episodes(store.connection, bytes.fromhex(key.reveal()),
                                 web_roots(control_plane, org))
    forgotten = forget_deliveries_except(control_plane, org, {e.signal_id for e in episodes})
    pending = pending_notifications(episodes, delivered_events(control_plane, org))
    if not pending:
        return DeliveryOutcome("nothing new", forgotten=forgotten)
    return send_notifications(control_plane, org, pending, forgotten)


def send_notifications(control_plane: ControlPlane, org: Organization,
                       pending: list[Notification], forgotten: int = 0) -> DeliveryOutcome:
    payload_format = webhook_status(control_plane, org).payload_format
    client, path = webhook_client(org.slug, webhook_url(control_plane, org))
    sent = 0
    with client:
        for batch, payload in messages(org.slug, pending, payload_format):
            try:
                post(client, path, payload)
            except WebhookError as failure:
                left = len(pending) - sent
                reason = (f"{failure}; {left} notification{'s' if left != 1 else ''} will be "
                          "sent again at the next sync")
                record_failure(control_plane, org, reason)
                log.warning("Notifications of organization %s not delivered: %s", org.slug,
                            reason)
                return DeliveryOutcome("failed", sent, left, forgotten, reason)
            record_delivered(control_plane, org,
                             [(n.episode.signal_id, n.event) for n in batch])
            sent += len(batch)
    return DeliveryOutcome("delivered", sent, 0, forgotten)


def send_check_message(control_plane: ControlPlane, org: Organization) -> None:
    """Post a test message to the org's webhook now; WebhookError says why it failed."""
    status = webhook_status(control_plane, org)
    if status is None:
        raise ControlPlaneError(f"Notifications of '{org.slug}' are off: turn them on with "
                                f"`sieve notify {org.slug} --webhook-url-env VAR` first.")
    client, path = webhook_client(org.slug, webhook_url(control_plane, org))
    with client:
        post(client, path, check_message_payload(org.slug, status.payload_format))


def forget_person_notifications(control_plane: ControlPlane, org: Organization, connection,
                                key: Secret, person_ids: set[str]) -> int:
    """Delete the delivery records of a person's episodes, read from the insights mart before
    the deletion removes their rows: the count removed."""
    if not person_ids or not _has_insights(connection):
        return 0
    ids = person_signal_ids(connection, bytes.fromhex(key.reveal()), person_ids)
    return forget_deliveries(control_plane, org, ids)


def web_roots(control_plane: ControlPlane, org: Organization) -> dict[str, str]:
    """connection id → web address, for the org's GitHub and GitLab connections."""
    return {connection.id: web_root(connection.source, connection.settings.get("base_url"))
            for connection in control_plane.connections(org)
            if connection.source in DEFAULT_API_ROOTS}


def _has_insights(connection) -> bool:
    """Whether dbt has built the two marts the notifications read (not before a first sync)."""
    return connection.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' "
        "and table_name in ('insights', 'pull_requests')").fetchone()[0] == 2
