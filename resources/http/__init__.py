"""The shared HTTP layer of every API connector (GitHub, GitLab, Jira, Slack, PagerDuty…).

Typical use by a connector::

    client = HttpClient(
        base_url, BearerToken(token), source="github",
        context=ErrorContext(org_slug="acme", connection_id="c-42"),
        validators=store, limits=shared_limits,
    )
    for page in client.paginate("/repos/acme/app/pulls", {"state": "all", "per_page": 100},
                                style=PaginationStyle.GITHUB):
        ...  # extract page.items, then drop them

    client.stats.as_metadata()  # counts for the raw asset's MaterializeResult

What a connector author must know:
- Paths are relative to the base URL (which may carry a prefix such as ``/api/v3``);
  absolute URLs are accepted only on the base URL's own origin.
- GET, and ``post_json`` for GraphQL. Put no secret in ``params``: credentials travel in headers via
  ``auth``, and urllib3's own DEBUG log prints query strings.
- Catch ``NotFoundError`` around optional endpoints and skip them with a note; let every
  other ``SourceRequestError`` propagate: its message is written for the operator.
- Conditional requests: pass ``conditional_key`` (unique within the connection); after the
  data is durable call ``client.commit_validators(page.validators)``. For listings this
  conditions the first page only, so use it on listings sorted most recently updated first.
- Duplicates across pages are possible (data shifts while paging); the natural-key upsert
  absorbs them, or use ``Deduplicator`` where counting matters.
"""

from resources.http.auth import (
    BasicEmailToken,
    BearerToken,
    GenieKey,
    GitLabPrivateToken,
    PagerDutyToken,
)
from resources.http.client import ClientStats, HttpClient, JsonResponse
from resources.http.conditional import InMemoryValidatorStore, Validators, ValidatorStore
from resources.http.errors import (
    AuthenticationError,
    ErrorContext,
    InvalidBaseUrlError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitExhaustedError,
    RequestRejectedError,
    ResponseTooLargeError,
    SourceRequestError,
    SourceUnavailableError,
    SourceUnreachableError,
)
from resources.http.limits import ConcurrencyLimits
from resources.http.pagination import Deduplicator, Page, PaginationStyle
from resources.http.ratelimit import RateLimitTracker, RetryPolicy
from resources.http.urls import validate_base_url

__all__ = [
    "AuthenticationError",
    "BasicEmailToken",
    "BearerToken",
    "ClientStats",
    "ConcurrencyLimits",
    "Deduplicator",
    "ErrorContext",
    "GenieKey",
    "GitLabPrivateToken",
    "HttpClient",
    "InMemoryValidatorStore",
    "InvalidBaseUrlError",
    "JsonResponse",
    "MalformedResponseError",
    "NotFoundError",
    "Page",
    "PagerDutyToken",
    "PaginationStyle",
    "PermissionDeniedError",
    "RateLimitExhaustedError",
    "RateLimitTracker",
    "RequestRejectedError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SourceRequestError",
    "SourceUnavailableError",
    "SourceUnreachableError",
    "ValidatorStore",
    "Validators",
    "validate_base_url",
]
