"""The allow-list's vocabulary: a declared schema per stored entity (docs/architecture.md, rule 2).

Each source declares its entities in ``resources/sources/<source>/schema.py`` with the types
here: an `Entity` names its table, its columns (DuckDB type, where the value comes from in the
raw API record, an optional transform), its natural key and the free-text columns that pass the
PII scrubber. Extraction keeps exactly these columns; every other field is dropped. The
conventions and decisions are in docs/allow-list.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

PARENT_PREFIX = "parent:"

# --- caps: what a stored value may be, whatever the API sent ----------------------------------
# Extraction (resources/sync/normalise.py) holds every value to these; a value past a cap is cut
# or refused per field, never stored as sent (docs/allow-list.md lists them).

# Slack's own limit on a message; every other kept text (titles, names, ids) is far shorter.
MAX_TEXT_CHARS = 40_000
# Labels, reviewers, parents and sprints of one record.
MAX_LIST_ITEMS = 1_000
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
}


# --- transforms: each takes a non-null raw value --------------------------------------------


def utc_timestamp(value: str) -> datetime:
    """ISO-8601 text (any offset, "Z", or Jira's "+0000") as a naive UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def calendar_date(value: str) -> date:
    """A date without a time ("2026-11-30", Jira's due and release dates): no zone to convert."""
    return date.fromisoformat(value)


def utc_offset_minutes(value: str) -> int:
    """The UTC offset of an ISO-8601 timestamp, in minutes (git's "+02:00" is 120)."""
    offset = datetime.fromisoformat(value).utcoffset()
    return int(offset / timedelta(minutes=1)) if offset is not None else 0


def epoch_timestamp(value: str | int | float) -> datetime:
    """Unix seconds (Slack's "1512085950.000216" or an int) as a naive UTC datetime."""
    return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)


def text(value: str | int) -> str:
    """Jira ids are strings in the REST API but numbers in the Agile API (and in some
    older payloads): store them alike so they join."""
    return str(value)


def text_length(value: str) -> int:
    return len(value)


def item_count(value: list) -> int:
    return len(value)


def names(value: list) -> list[str]:
    """Label names: GitHub gives objects with `name`, GitLab plain strings."""
    return [item["name"] if isinstance(item, dict) else item for item in value]


def logins(value: list[dict]) -> list[str]:
    return [user["login"] for user in value]


def usernames(value: list[dict]) -> list[str]:
    return [user["username"] for user in value]


def shas(value: list[dict]) -> list[str]:
    return [parent["sha"] for parent in value]


def reaction_total(value: list[dict]) -> int:
    return sum(reaction.get("count", 0) for reaction in value)


def integer(value: str | int) -> int | None:
    """GitLab's `changes_count` is text and says "1000+" past a limit."""
    digits = str(value).rstrip("+")
    return int(digits) if digits.isdigit() else None


# --- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    source: str
    transform: Callable[[Any], Any] | None = None
    scrub: bool = False

    @property
    def parent_key(self) -> str | None:
        if self.source.startswith(PARENT_PREFIX):
            return self.source[len(PARENT_PREFIX):]
        return None


# eq=False: entities are compared and hashed by identity, which keeps the per-entity
# projection plan cache in resources.sync.extraction a cheap dictionary lookup.
@dataclass(frozen=True, eq=False)
class Entity:
    name: str
    system: str
    endpoint: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    refuse: Callable[[Mapping, Mapping], bool] | None = None
    description: str = ""
    scrubbed_columns: tuple[str, ...] = field(init=False)
    parent_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names_ = [column.name for column in self.columns]
        duplicates = {name for name in names_ if names_.count(name) > 1}
        if duplicates:
            raise ValueError(f"entity {self.name}: duplicate columns {sorted(duplicates)}")
        if "connection_id" in names_:
            raise ValueError(f"entity {self.name}: connection_id is added to every table, "
                             "do not declare it")
        unknown = set(self.natural_key) - set(names_)
        if unknown:
            raise ValueError(f"entity {self.name}: natural key names unknown {sorted(unknown)}")
        object.__setattr__(
            self, "scrubbed_columns", tuple(c.name for c in self.columns if c.scrub)
        )
        object.__setattr__(
            self, "parent_keys", tuple(c.parent_key for c in self.columns if c.parent_key)
        )

    @property
    def table(self) -> str:
        return self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return ("connection_id", *(column.name for column in self.columns))

    @property
    def primary_key(self) -> tuple[str, ...]:
        return ("connection_id", *self.natural_key)


def col(
    name: str,
    type_: str,
    source: str | None = None,
    transform: Callable[[Any], Any] | None = None,
    *,
    scrub: bool = False,
) -> Column:
    return Column(name, type_, source or name, transform, scrub)


def ts(name: str, source: str | None = None) -> Column:
    return col(name, "TIMESTAMP", source, utc_timestamp)


def parent(name: str, type_: str) -> Column:
    return col(name, type_, PARENT_PREFIX + name)


# --- where people appear ----------------------------------------------------------------------


@dataclass(frozen=True)
class PersonColumns:
    """One person reference in one table: the account key column, and optional login, email
    and name columns beside it."""

    table: str
    system: str
    key: str
    login: str | None = None
    email: str | None = None
    name: str | None = None
    bot: str | None = None  # a SQL boolean expression over the row

    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.key, self.login, self.email, self.name) if c)
