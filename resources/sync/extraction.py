"""Projects raw API records onto the allow-listed schemas of `resources.sources`.

One raw record (a dict exactly as the API returned it) becomes one row holding only the
declared columns, with free text passed through the PII scrubber. Everything else in the
record is dropped here, in memory; nothing of the raw record is logged or put in an
exception message.

Usage from a connector, page by page (no accumulation)::

    scrubber = PiiScrubber()            # once per process
    reviews = entity("github_pull_request_reviews")
    for page in pages:
        rows = project_many(reviews, page, connection_id, scrubber,
                            parent={"repository_id": repo_id, "pull_number": number})
        ...  # upsert `rows` by `reviews.primary_key`

`entity.parent_keys` names what `parent` must hold; `docs/allow-list.md` lists every column.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from resources.errors import SieveError
from resources.sources import entity as entity_named
from resources.sources.allow_list import Entity
from resources.sync.normalise import Normaliser, normaliser_for

_NOT_SCRUBBED, _SCRUB_TEXT, _SCRUB_LIST = 0, 1, 2
_NO_PARENT: Mapping[str, Any] = {}


class Scrubber(Protocol):
    def scrub(self, text: str | None) -> str | None: ...


class ExtractionError(SieveError, ValueError):
    """A connector called extraction wrongly. The message names entity and column, never
    values. (A malformed record is not an error: it is refused or normalised, see ``project``.)"""


# Why fields were refused or normalised, by "entity.column: reason" (never a value); the sync
# engine reports these counts as the summary's refusals.
Refusals = Counter

# (column name, value getter, transform, normaliser, scrub mode)
_Step = tuple[str, Callable[[Mapping, Mapping], Any], Callable[[Any], Any] | None, Normaliser, int]
# Weak keys: site-specific entities (jira_issues_entity) come and go with their connections.
_plans: weakref.WeakKeyDictionary[Entity, tuple[_Step, ...]] = weakref.WeakKeyDictionary()
# Errors a transform or a refusal rule may raise on a record of an unexpected shape.
_UNREADABLE = (TypeError, ValueError, KeyError, AttributeError, IndexError, ArithmeticError)
RECORD = "(record)"


def project(
    entity: Entity | str,
    raw_record: Mapping,
    connection_id: str,
    scrubber: Scrubber,
    parent: Mapping[str, Any] | None = None,
    refusals: Refusals | None = None,
) -> dict[str, Any] | None:
    """The allow-listed row for one raw record, or None when the record must not be stored.

    `parent` supplies the values an entity declares as "parent:<name>" (for example the
    pull request number of a review); `entity.parent_keys` lists them. A value that does not
    fit its column (wrong kind, out of range, unreadable) is stored as NULL, text is cleaned
    and capped (resources/sync/normalise.py); a record whose natural key does not survive that
    is refused. Each change is counted in `refusals` by entity, column and reason.
    """
    entity = _resolve(entity)
    parent = parent if parent is not None else _NO_PARENT
    _check_parent(entity, parent)
    return _project(entity, _plan(entity), raw_record, connection_id, scrubber, parent,
                    refusals if refusals is not None else Counter())


def project_many(
    entity: Entity | str,
    raw_records: Iterable[Mapping],
    connection_id: str,
    scrubber: Scrubber,
    parent: Mapping[str, Any] | None = None,
    refusals: Refusals | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows for a stream of raw records, lazily, skipping refused records."""
    entity = _resolve(entity)
    parent = parent if parent is not None else _NO_PARENT
    _check_parent(entity, parent)
    plan = _plan(entity)
    refusals = refusals if refusals is not None else Counter()
    for raw_record in raw_records:
        row = _project(entity, plan, raw_record, connection_id, scrubber, parent, refusals)
        if row is not None:
            yield row


def _project(
    entity: Entity,
    plan: tuple[_Step, ...],
    raw: Mapping,
    connection_id: str,
    scrubber: Scrubber,
    parent: Mapping,
    refusals: Refusals,
) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        refusals[f"{entity.name}.{RECORD}: not a JSON object, record refused"] += 1
        return None
    if entity.refuse is not None and _refused_by_rule(entity, raw, parent, refusals):
        return None
    row: dict[str, Any] = {"connection_id": connection_id}
    for name, get, transform, normalise, scrub_mode in plan:
        value, reason = _cell(raw, parent, get, transform, normalise)
        if reason is not None:
            refusals[f"{entity.name}.{name}: {reason}"] += 1
        if value is not None:
            if scrub_mode == _SCRUB_TEXT:
                value = scrubber.scrub(value)
            elif scrub_mode == _SCRUB_LIST:
                value = [scrubber.scrub(item) for item in value]
        row[name] = value
    for key in entity.natural_key:
        if row[key] is None:
            refusals[f"{entity.name}.{key}: no usable key value, record refused"] += 1
            return None
    return row


def _cell(raw: Mapping, parent: Mapping, get, transform, normalise: Normaliser
          ) -> tuple[Any, str | None]:
    """One column's value and why it was changed. Only the error's type name is kept: its
    message may quote the raw value."""
    failure = None
    try:
        value = get(raw, parent)
        if value is not None and transform is not None:
            value = transform(value)
    except _UNREADABLE as error:
        failure = type(error).__name__
    if failure is not None:
        return None, f"unreadable ({failure})"
    if value is None:
        return None, None
    return normalise(value)


def _refused_by_rule(entity: Entity, raw: Mapping, parent: Mapping, refusals: Refusals) -> bool:
    """The entity's own refusal rule (a private channel, a direct message); a record the rule
    cannot read is refused too."""
    failure = None
    try:
        return bool(entity.refuse(raw, parent))
    except _UNREADABLE as error:
        failure = type(error).__name__
    refusals[f"{entity.name}.{RECORD}: unreadable by its refusal rule ({failure}), "
             "record refused"] += 1
    return True


def _resolve(entity: Entity | str) -> Entity:
    return entity_named(entity) if isinstance(entity, str) else entity


def _check_parent(entity: Entity, parent: Mapping) -> None:
    missing = [key for key in entity.parent_keys if key not in parent]
    if missing:
        raise ExtractionError(
            f"{entity.name}: the caller must pass parent values {missing} "
            f"(parent={{{', '.join(repr(k) + ': ...' for k in entity.parent_keys)}}})"
        )


def _plan(entity: Entity) -> tuple[_Step, ...]:
    plan = _plans.get(entity)
    if plan is None:
        plan = tuple(
            (
                column.name,
                _getter(column.source, column.parent_key),
                column.transform,
                normaliser_for(column.type),
                (_SCRUB_LIST if column.type.endswith("[]") else _SCRUB_TEXT)
                if column.scrub
                else _NOT_SCRUBBED,
            )
            for column in entity.columns
        )
        _plans[entity] = plan
    return plan


def _getter(source: str, parent_key: str | None) -> Callable[[Mapping, Mapping], Any]:
    """A function reading one declared source; specialised by depth because it runs per cell."""
    if parent_key is not None:
        return lambda raw, parent: parent[parent_key]
    keys = source.split(".")
    if len(keys) == 1:
        (key,) = keys
        return lambda raw, parent: raw.get(key)
    if len(keys) == 2:
        first, second = keys

        def get_two(raw: Mapping, parent: Mapping) -> Any:
            inner = raw.get(first)
            return inner.get(second) if isinstance(inner, dict) else None

        return get_two

    def get_path(raw: Mapping, parent: Mapping) -> Any:
        value: Any = raw
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get_path
