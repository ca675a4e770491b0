"""PagerDuty connector: services, users, incidents and the log entries that time them.

Request plan, costs, cursors and known limits: docs/sources/pagerduty.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property

from resources.errors import SieveError
from resources.http import (
    HttpClient,
    NotFoundError,
    PagerDutyToken,
    PaginationStyle,
    RetryPolicy,
)
from resources.sources.connector import Connector, RawBatch
from resources.sources.pagerduty.schema import TIMING_LOG_ENTRY_TYPES

DEFAULT_BASE_URL = "https://api.pagerduty.com"
# PagerDuty's REST API v2 is chosen by the Accept header.
ACCEPT_V2 = "application/vnd.pagerduty+json;version=2"
PAGE_SIZE = 100  # PagerDuty's largest `limit`
# `since`/`until` may span at most six months; a little less keeps clear of month lengths.
WINDOW = timedelta(days=179)
DEFAULT_HISTORY_DAYS = 365
# Re-read this much before a cursor: entries written in the same second as the last one seen.
CURSOR_OVERLAP = timedelta(minutes=5)
# A connection check answers the person running `sieve connect`: it must not wait for long.
CHECK_RETRY = RetryPolicy(max_retries=2, max_total_wait=15.0)


class PagerDutySettingsError(SieveError):
    """The connection's settings name something this PagerDuty account does not show the key."""


class PagerDutyConnector(Connector):
    source = "pagerduty"
    entities = ("pagerduty_services", "pagerduty_users", "pagerduty_incidents",
                "pagerduty_log_entries")

    @cached_property
    def client(self) -> HttpClient:
        return self._new_client(RetryPolicy())

    def _new_client(self, retry: RetryPolicy) -> HttpClient:
        return self.http_client(self.context.settings.get("base_url") or DEFAULT_BASE_URL,
                                PagerDutyToken(self.context.credentials["token"].reveal()),
                                retry=retry, headers={"Accept": ACCEPT_V2})

    def check(self) -> str:
        with self._new_client(CHECK_RETRY) as client:
            page = client.get_json("/services", {"limit": 1}).data
        services = page.get("services") if isinstance(page, dict) else None
        readable = "services" if services else "no services yet"
        return f"PagerDuty at {client.base_url} accepted the API key ({readable} visible)"

    def fetch(self) -> Iterator[RawBatch]:
        yield from self._services()
        for page in self.client.paginate("/users", {"limit": PAGE_SIZE},
                                         style=PaginationStyle.OFFSET_MORE, items_field="users"):
            yield RawBatch("pagerduty_users", page.items)
        yield from self._windowed("incidents", "pagerduty_incidents", self._incident_filters())
        yield from self._windowed("log_entries", "pagerduty_log_entries", {"is_overview": "true"})

    # -- services ------------------------------------------------------------------------------

    def configured_services(self) -> list[str]:
        raw = self.context.settings.get("services") or []
        ids = raw.split(",") if isinstance(raw, str) else raw
        return sorted({service.strip() for service in ids if service.strip()})

    def _services(self) -> Iterator[RawBatch]:
        wanted = self.configured_services()
        if not wanted:
            for page in self.client.paginate("/services", {"limit": PAGE_SIZE},
                                             style=PaginationStyle.OFFSET_MORE,
                                             items_field="services"):
                yield RawBatch("pagerduty_services", page.items)
            return
        for service_id in wanted:
            try:
                answer = self.client.get_json(f"/services/{service_id}").data
            except NotFoundError:
                raise PagerDutySettingsError(
                    f"PagerDuty service {service_id} of {self.context.error_context().describe()}"
                    f" no longer exists or is not visible to the API key at "
                    f"{self.client.base_url}. Re-connect with the services to read: "
                    f"`sieve connect {self.context.org_slug} pagerduty --services ...`."
                ) from None
            yield RawBatch("pagerduty_services", [answer["service"]])

    def _incident_filters(self) -> dict:
        wanted = self.configured_services()
        return {"service_ids[]": wanted, "sort_by": "created_at:asc"} if wanted else {
            "sort_by": "created_at:asc"}

    # -- incidents and log entries, in since/until windows -------------------------------------

    def _windowed(self, stream: str, entity: str, filters: dict) -> Iterator[RawBatch]:
        """Every record created since the stream's cursor (or the history start), window by
        window; the cursor moves to the newest record of each durable page only (never to a
        window's end: the server's clock, not ours, says what "now" is)."""
        cursor = self.context.state.cursor(stream)
        newest = datetime.fromisoformat(cursor) if cursor is not None else None
        for since, until in self._windows(cursor):
            params = {"limit": PAGE_SIZE, "since": _iso(since), **filters}
            if until is not None:
                params["until"] = _iso(until)
            for page in self.client.paginate(f"/{stream}", params,
                                             style=PaginationStyle.OFFSET_MORE,
                                             items_field=stream):
                newest = max(filter(None, [newest, *(_created(item) for item in page.items)]),
                             default=None)  # an empty first page of a first sync
                cursors = {stream: _iso(newest)} if newest is not None else {}
                yield RawBatch(entity, [item for item in page.items if _kept(stream, item)],
                               cursors=cursors)

    def _windows(self, cursor: str | None) -> list[tuple[datetime, datetime | None]]:
        """Windows of at most six months from the resume point; the last one is left open
        (``until`` defaults to now on the server, whose clock is the one that counts)."""
        now = datetime.now(UTC)
        if cursor is not None:
            start = datetime.fromisoformat(cursor) - CURSOR_OVERLAP
        else:
            start = now - timedelta(days=self._history_days())
        windows: list[tuple[datetime, datetime | None]] = []
        while start + WINDOW < now:
            windows.append((start, start + WINDOW))
            start += WINDOW
        windows.append((start, None))
        return windows

    def _history_days(self) -> int:
        raw = str(self.context.settings.get("history_days") or DEFAULT_HISTORY_DAYS)
        if not raw.isdigit() or int(raw) < 1:
            raise PagerDutySettingsError(
                f"history_days of {self.context.error_context().describe()} must be a whole "
                f"number of days, not {raw!r}. Re-connect with "
                f"`sieve connect {self.context.org_slug} pagerduty --history-days 365`."
            )
        return int(raw)


def _kept(stream: str, record: dict) -> bool:
    """Log entries other than trigger, acknowledge and resolve (notes, notifications) are
    never handed on."""
    return stream != "log_entries" or record.get("type") in TIMING_LOG_ENTRY_TYPES


def _created(record: dict) -> datetime:
    return datetime.fromisoformat(record["created_at"]).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
