"""Validators for conditional requests: ETag / Last-Modified, never bodies.

The caller owns persistence. The client reads validators from the store before a
conditional request, but never writes them: a response exposes its new validators and
the caller commits them only once the data extracted from it is durable, so a crash
between fetch and write cannot make the next sync skip data it never stored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Validators:
    """What to send next time for ``key``: ``If-None-Match`` and ``If-Modified-Since``."""

    key: str
    etag: str | None
    last_modified: str | None


class ValidatorStore(Protocol):
    """Where a connection keeps its validators, keyed by a caller-chosen string."""

    def get(self, key: str) -> tuple[str | None, str | None] | None: ...

    def put(self, key: str, etag: str | None, last_modified: str | None) -> None: ...


class InMemoryValidatorStore:
    """A ``ValidatorStore`` in a dict, for tests and one-off runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str | None, str | None]] = {}

    def get(self, key: str) -> tuple[str | None, str | None] | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, etag: str | None, last_modified: str | None) -> None:
        with self._lock:
            self._entries[key] = (etag, last_modified)
