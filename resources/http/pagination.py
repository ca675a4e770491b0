"""Page objects and how each API says where the next page is.

Supported styles:
- ``GITHUB``: ``Link: <...>; rel="next"``; body is a JSON list (or ``items_field`` of an
  object, e.g. ``workflow_runs``).
- ``GITLAB``: ``Link rel="next"``, else the ``X-Next-Page`` header; body is a JSON list.
- ``JIRA_SEARCH``: ``/rest/api/3/search`` ``startAt``/``maxResults``/``total`` (items in
  ``issues``), and the newer ``/search/jql`` ``nextPageToken``/``isLast``.
- ``JIRA_AGILE``: Agile and changelog lists, ``startAt``/``isLast`` (items in ``values``).
- ``SLACK``: ``response_metadata.next_cursor`` sent back as ``cursor``; items in the
  method's list field, which the caller names (``channels``, ``messages``, ``members``).
- ``OFFSET_MORE``: ``offset``/``limit`` with a ``more`` flag (PagerDuty); items in the field
  the caller names (``incidents``, ``log_entries``…).
- ``PAGING_NEXT``: the next page's URL in ``paging.next`` (Opsgenie); items in ``data``.
- ``NEXT_LINK``: the next page's URL in the body's ``next`` (Bitbucket Cloud); items in
  ``values``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from resources.http.conditional import Validators


class PaginationStyle(enum.Enum):
    GITHUB = "github"
    GITLAB = "gitlab"
    JIRA_SEARCH = "jira_search"
    JIRA_AGILE = "jira_agile"
    SLACK = "slack"
    OFFSET_MORE = "offset_more"
    PAGING_NEXT = "paging_next"
    NEXT_LINK = "next_link"
    AZURE_DEVOPS = "azure_devops"  # the x-ms-continuationtoken header
    TOP_SKIP = "top_skip"  # OData $top/$skip: a full page means another may follow
    # Azure DevOps streamed batches: continuationToken in the body, until isLastBatch.
    AZURE_DEVOPS_BATCH = "azure_devops_batch"


_DEFAULT_ITEMS_FIELD = {
    PaginationStyle.JIRA_SEARCH: "issues",
    PaginationStyle.JIRA_AGILE: "values",
    PaginationStyle.PAGING_NEXT: "data",
    PaginationStyle.NEXT_LINK: "values",
    PaginationStyle.AZURE_DEVOPS: "value",
    PaginationStyle.TOP_SKIP: "value",
    PaginationStyle.AZURE_DEVOPS_BATCH: "values",
}


@dataclass(frozen=True)
class Page:
    """One page of a listing, handed over before the next one is fetched.

    ``path`` is the URL path only (no query). ``not_modified`` is true when a conditional
    first page came back 304: ``items`` is then empty and the listing should be skipped.
    ``validators`` are set only on a conditional first page answered 200; commit them
    with ``HttpClient.commit_validators`` once the listing's data is durable.
    """

    items: list[Any]
    path: str
    status: int
    not_modified: bool
    bytes_received: int
    validators: Validators | None
    number: int
    # Where the listing resumes after this page, when the answer names it (an Azure DevOps
    # batch's continuationToken, a watermark to keep as a cursor); None otherwise.
    resume_token: str | None = None


@dataclass(frozen=True)
class PageRequest:
    """Where a page lives: a URL plus params (``None`` when the URL carries the query)."""

    url: str
    params: Mapping[str, Any] | None = None

    def identity(self) -> str:
        """The full URL with params in a fixed order, to recognise a repeated request."""
        parts = urlsplit(self.url)
        pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
        pairs += sorted((str(k), str(v)) for k, v in (self.params or {}).items() if v is not None)
        return urlunsplit(parts._replace(query=urlencode(pairs), fragment=""))

    def with_param(self, name: str, value: Any) -> PageRequest:
        if self.params is None:
            parts = urlsplit(self.url)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            return PageRequest(urlunsplit(parts._replace(query="")), {**params, name: value})
        return PageRequest(self.url, {**self.params, name: value})


class PageShapeError(Exception):
    """A 200 page whose JSON is not shaped as its style requires (the client reports it)."""


def items_field_for(style: PaginationStyle, items_field: str | None) -> str | None:
    field = items_field or _DEFAULT_ITEMS_FIELD.get(style)
    if style in (PaginationStyle.SLACK, PaginationStyle.OFFSET_MORE) and field is None:
        raise ValueError(f"{style.value} pagination needs items_field, e.g. 'channels' or "
                         "'incidents'")
    return field


def page_items(payload: Any, items_field: str | None) -> list[Any]:
    """The page's list: the payload itself, or ``payload[items_field]``."""
    if items_field is None:
        if not isinstance(payload, list):
            raise PageShapeError("expected a JSON list")
        return payload
    items = payload.get(items_field) if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise PageShapeError(f"expected a JSON object with a list in {items_field!r}")
    return items


def resume_token(style: PaginationStyle, payload: Any) -> str | None:
    """The watermark a page's answer names for resuming after it (streamed batches only)."""
    if style is not PaginationStyle.AZURE_DEVOPS_BATCH or not isinstance(payload, dict):
        return None
    token = payload.get("continuationToken")
    return token if isinstance(token, str) and token else None


def next_request(
    style: PaginationStyle,
    current: PageRequest,
    payload: Any,
    items: list[Any],
    headers: Mapping[str, str],
    links: Mapping[str, Mapping[str, str]],
) -> PageRequest | None:
    """The request for the page after ``current``, or ``None`` at the end."""
    if style in (PaginationStyle.GITHUB, PaginationStyle.GITLAB):
        link = links.get("next", {}).get("url")
        if link:
            return PageRequest(link)
        next_page = (headers.get("X-Next-Page") or "").strip()
        if style is PaginationStyle.GITLAB and next_page:
            return current.with_param("page", next_page)
        return None
    if style is PaginationStyle.SLACK:
        metadata = payload.get("response_metadata") or {}
        cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        return current.with_param("cursor", cursor) if cursor else None
    if style is PaginationStyle.OFFSET_MORE:
        return _offset_next(current, payload, items)
    if style is PaginationStyle.AZURE_DEVOPS:
        token = (headers.get("x-ms-continuationtoken") or "").strip()
        return current.with_param("continuationToken", token) if token else None
    if style is PaginationStyle.TOP_SKIP:
        return _top_skip_next(current, items)
    if style is PaginationStyle.AZURE_DEVOPS_BATCH:
        token = resume_token(style, payload)
        if payload.get("isLastBatch") is True or not token:
            return None
        return current.with_param("continuationToken", token)
    if style is PaginationStyle.PAGING_NEXT:
        paging = payload.get("paging") or {}
        link = paging.get("next") if isinstance(paging, dict) else None
        return PageRequest(link) if isinstance(link, str) and link else None
    if style is PaginationStyle.NEXT_LINK:
        link = payload.get("next")
        return PageRequest(link) if isinstance(link, str) and link else None
    return _jira_next(current, payload, items)


def _offset_next(current: PageRequest, payload: dict, items: list[Any]) -> PageRequest | None:
    # An empty page ends the walk whatever ``more`` says: advancing by zero would repeat it.
    if payload.get("more") is not True or not items:
        return None
    offset = payload.get("offset")
    if not isinstance(offset, int):
        offset = int((current.params or {}).get("offset", 0))
    return current.with_param("offset", offset + len(items))


def _top_skip_next(current: PageRequest, items: list[Any]) -> PageRequest | None:
    """OData ``$top``/``$skip`` (Azure DevOps pull requests): nothing says whether more follow,
    so the next page is asked for after a full one; an empty or short page ends the walk."""
    params = current.params or {}
    top = params.get("$top")
    if top is None:
        raise ValueError("top_skip pagination needs $top in the params")
    if not items or len(items) < int(top):
        return None
    # By $top, not by what came: a server repeating items must not make the walk skip any.
    return current.with_param("$skip", int(params.get("$skip") or 0) + int(top))


def _jira_next(current: PageRequest, payload: dict, items: list[Any]) -> PageRequest | None:
    is_last = payload.get("isLast")
    if is_last is True:
        return None
    token = payload.get("nextPageToken")
    if token:
        return current.with_param("nextPageToken", token)
    # An empty page ends the walk even if total disagrees: Jira's totals are estimates
    # when issues move while we page, and advancing by zero would repeat the request.
    if not items:
        return None
    start = payload.get("startAt")
    if not isinstance(start, int):
        start = int((current.params or {}).get("startAt", 0))
    following = start + len(items)
    total = payload.get("total")
    if is_last is None and not (isinstance(total, int) and following < total):
        return None
    return current.with_param("startAt", following)


class Deduplicator:
    """Drops items whose key was already seen during one listing walk.

    Servers repeat items across pages when data shifts between page requests (a new
    item pushes the last one of page 1 onto page 2). Only the keys are kept in memory.
    """

    def __init__(self, key: Callable[[Any], Hashable]) -> None:
        self._key = key
        self._seen: set[Hashable] = set()
        self.duplicates = 0

    def fresh(self, items: Iterable[Any]) -> list[Any]:
        """The items not seen before, in order; remembers their keys."""
        kept = []
        for item in items:
            key = self._key(item)
            if key in self._seen:
                self.duplicates += 1
                continue
            self._seen.add(key)
            kept.append(item)
        return kept
