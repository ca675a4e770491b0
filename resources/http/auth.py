"""Credentials as ``requests`` auth objects that never show their secret.

The secret is added to each outgoing request's headers and nowhere else: not to the
session's default headers (which a redirect to another host would carry along), not to
``repr()``, and not to any message.
"""

from __future__ import annotations

import base64

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
