"""Holds each extracted value to its declared DuckDB type and to the allow-list's caps.

An API can send anything: a lone surrogate, a NUL in a title, ``comments={"x": 1}``,
``additions=10**30``, a 10 MB title. Each value is checked against its column's type and caps
(``resources.sources.allow_list``): text loses NUL characters and invalid Unicode and is cut at
``MAX_TEXT_CHARS``; a number outside its type's range or a value of the wrong kind is dropped
(stored as NULL). Every change is reported as a reason that names the problem, never the value,
so that reasons can go to logs and Dagster metadata.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from resources.sources.allow_list import INTEGER_RANGES, MAX_LIST_ITEMS, MAX_TEXT_CHARS

# A normaliser returns the value to store (None when the value is refused) and why it changed
# (None when it did not).
Normaliser = Callable[[Any], tuple[Any, str | None]]


def wrong_type(value: Any) -> str:
    return f"wrong type ({type(value).__name__})"


def clean_text(value: str) -> tuple[str, str | None]:
    """Text without NUL characters or invalid Unicode (lone surrogates), cut at the cap."""
    reasons = []
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "ignore").decode("utf-8")
            reasons.append("invalid Unicode removed")
    if "\x00" in value:
        value = value.replace("\x00", "")
        reasons.append("NUL characters removed")
    if len(value) > MAX_TEXT_CHARS:
        value = value[:MAX_TEXT_CHARS]
        reasons.append(f"longer than {MAX_TEXT_CHARS} characters, cut")
    return value, "; ".join(reasons) or None


def text_value(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        # What DuckDB's cast would have made of a number sent where text is declared.
        return clean_text(str(value))
    return None, wrong_type(value)


def integer_value(type_: str) -> Normaliser:
    low, high = INTEGER_RANGES[type_]

    def normalise(value: Any) -> tuple[int | None, str | None]:
        if isinstance(value, bool):
            return None, wrong_type(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 24:
            value = int(value)
        if not isinstance(value, int):
            return None, wrong_type(value)
        if not low <= value <= high:
            return None, f"out of range for {type_}"
        return value, None

    return normalise


def double_value(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, wrong_type(value)
    try:
        number = float(value)
    except OverflowError:
        return None, "out of range for DOUBLE"
    return (number, None) if math.isfinite(number) else (None, "not a finite number")


def boolean_value(value: Any) -> tuple[bool | None, str | None]:
    return (value, None) if isinstance(value, bool) else (None, wrong_type(value))


def timestamp_value(value: Any) -> tuple[datetime | None, str | None]:
    return (value, None) if isinstance(value, datetime) else (None, wrong_type(value))


def date_value(value: Any) -> tuple[date | None, str | None]:
    return (value, None) if isinstance(value, date) else (None, wrong_type(value))


def list_of(item: Normaliser) -> Normaliser:
    def normalise(value: Any) -> tuple[list | None, str | None]:
        if not isinstance(value, list):
            return None, wrong_type(value)
        reasons = []
        if len(value) > MAX_LIST_ITEMS:
            value = value[:MAX_LIST_ITEMS]
            reasons.append(f"more than {MAX_LIST_ITEMS} items, cut")
        items = []
        for element in value:
            kept, reason = item(element)
            if kept is None:
                return None, f"an item of {wrong_type(element)}"
            items.append(kept)
            if reason and reason not in reasons:
                reasons.append(reason)
        return items, "; ".join(reasons) or None

    return normalise


_BY_TYPE: dict[str, Normaliser] = {
    "VARCHAR": text_value,
    "DOUBLE": double_value,
    "BOOLEAN": boolean_value,
    "TIMESTAMP": timestamp_value,
    "DATE": date_value,
    **{type_: integer_value(type_) for type_ in INTEGER_RANGES},
}


def normaliser_for(type_: str) -> Normaliser:
    """The normaliser of a declared DuckDB column type (``VARCHAR[]`` is a list of VARCHAR)."""
    if type_.endswith("[]"):
        return list_of(normaliser_for(type_[:-2]))
    try:
        return _BY_TYPE[type_]
    except KeyError:
        raise ValueError(f"no normaliser for the column type {type_}; add one to "
                         "resources/sync/normalise.py") from None
