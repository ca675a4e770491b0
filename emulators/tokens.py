"""Access tokens an emulated service issues: each with an expiry, revocable, and a test knob
that makes every live token expire after a number of further requests (an access token that
dies in the middle of a sync, deterministically)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable


class IssuedTokens:
    def __init__(self, prefix: str, lifetime_seconds: float = 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.prefix = prefix
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._subject: dict[str, str] = {}
        self._lock = threading.Lock()
        self._uses_left: int | None = None
        self.issued = 0

    def issue(self, subject: str) -> tuple[str, float]:
        token = f"{self.prefix}{secrets.token_hex(16)}"
        expires_at = self._clock() + self.lifetime_seconds
        with self._lock:
            self._expiry[token] = expires_at
            self._subject[token] = subject
            self.issued += 1
        return token, expires_at

    def subject(self, token: str) -> str | None:
        """Who the token was issued to, while it is valid; each call is one use of it."""
        with self._lock:
            if self._uses_left is not None:
                if self._uses_left <= 0:
                    self._expiry.clear()
                    self._uses_left = None
                else:
                    self._uses_left -= 1
            expires_at = self._expiry.get(token)
            if expires_at is None or expires_at <= self._clock():
                return None
            return self._subject[token]

    def revoke(self, token: str) -> bool:
        with self._lock:
            return self._expiry.pop(token, None) is not None

    def revoke_subject(self, subject: str) -> None:
        with self._lock:
            for token in [t for t, s in self._subject.items() if s == subject]:
                self._expiry.pop(token, None)

    def expire_after_uses(self, uses: int) -> None:
        """Every token live now or issued before then stops working after ``uses`` more
        authenticated requests (test knob: expiry in the middle of a sync)."""
        with self._lock:
            self._uses_left = uses

    def live(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for expiry in self._expiry.values() if expiry > now)
