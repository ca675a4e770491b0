"""Typed errors of the shared HTTP layer, worded for the person running the sync.

Every message names the organization, the connection, the host and the endpoint
(method, path and a query with secret-looking values masked) and says what to do.

What a message may quote from a response, and why: never the body. The only text taken
from a response is a short error code or message that the API itself generates about the
request — GitHub/GitLab ``message`` or ``error``, Jira ``errorMessages[0]``, Slack
``error`` — and only for 4xx answers (see ``api_error_message``). Those describe the
request ("Bad credentials", "missing_scope"), not content a user wrote. Bodies of 2xx and
5xx answers are never quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

from resources.errors import SieveError


@dataclass(frozen=True)
class ErrorContext:
    """Who a request is made for; attached by the connector, quoted in every error."""

    org_slug: str
    connection_id: str

    def describe(self) -> str:
        return f"connection {self.connection_id!r} of organization {self.org_slug!r}"


class SourceRequestError(SieveError):
    """Base of every error the HTTP layer raises; ``str()`` is the whole message."""

    def __init__(
        self,
        message: str,
        *,
        context: ErrorContext | None = None,
        host: str = "",
        endpoint: str = "",
        status: int | None = None,
        api_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.context = context
        self.host = host
        self.endpoint = endpoint
        self.status = status
        self.api_message = api_message


class AuthenticationError(SourceRequestError):
    """The source rejected the connection's credentials (401, Slack ``invalid_auth``...)."""


class PermissionDeniedError(SourceRequestError):
    """The credentials are valid but lack access or a scope for this endpoint (403)."""


class NotFoundError(SourceRequestError):
    """The endpoint or resource does not exist or is hidden from this token (404/410).

    Connectors may catch this for optional endpoints and skip them with a note.
    """


class RateLimitExhaustedError(SourceRequestError):
    """The source's rate limit resets later than this request is allowed to wait."""

    def __init__(self, message: str, *, resets_at: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.resets_at = resets_at


class SourceUnavailableError(SourceRequestError):
    """Connection failures, timeouts or 5xx answers persisted through every retry."""


class SourceUnreachableError(SourceUnavailableError):
    """The host could not be reached at all (connection refused, DNS lookup or TLS failure)
    within the connection's short budget: unlike a 502, retrying for minutes rarely helps."""


class ResponseTooLargeError(SourceRequestError):
    """An answer exceeded the size one response may have; reading stopped at the cap."""


class MalformedResponseError(SourceRequestError):
    """The source kept answering with something that is not the expected JSON, or its
    pagination went in circles."""


class RequestRejectedError(SourceRequestError):
    """Any other 4xx: the request itself was wrong, which is a connector bug."""


class InvalidBaseUrlError(SieveError, ValueError):
    """A configured base URL is unusable (bad scheme, plain http to a remote host...)."""


class CredentialError(SieveError):
    """A service refused to issue or renew a connection's credential (GitHub App JWT, OAuth
    token endpoint), or a stored credential can no longer be used. One sentence of fact, then
    the command that fixes it; never the credential."""


class ReauthRequiredError(CredentialError):
    """The connection must be connected again by a person (the refresh token was used or
    revoked, or a refresh was interrupted): syncing it again cannot help."""
