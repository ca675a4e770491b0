"""Tombstones: keyed hashes of forgotten identifiers, so nothing deleted comes back.

The deletion job writes the hashes of every identifier of a forgotten person into the org's own
database (``retention.tombstones``). Before that — while a sync still holds the database — the
request's ``subject_hash`` in the control plane already stands for the email or login asked
for. Writers check both before every write (``TombstoneCheck.apply``): rows that are the
person's own are dropped, other references to them cleared, mentions in text removed — the
same rules as the deletion itself (``resources.retention.person``). Only hashes are stored,
keyed by the org's data key: meaningless outside the organization, shredded with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial

from resources.retention.person import REMOVED, TablePlan, table_plans
from resources.retention.requests import tombstone_hashes
from resources.retention.subjects import (
    PersonIdentifiers,
    account_identifier,
    identifier_hash,
    normalize_identifier,
    text_tokens,
)
from resources.security.vault import Secret
from resources.storage.control_plane import ControlPlane
from resources.storage.metadata_store import MetadataStore, TableSpec

TOMBSTONE_SCHEMA = "retention"
TOMBSTONES = TableSpec(
    name="tombstones",
    columns=(("identifier_hash", "VARCHAR"), ("request_id", "VARCHAR"),
             ("recorded_at", "TIMESTAMP")),
    key=("identifier_hash",),
)


def record_tombstones(store: MetadataStore, org_key: Secret, person: PersonIdentifiers,
                      request_id: str) -> int:
    store.ensure_tables([TOMBSTONES], schema=TOMBSTONE_SCHEMA)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{"identifier_hash": identifier_hash(org_key, identifier), "request_id": request_id,
             "recorded_at": now} for identifier in sorted(person.tombstone_identifiers())]
    return store.upsert(TOMBSTONES, rows, schema=TOMBSTONE_SCHEMA)


def stored_tombstones(store: MetadataStore) -> set[str]:
    if TOMBSTONES.name not in store.tables(TOMBSTONE_SCHEMA):
        return set()
    return {r[0] for r in store.connection.execute(
        f"SELECT identifier_hash FROM {TOMBSTONE_SCHEMA}.{TOMBSTONES.name}").fetchall()}


@dataclass
class TombstoneCheck:
    """What a sync consults before each write. Cheap when nothing was ever forgotten."""

    control_plane: ControlPlane
    org_id: str
    org_key: Secret
    delink: bool = False
    plans: dict[str, TablePlan] = field(default_factory=table_plans)

    def __post_init__(self) -> None:
        # Logins and ids repeat on every page: hash each distinct value once per sync.
        self._hash = lru_cache(maxsize=65536)(partial(identifier_hash, self.org_key))

    def apply(self, store: MetadataStore, entity: str, rows: list[dict]) -> tuple[list[dict], int]:
        """Rows fit to write, and how many were dropped or changed."""
        hashes = tombstone_hashes(self.control_plane, self.org_id) | stored_tombstones(store)
        plan = self.plans.get(entity)
        if not hashes or plan is None or not rows:
            return rows, 0
        kept, touched = [], 0
        for row in rows:
            cleaned = self._clean(plan, row, hashes)
            if cleaned is not row:
                touched += 1
            if cleaned is not None:
                kept.append(cleaned)
        return kept, touched

    def _forgotten(self, value: object, hashes: set[str], system: str | None = None) -> bool:
        if value is None or value == "":
            return False
        identifier = (account_identifier(system, value) if system
                      else normalize_identifier(value))
        return self._hash(identifier) in hashes

    def _points_at_forgotten(self, plan: TablePlan, ref, row: dict, hashes: set[str]) -> bool:
        if ref.system == "email":
            return self._forgotten(row.get(ref.key), hashes)
        if self._forgotten(row.get(ref.key), hashes, ref.system):
            return True
        return any(self._forgotten(row.get(column), hashes)
                   for column in plan.clearable_columns(ref) if column != ref.key)

    def _clean(self, plan: TablePlan, row: dict, hashes: set[str]) -> dict | None:
        deleting = plan.owners if not self.delink or plan.is_directory else ()
        if any(self._points_at_forgotten(plan, ref, row, hashes) for ref in deleting):
            return None
        cleaned = row
        clearing = plan.others if deleting else plan.owners + plan.others
        for ref in clearing:
            if self._points_at_forgotten(plan, ref, row, hashes):
                cleaned = dict(cleaned) if cleaned is row else cleaned
                cleaned.update({column: None for column in plan.clearable_columns(ref)})
        for column in plan.text_columns:
            text = row.get(column)
            if isinstance(text, str) and self._mentions(text, hashes):
                cleaned = dict(cleaned) if cleaned is row else cleaned
                cleaned[column] = self._redact(text, hashes)
        for column in plan.list_columns:
            items = row.get(column)
            if items and any(self._forgotten(i, hashes) for i in items):
                cleaned = dict(cleaned) if cleaned is row else cleaned
                cleaned[column] = [REMOVED if self._forgotten(i, hashes) else i for i in items]
        return cleaned

    def _mentions(self, text: str, hashes: set[str]) -> bool:
        return any(self._forgotten(token, hashes) for token in text_tokens(text))

    def _redact(self, text: str, hashes: set[str]) -> str:
        for token in sorted(text_tokens(text), key=len, reverse=True):
            if self._forgotten(token, hashes):
                text = _replace_case_insensitive(text, token, REMOVED)
        return text


def _replace_case_insensitive(text: str, needle: str, replacement: str) -> str:
    lowered, result, start = text.lower(), [], 0
    while (index := lowered.find(needle, start)) >= 0:
        result.append(text[start:index] + replacement)
        start = index + len(needle)
    return "".join(result) + text[start:]
