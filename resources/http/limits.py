"""Per-source concurrency limits: how many requests may be in flight to one API."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class ConcurrencyLimits:
    """One bounded semaphore per (source, host), sized per source kind.

    Share one instance between every client of a process so that parallel fetches of
    several repositories or channels together stay under the configured maximum.
    """

    def __init__(self, default_max_in_flight: int = 4, per_source: Mapping[str, int] | None = None):
        limits = {"default": default_max_in_flight, **(per_source or {})}
        bad = {name: n for name, n in limits.items() if n < 1}
        if bad:
            raise ValueError(f"concurrency limits must be at least 1, got {bad}")
        self._default = default_max_in_flight
        self._per_source = dict(per_source or {})
        self._lock = threading.Lock()
        self._semaphores: dict[tuple[str, str], threading.BoundedSemaphore] = {}

    def max_in_flight(self, source: str) -> int:
        return self._per_source.get(source, self._default)

    @contextmanager
    def slot(self, source: str, host: str) -> Iterator[None]:
        """Hold one of the in-flight slots for ``source`` at ``host`` while sending."""
        key = (source, host)
        with self._lock:
            semaphore = self._semaphores.get(key)
            if semaphore is None:
                semaphore = threading.BoundedSemaphore(self.max_in_flight(source))
                self._semaphores[key] = semaphore
        with semaphore:
            yield
