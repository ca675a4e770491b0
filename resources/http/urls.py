"""Base-URL validation and secret-free descriptions of request URLs."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from resources.http.errors import InvalidBaseUrlError

# Query parameters whose names look like they could carry a credential are masked in
# every message. Our auth travels in headers, but a server's next link or a caller's
# params could still put one in the query.
_SECRET_PARAM_MARKERS = ("token", "secret", "password", "passwd", "key", "sig", "auth", "code")
MASK = "***"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str) -> str:
    """Return ``url`` normalised (no trailing slash) or raise ``InvalidBaseUrlError``.

    https is required, except for loopback hosts (localhost, 127.0.0.0/8, ::1) where plain
    http is accepted so local emulators work. Credentials, queries and fragments in the
    URL are refused: secrets belong in the vault, not in a URL that ends up in messages.
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    # Messages show scheme and host only, so a password in the URL is never echoed.
    shown = urlunsplit((parts.scheme, host, "", "", ""))
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidBaseUrlError(
            f"base URL {shown!r} is not an http(s) URL with a host; "
            "give one like https://api.example.com"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidBaseUrlError(
            f"base URL {shown!r} embeds credentials; remove them and pass the token "
            "through --token-env instead"
        )
    if parts.query or parts.fragment:
        raise InvalidBaseUrlError(f"base URL {shown!r} must not carry a query or fragment")
    if parts.scheme == "http" and not _is_loopback(host):
        raise InvalidBaseUrlError(
            f"base URL {shown!r} uses plain http:// to a non-loopback host; use https:// "
            "(plain http is accepted only for localhost, 127.0.0.0/8 and ::1)"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and explicit-or-default port: what must match before credentials go."""
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


def masked_query(query: str | Mapping[str, Any] | None) -> str:
    """The query string with values of secret-looking parameters replaced by ``***``."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else [
        (str(name), str(value)) for name, value in query.items() if value is not None
    ]
    shown = [
        (name, MASK if any(m in name.lower() for m in _SECRET_PARAM_MARKERS)
         or name.lower() in _PERSON_PARAMS else value)
        for name, value in pairs
    ]
    return urlencode(shown, safe="*:/,")


# Path segments after these name a person (GitHub /users/{login}, GitLab /users/{id}); query
# parameters with these names carry one (Jira accountId, Slack user). Errors and logs can reach
# the Dagster event log, which must never hold a person's identifier (docs/architecture.md,
# rule 6).
_PERSON_PATH_SEGMENTS = frozenset({"users", "user", "members"})
_PERSON_PARAMS = frozenset({"user", "username", "login", "accountid", "account_id", "email",
                            "query", "author", "assignee"})


def redacted_path(path: str) -> str:
    segments = path.split("/")
    shown = []
    for index, segment in enumerate(segments):
        after_person = index > 0 and segments[index - 1].lower() in _PERSON_PATH_SEGMENTS
        shown.append("{person}" if (after_person and segment) or "@" in segment else segment)
    return "/".join(shown)


def describe_endpoint(method: str, url: str, params: Mapping[str, Any] | None = None) -> str:
    """``"GET /repos/o/r/pulls?state=all"``: method, path and masked query, never a host, a
    secret or a person's identifier."""
    parts = urlsplit(url)
    query = "&".join(q for q in (masked_query(parts.query), masked_query(params)) if q)
    return f"{method} {redacted_path(parts.path or '/')}" + (f"?{query}" if query else "")
