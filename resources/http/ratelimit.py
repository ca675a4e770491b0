"""Retry policy, backoff and what the sources' rate-limit headers say about waiting.

Header facts this relies on:
- ``Retry-After``: delta seconds or an HTTP-date (RFC 9110) — GitHub secondary limits,
  GitLab, Jira Cloud and Slack 429s.
- ``x-ratelimit-remaining`` / ``x-ratelimit-reset``: GitHub (reset in epoch seconds) and
  Jira Cloud (reset as an ISO 8601 timestamp).
- ``RateLimit-Remaining`` / ``RateLimit-Reset``: GitLab (reset in epoch seconds) and
  PagerDuty (reset in seconds from now: a value too small to be an epoch time is read so).
- ``X-RateLimit-State: THROTTLED`` with ``X-RateLimit-Period-In-Sec``: Opsgenie's 429, which
  sends no Retry-After; the throttled period is waited out.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Our clock and the server's disagree by a little; waiting this much past a reset
# avoids spending a request that is answered with the same limit again.
RESET_MARGIN_SECONDS = 1.0

# GitHub documents that a secondary limit without Retry-After needs at least a minute.
SECONDARY_LIMIT_WAIT_SECONDS = 60.0

# Epoch values above this are milliseconds (seconds would be past the year 5000).
_EPOCH_MILLIS_THRESHOLD = 100_000_000_000
# Reset values below this (a date in 1973) are seconds from now, as PagerDuty sends them.
_RELATIVE_RESET_THRESHOLD = 100_000_000


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries.

    ``max_retries`` counts attempts after the first. ``max_total_wait`` bounds all waiting
    for one request — backoff, Retry-After and rate-limit resets together; by default it
    covers a full GitHub hourly window so a nightly sync waits out a reset rather than
    failing. ``sieve connect`` checks should pass something short.
    """

    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_total_wait: float = 3900.0

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Exponential delay with jitter in [half, full] of the capped exponential step."""
        step = min(self.backoff_cap, self.backoff_base * 2**retry_number)
        return step / 2 + rng.uniform(0, step / 2)


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _timestamp(value: str) -> float | None:
    """Epoch seconds from epoch seconds/milliseconds, an HTTP-date or ISO 8601."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return number / 1000 if number > _EPOCH_MILLIS_THRESHOLD else number
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta seconds or HTTP-date), or from Opsgenie's
    throttled period, if present."""
    value = _header(headers, "Retry-After")
    if value is None:
        return _throttled_period(headers)
    try:
        return max(0.0, float(value))
    except ValueError:
        moment = _timestamp(value)
    return max(0.0, moment - now) if moment is not None else None


def _throttled_period(headers: Mapping[str, str]) -> float | None:
    if (_header(headers, "X-RateLimit-State") or "").upper() != "THROTTLED":
        return None
    try:
        return max(0.0, float(_header(headers, "X-RateLimit-Period-In-Sec") or ""))
    except ValueError:
        return None


def remaining_requests(headers: Mapping[str, str]) -> int | None:
    value = _header(headers, "x-ratelimit-remaining", "RateLimit-Remaining")
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def reset_time(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """When the current window resets, as epoch seconds, if the source says."""
    value = _header(headers, "x-ratelimit-reset", "RateLimit-Reset")
    moment = _timestamp(value) if value is not None else None
    if moment is not None and moment < _RELATIVE_RESET_THRESHOLD:
        return (time.time() if now is None else now) + moment
    return moment


@dataclass
class _HostLimit:
    exhausted_until: float = 0.0
    blocked_until: float = 0.0


class RateLimitTracker:
    """What every response said about the rate limit, per host.

    One tracker belongs to one set of credentials (a connection): limits are counted per
    token, so clients sharing a token should share a tracker. Before each send the client
    asks ``wait_before_send`` and sleeps that long, so no request goes out while a limit
    is known to be exhausted or a Retry-After is running.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, _HostLimit] = {}

    def observe(self, host: str, headers: Mapping[str, str], now: float | None = None) -> None:
        """Record remaining/reset from any response (success or failure); ``now`` is the
        client's clock, which a reset given in seconds from now counts from."""
        remaining = remaining_requests(headers)
        if remaining is None:
            return
        reset = reset_time(headers, now)
        with self._lock:
            state = self._hosts.setdefault(host, _HostLimit())
            if remaining <= 0 and reset is not None:
                state.exhausted_until = max(state.exhausted_until, reset + RESET_MARGIN_SECONDS)
            elif remaining > 0:
                state.exhausted_until = 0.0

    def block(self, host: str, until: float) -> None:
        """Hold every request to ``host`` until ``until`` (a Retry-After or a reset)."""
        with self._lock:
            state = self._hosts.setdefault(host, _HostLimit())
            state.blocked_until = max(state.blocked_until, until)

    def resume_at(self, host: str) -> float:
        """The earliest time a request to ``host`` may go out (0 when unrestricted)."""
        with self._lock:
            state = self._hosts.get(host)
            return max(state.exhausted_until, state.blocked_until) if state else 0.0
