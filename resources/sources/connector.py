"""What every source connector is: a generator of raw pages, handed on in memory.

A connector never stores anything. ``fetch()`` yields ``RawBatch``es — one page of raw records
of one entity at a time — to the sync engine, which projects them onto the allow-list, upserts
them and only then commits the cursors and HTTP validators the batch carries. So a crash between
fetch and write means the next run fetches the same data again (at least once), and the upserts
by natural key make the stored result the same (exactly once).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from resources.http import ClientStats, ConcurrencyLimits, ErrorContext, Validators
from resources.security.vault import Secret
from resources.sources import connector_class, entity
from resources.sources.allow_list import Entity
from resources.storage.control_plane import ConnectionRecord, ControlPlane, Organization, utc_now
from resources.storage.org_config import OrgConfig

if TYPE_CHECKING:
    from resources.http.client import HttpClient


@dataclass(frozen=True)
class RawBatch:
    """One page of raw records for one entity. ``records`` live only in memory."""

    entity: str
    records: list[dict]
    # Values the API record lacks but the entity declares as "parent:<name>" (the pull
    # request number of a review, the channel of a message…).
    parent: dict = field(default_factory=dict)
    # Stream cursors to advance, and validators to keep, once this batch is durable.
    cursors: dict[str, str] = field(default_factory=dict)
    validators: tuple[Validators, ...] = ()
    # A conditional request answered 304: nothing to extract, the data is unchanged.
    not_modified: bool = False
    # Natural keys (of ``entity``) of items listed but not fetched whole this run (a detail
    # answered 404): they stay pending in the sync state and the next sync fetches them again.
    failed_keys: tuple[tuple, ...] = ()
    # This entity's records under ``parent`` were not all listed (a fetch answered 404): a
    # re-listing takes none of those stored for deleted.
    incomplete: bool = False
    # Records the connector's own walk could not read, as "entity.field: reason" (never a
    # value): counted as refused, like the records extraction refuses.
    refused: tuple[str, ...] = ()


def incomplete_under(parent: dict, *entities: str) -> Iterator[RawBatch]:
    """Empty batches saying that ``parent``'s records of each entity were not all listed."""
    for name in entities:
        yield RawBatch(name, [], parent=parent, incomplete=True)


def retry_pending(state: SyncState, key: str, entity: str,
                  retry: Callable[[Any], Generator[RawBatch, None, bool]],
                  parent: dict | None = None) -> Generator[RawBatch, None, list]:
    """Read again, one by one with ``retry`` (False: it answered 404 again), the items an
    earlier sync could not read, kept as a JSON list under ``key`` in the sync state; then
    clear the list with an empty batch of ``entity``. Returns the items that failed again:
    deleted upstream, they are dropped, and the out-of-date job's reconciliation removes what
    of them is stored."""
    pending = json.loads(state.cursor(key) or "[]")
    if not pending:
        return []
    gone = []
    for item in pending:
        if not (yield from retry(item)):
            gone.append(item)
    yield RawBatch(entity, [], parent=parent or {}, cursors={key: "[]"})
    return gone


class SyncState:
    """A connection's cursors and validators in the control plane (values, never bodies).

    Reads see what was committed before this run; writes go through ``commit`` only.
    Implements the HTTP layer's ``ValidatorStore`` protocol (``put`` is deliberately a no-op
    there: the engine commits validators itself once the data they describe is durable).
    """

    def __init__(self, control_plane: ControlPlane, connection_id: str):
        self._control_plane = control_plane
        self.connection_id = connection_id
        self._cursors = control_plane.sync_state(connection_id, "cursor")
        self._validators = {k: json.loads(v)
                            for k, v in control_plane.sync_state(connection_id, "validator").items()}

    @property
    def control_plane(self) -> ControlPlane:
        return self._control_plane

    def cursor(self, stream: str) -> str | None:
        return self._cursors.get(stream)

    def get(self, key: str) -> tuple[str | None, str | None] | None:
        entry = self._validators.get(key)
        return (entry[0], entry[1]) if entry else None

    def put(self, key: str, etag: str | None, last_modified: str | None) -> None:
        self.commit(validators=(Validators(key, etag, last_modified),))

    def commit(self, cursors: dict[str, str] | None = None,
               validators: tuple[Validators, ...] = ()) -> None:
        if cursors:
            self._control_plane.put_sync_state(self.connection_id, "cursor", cursors)
            self._cursors.update(cursors)
        entries = {v.key: json.dumps([v.etag, v.last_modified]) for v in validators if v}
        if entries:
            self._control_plane.put_sync_state(self.connection_id, "validator", entries)
            self._validators.update({k: json.loads(v) for k, v in entries.items()})


@dataclass
class ConnectorContext:
    """Everything a connector needs for one run of one connection."""

    org_slug: str
    connection: ConnectionRecord
    credentials: dict[str, Secret]
    state: SyncState
    limits: ConcurrencyLimits = field(default_factory=ConcurrencyLimits)
    # The organization's monorepo path rules (resources.storage.org_config.ServiceRule).
    services: tuple = ()
    # The organization's production deploy workflow names (regexes): CI connectors list the
    # runs of those workflows only, the ones the marts read.
    workflow_names: tuple[str, ...] = OrgConfig.production_workflow_names
    # Injected by tests so retries and rate-limit waits do not really sleep; ``clock`` (epoch
    # seconds) then tells the HTTP clients how far those waits have moved time on.
    sleep: Callable[[float], None] | None = None
    clock: Callable[[], float] | None = None

    @property
    def settings(self) -> dict:
        return self.connection.settings

    def error_context(self) -> ErrorContext:
        return ErrorContext(org_slug=self.org_slug, connection_id=self.connection.id)


class Connector(ABC):
    source: ClassVar[str]
    # Allow-list entity names this connector produces (see resources/sources/<source>/schema.py).
    entities: ClassVar[tuple[str, ...]]

    def __init__(self, context: ConnectorContext):
        self.context = context

    @abstractmethod
    def check(self) -> str:
        """One cheap request proving the credentials work; returns a short description of
        what was reached (no personal data). Raises the HTTP layer's errors otherwise."""

    @abstractmethod
    def fetch(self) -> Iterator[RawBatch]:
        """Yield raw pages, one at a time, never holding more than one page."""

    def declared_entity(self, name: str) -> Entity:
        """The allow-list entity records of ``name`` are projected with (a connector overrides
        it when the schema depends on the source, e.g. a Jira site's custom field ids)."""
        return entity(name)

    def http_client(self, base_url: str, auth, *, retry=None, **options) -> HttpClient:
        """An HTTP client for this connection on the shared layer: its source, the connection
        named in errors, the run's concurrency limits, its conditional-request validators and
        (in tests) its sleep and clock; ``options`` are the source's own (headers, timeout...)."""
        from resources.http.client import HttpClient  # the HTTP layer loads requests

        context = self.context
        if context.sleep is not None:
            options.setdefault("sleep", context.sleep)
        if context.clock is not None:
            options.setdefault("clock", context.clock)
        if retry is not None:
            options["retry"] = retry
        return HttpClient(base_url, auth, source=self.source, context=context.error_context(),
                          limits=context.limits, validators=context.state, **options)

    def stats(self) -> ClientStats | None:
        """Request counters of this run: those of the connector's ``client`` (a cached
        property) once a request made it; None before, and for a connector without HTTP."""
        client = self.__dict__.get("client")
        return client.stats if client is not None else None


def check_credentials(control_plane: ControlPlane, org: Organization, source: str,
                      settings: dict, credentials: dict[str, Secret]) -> str:
    """One cheap request with credentials not stored yet: what was reached, or the HTTP
    layer's people-facing error (unreachable host, rejected token, missing scope)."""
    pending = ConnectionRecord(id="new-connection", org_id=org.id, source=source,
                               settings=settings, status="pending", created_at=utc_now(),
                               last_synced_at=None, removed_at=None,
                               credential_fields=tuple(sorted(credentials)))
    context = ConnectorContext(org.slug, pending, credentials,
                               SyncState(control_plane, pending.id))
    from resources.http.client import interactive_budget  # the HTTP layer loads requests

    with interactive_budget():
        return connector_class(source)(context).check()
