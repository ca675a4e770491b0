"""An organization's insight notifications in the control plane: its webhook (the URL sealed in
the vault, like a connection's credentials) and the events already delivered to it.

No webhook row means notifications are off, which is the default. Delivered events are kept
as opaque signal ids (``resources.notifications.events.signal_id``) and an event name, never a
subject, and only while the insights mart still holds the episode they name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from resources.security.vault import Secret, SecretBinding, open_secret, seal
from resources.storage.control_plane import (
    WEBHOOK_URL_FIELD,
    ControlPlane,
    Organization,
    as_utc,
    utc_now,
)
from resources.storage.control_plane.schema import notification_deliveries, notification_webhooks

PAYLOAD_FORMATS = ("slack", "json")


@dataclass(frozen=True)
class WebhookStatus:
    """What may be shown about an org's webhook: everything but its URL."""

    payload_format: str
    enabled_at: datetime
    enabled_by: str
    last_delivered_at: datetime | None
    last_failed_at: datetime | None
    last_failure: str | None


def _binding(org: Organization) -> SecretBinding:
    return SecretBinding(org.id, "-", WEBHOOK_URL_FIELD)


def set_webhook(control_plane: ControlPlane, org: Organization, url: Secret,
                payload_format: str, actor: str) -> None:
    """Turn notifications on (or replace the webhook): the URL is sealed, never stored plain.
    A new URL may be a new channel, so what the old one was sent is forgotten."""
    if payload_format not in PAYLOAD_FORMATS:
        raise ValueError(f"payload format {payload_format!r} is not one of {PAYLOAD_FORMATS}")
    sealed = seal(control_plane.key_provider(), _binding(org), url.reveal())
    with control_plane.transaction() as conn:
        conn.execute(delete(notification_deliveries)
                     .where(notification_deliveries.c.org_id == org.id))
        conn.execute(delete(notification_webhooks)
                     .where(notification_webhooks.c.org_id == org.id))
        conn.execute(notification_webhooks.insert().values(
            org_id=org.id, payload_format=payload_format, url_sealed=sealed,
            enabled_at=utc_now(), enabled_by=actor))


def turn_off(control_plane: ControlPlane, org: Organization) -> bool:
    """Wipe the sealed URL and what was delivered; False when notifications were already off."""
    with control_plane.transaction() as conn:
        conn.execute(delete(notification_deliveries)
                     .where(notification_deliveries.c.org_id == org.id))
        return conn.execute(delete(notification_webhooks).where(
            notification_webhooks.c.org_id == org.id)).rowcount > 0


def webhook_status(control_plane: ControlPlane, org: Organization) -> WebhookStatus | None:
    """None when notifications are off. Needs no key: the URL stays sealed."""
    with control_plane.engine.connect() as conn:
        row = conn.execute(select(notification_webhooks)
                           .where(notification_webhooks.c.org_id == org.id)).first()
    if row is None:
        return None
    return WebhookStatus(row.payload_format, as_utc(row.enabled_at), row.enabled_by,
                         as_utc(row.last_delivered_at), as_utc(row.last_failed_at),
                         row.last_failure)


def webhook_url(control_plane: ControlPlane, org: Organization) -> Secret:
    with control_plane.engine.connect() as conn:
        sealed = conn.execute(select(notification_webhooks.c.url_sealed).where(
            notification_webhooks.c.org_id == org.id)).scalar_one()
    return open_secret(control_plane.key_provider(), _binding(org), sealed)


def delivered_events(control_plane: ControlPlane, org: Organization) -> set[tuple[str, str]]:
    """(signal id, event) of every event already delivered to the org's webhook."""
    with control_plane.engine.connect() as conn:
        rows = conn.execute(select(notification_deliveries.c.signal_id,
                                   notification_deliveries.c.event)
                            .where(notification_deliveries.c.org_id == org.id))
        return {(row.signal_id, row.event) for row in rows}


def record_delivered(control_plane: ControlPlane, org: Organization,
                     events: Iterable[tuple[str, str]]) -> None:
    """Record events the webhook accepted, and the delivery, in one transaction."""
    now = utc_now()
    with control_plane.transaction() as conn:
        for signal, event in events:
            conn.execute(notification_deliveries.insert().values(
                org_id=org.id, signal_id=signal, event=event, delivered_at=now))
        conn.execute(update(notification_webhooks)
                     .where(notification_webhooks.c.org_id == org.id)
                     .values(last_delivered_at=now, last_failure=None))


def record_failure(control_plane: ControlPlane, org: Organization, reason: str) -> None:
    """``reason`` must not hold the URL (``resources.notifications.webhook`` words it)."""
    with control_plane.transaction() as conn:
        conn.execute(update(notification_webhooks)
                     .where(notification_webhooks.c.org_id == org.id)
                     .values(last_failed_at=utc_now(), last_failure=reason))


def forget_deliveries_except(control_plane: ControlPlane, org: Organization,
                             kept_signals: set[str]) -> int:
    """Drop what was delivered about episodes the insights mart no longer holds (data past
    retention, a forgotten person's): the count removed."""
    with control_plane.engine.connect() as conn:
        stored = {row.signal_id for row in conn.execute(
            select(notification_deliveries.c.signal_id)
            .where(notification_deliveries.c.org_id == org.id))}
    return forget_deliveries(control_plane, org, stored - kept_signals)


def forget_deliveries(control_plane: ControlPlane, org: Organization, signals: set[str]) -> int:
    """Drop what was delivered about these episodes: the count of records removed."""
    gone = sorted(signals)
    removed = 0
    with control_plane.transaction() as conn:
        for chunk in range(0, len(gone), 500):
            removed += conn.execute(delete(notification_deliveries).where(
                (notification_deliveries.c.org_id == org.id)
                & notification_deliveries.c.signal_id.in_(gone[chunk:chunk + 500]))).rowcount
    return removed
