"""Credentials as ``requests`` auth objects that never show their secret.

The secret is added to each outgoing request's headers and nowhere else: not to the
session's default headers (which a redirect to another host would carry along), not to
``repr()``, and not to any message.
"""

from __future__ import annotations

import base64
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from requests.auth import AuthBase


class _SecretAuth(AuthBase):
    """Base for header credentials; subclasses say which header carries what."""

    def __init__(self, secret: str) -> None:
        # Tokens read from files or prompts often end in a newline; anything else that is
        # not printable would make requests raise an error quoting the header, secret included.
        secret = secret.strip()
        if not secret or not all(char.isprintable() and not char.isspace() for char in secret):
            raise ValueError(
                f"{type(self).__name__}: the token is empty or contains spaces or control "
                "characters; check the environment variable or prompt that supplied it"
            )
        self.__secret = secret

    def _apply(self, request: requests.PreparedRequest, secret: str) -> None:
        raise NotImplementedError

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._apply(request, self.__secret)
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    __str__ = __repr__


class BearerToken(_SecretAuth):
    """``Authorization: Bearer <token>`` — GitHub, Slack, GitLab OAuth tokens."""

    def _apply(self, request: requests.PreparedRequest, secret: str) -> None:
        request.headers["Authorization"] = f"Bearer {secret}"


class GitLabPrivateToken(_SecretAuth):
    """``PRIVATE-TOKEN: <token>`` — GitLab personal, project and group access tokens."""

    def _apply(self, request: requests.PreparedRequest, secret: str) -> None:
        request.headers["PRIVATE-TOKEN"] = secret


class PagerDutyToken(_SecretAuth):
    """``Authorization: Token token=<key>`` — PagerDuty REST API keys."""

    def _apply(self, request: requests.PreparedRequest, secret: str) -> None:
        request.headers["Authorization"] = f"Token token={secret}"


class GenieKey(_SecretAuth):
    """``Authorization: GenieKey <key>`` — Opsgenie API integration keys."""

    def _apply(self, request: requests.PreparedRequest, secret: str) -> None:
        request.headers["Authorization"] = f"GenieKey {secret}"


class BasicEmailToken(_SecretAuth):
    """HTTP Basic with ``email:api_token`` — Jira Cloud. The email is shown, not the token."""

    def __init__(self, email: str, token: str) -> None:
        super().__init__(token)
        self.email = email

    def _apply(self, request: requests.PreparedRequest, secret: str) -> None:
        pair = base64.b64encode(f"{self.email}:{secret}".encode()).decode("ascii")
        request.headers["Authorization"] = f"Basic {pair}"

    def __repr__(self) -> str:
        return f"BasicEmailToken(email={self.email!r}, token=<redacted>)"

    __str__ = __repr__


class BasicPassword(BasicEmailToken):
    """HTTP Basic with ``username:password`` — Jira Server and Data Center. The username is
    shown, never the password."""

    def __repr__(self) -> str:
        return f"BasicPassword(username={self.email!r}, password=<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class IssuedToken:
    """An access token a service issued, and when it stops working (epoch seconds; None when
    the service did not say)."""

    value: str = field(repr=False)
    expires_at: float | None = None


# Renew this long before the service's stated expiry, so that a page requested just before
# it never meets an expired token; a token shorter-lived than twice this renews at half-life.
RENEW_MARGIN_SECONDS = 300.0


class RenewingBearerToken(AuthBase):
    """``Authorization: Bearer <token>`` for a token that expires: GitHub App installation
    tokens and OAuth access tokens.

    ``mint(stale)`` returns a fresh token (``stale`` is the one that stopped working, or None);
    it is called before the first request, shortly before the token's stated expiry, and once
    when the service answers 401 — the token may die earlier than it said (revoked, clock
    skew) — after which the request is sent again with the new token. A second 401 is
    returned as it is, so a bad credential fails once instead of looping.
    """

    def __init__(self, mint: Callable[[str | None], IssuedToken], *,
                 clock: Callable[[], float] = time.time) -> None:
        self._mint = mint
        self._clock = clock
        self._lock = threading.Lock()
        self.__token: IssuedToken | None = None
        self.renewals = 0

    def _current(self) -> str:
        with self._lock:
            if self.__token is None or self._expiring(self.__token):
                self._renew(self.__token.value if self.__token else None)
            return self.__token.value

    def _expiring(self, token: IssuedToken) -> bool:
        if token.expires_at is None:
            return False
        left = token.expires_at - self._clock()
        return left <= min(RENEW_MARGIN_SECONDS, max(left, 0) / 2 + 1)

    def _renew(self, stale: str | None) -> None:
        self.__token = self._mint(stale)
        self.renewals += 1

    def _renew_after_rejection(self, rejected: str) -> str:
        with self._lock:
            # Another thread may already have renewed the token this request was sent with.
            if self.__token is None or self.__token.value == rejected:
                self._renew(rejected)
            return self.__token.value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._current()
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", functools.partial(self._on_response, token))
        return request

    def _on_response(self, sent_with: str, response: requests.Response, **send_options):
        if response.status_code != 401 or getattr(response.request, "_sieve_renewed", False):
            return response
        _ = response.content  # read the short error body so the connection can be reused
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self._renew_after_rejection(sent_with)}"
        retry._sieve_renewed = True
        answer = response.connection.send(retry, **send_options)
        answer.history.append(response)
        answer.request = retry
        return answer

    def __repr__(self) -> str:
        return "RenewingBearerToken(<redacted>)"

    __str__ = __repr__
