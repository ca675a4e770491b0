"""Opsgenie connector: teams, services, users, incidents with their alerts, and alerts.

Request plan, costs, cursors and known limits: docs/sources/opsgenie.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property

from resources.errors import SieveError
from resources.http import (
    GenieKey,
    HttpClient,
    NotFoundError,
    PaginationStyle,
    RetryPolicy,
)
from resources.sources.connector import Connector, RawBatch, incomplete_under, retry_pending

DEFAULT_BASE_URL = "https://api.opsgenie.com"
PAGE_SIZE = 100  # Opsgenie's largest `limit`
DEFAULT_HISTORY_DAYS = 365
# Re-read this much before a cursor: records updated in the same second as the last one seen.
CURSOR_OVERLAP = timedelta(minutes=5)
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)
# Incidents whose alert links answered 404 (deleted, or not yet visible): asked again next sync.
PENDING_LINKS = "pending:incident_alerts"

log = logging.getLogger(__name__)


class OpsgenieSettingsError(SieveError):
    """The connection's settings cannot be used as given."""


class OpsgenieConnector(Connector):
    source = "opsgenie"
    entities = ("opsgenie_teams", "opsgenie_services", "opsgenie_users", "opsgenie_incidents",
                "opsgenie_incident_alerts", "opsgenie_alerts")

    @cached_property
    def client(self) -> HttpClient:
        return self._new_client(RetryPolicy())

    def _new_client(self, retry: RetryPolicy) -> HttpClient:
        return self.http_client(self.context.settings.get("base_url") or DEFAULT_BASE_URL,
                                GenieKey(self.context.credentials["api_key"].reveal()),
                                retry=retry)

    def check(self) -> str:
        with self._new_client(CHECK_RETRY) as client:
            page = client.get_json("/v1/services", {"limit": 1}).data
        services = page.get("data") if isinstance(page, dict) else None
        readable = "services" if services else "no services yet"
        return f"Opsgenie at {client.base_url} accepted the API key ({readable} visible)"

    def fetch(self) -> Iterator[RawBatch]:
        # Teams come on one page (no paging section), the other listings on several.
        for path, entity in (("/v2/teams", "opsgenie_teams"),
                             ("/v1/services", "opsgenie_services"),
                             ("/v2/users", "opsgenie_users")):
            params = {} if entity == "opsgenie_teams" else {"limit": PAGE_SIZE}
            for page in self.client.paginate(path, params, style=PaginationStyle.PAGING_NEXT):
                yield RawBatch(entity, page.items)
        yield from self._changed("incidents", "/v1/incidents", "opsgenie_incidents")
        yield from self._changed("alerts", "/v2/alerts", "opsgenie_alerts")

    # -- incidents and alerts, by update time -------------------------------------------------

    def _changed(self, stream: str, path: str, entity: str) -> Iterator[RawBatch]:
        """Every record updated since the stream's cursor (or the history start), least
        recently updated first, so a record updated during the walk moves to its end rather
        than being skipped; the cursor moves to the newest update of each durable page."""
        cursor = self.context.state.cursor(stream)
        seen = datetime.fromisoformat(cursor) if cursor is not None else None
        newest = seen
        pending: set[str] = set()
        if stream == "incidents":
            # The alert links an earlier sync could not read, first.
            yield from retry_pending(self.context.state, PENDING_LINKS, "opsgenie_incidents",
                                     self._associated_alerts)
        params = {"query": f"updatedAt>{_millis(self._start(seen))}", "sort": "updatedAt",
                  "order": "asc", "limit": PAGE_SIZE}
        for page in self.client.paginate(path, params, style=PaginationStyle.PAGING_NEXT):
            missing = []
            if stream == "incidents":
                for incident in page.items:
                    if seen is None or _updated(incident) >= seen:
                        if not (yield from self._associated_alerts(incident["id"])):
                            missing.append(incident["id"])
            newest = max(filter(None, [newest, *(_updated(item) for item in page.items)]),
                         default=None)  # an empty first page of a first sync
            cursors = {stream: newest.isoformat()} if newest is not None else {}
            if missing:
                pending.update(missing)
                cursors[PENDING_LINKS] = json.dumps(sorted(pending))
            yield RawBatch(entity, page.items, cursors=cursors,
                           failed_keys=tuple((incident_id,) for incident_id in missing))

    def _associated_alerts(self, incident_id: str) -> Generator[RawBatch, None, bool]:
        """The alerts of one incident, before the incident itself is durable: a rerun after a
        crash reads the incident's page, and so its alerts, again. False when the incident
        answers 404 (deleted since it was listed, or not visible yet)."""
        try:
            for page in self.client.paginate(
                    f"/v1/incidents/{incident_id}/associated-alert-ids", {"limit": PAGE_SIZE},
                    style=PaginationStyle.PAGING_NEXT):
                yield RawBatch("opsgenie_incident_alerts",
                               [{"id": alert_id} for alert_id in page.items],
                               parent={"incident_id": incident_id})
        except NotFoundError:
            log.info("Opsgenie incident %s answered 404 for its alerts; kept pending",
                     incident_id)
            yield from incomplete_under({"incident_id": incident_id}, "opsgenie_incident_alerts")
            return False
        return True

    def _start(self, seen: datetime | None) -> datetime:
        if seen is not None:
            return seen - CURSOR_OVERLAP
        raw = str(self.context.settings.get("history_days") or DEFAULT_HISTORY_DAYS)
        if not raw.isdigit() or int(raw) < 1:
            raise OpsgenieSettingsError(
                f"history_days of {self.context.error_context().describe()} must be a whole "
                f"number of days, not {raw!r}. Re-connect with "
                f"`sieve connect {self.context.org_slug} opsgenie --history-days 365`."
            )
        return datetime.now(UTC) - timedelta(days=int(raw))


def _updated(record: dict) -> datetime:
    return datetime.fromisoformat(record["updatedAt"]).astimezone(UTC)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
