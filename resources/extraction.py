"""Projects raw API records onto the allow-listed schemas of `resources.schemas`.

One raw record (a dict exactly as the API returned it) becomes one row holding only the
declared columns, with free text passed through the PII scrubber. Everything else in the
record is dropped here, in memory; nothing of the raw record is logged or put in an
exception message.

Usage from a connector, page by page (no accumulation)::

    scrubber = PiiScrubber()            # once per process
    reviews = entity("github_pull_request_reviews")
    for page in pages:
        rows = project_many(reviews, page, connection_id, scrubber,
                            parent={"repository_id": repo_id, "pull_number": number})
        ...  # upsert `rows` by `reviews.primary_key`

`entity.parent_keys` names what `parent` must hold; `docs/allow-list.md` lists every column.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import cycle, islice
from typing import Any, Protocol

from resources.errors import SieveError
from resources.schemas import Entity, entity as entity_named

_NOT_SCRUBBED, _SCRUB_TEXT, _SCRUB_LIST = 0, 1, 2
_NO_PARENT: Mapping[str, Any] = {}


class Scrubber(Protocol):
    def scrub(self, text: str | None) -> str | None: ...


class ExtractionError(SieveError, ValueError):
    """A raw record cannot be projected. The message names entity and column, never values."""


# (column name, value getter, transform, scrub mode)
_Step = tuple[str, Callable[[Mapping, Mapping], Any], Callable[[Any], Any] | None, int]
# Weak keys: site-specific entities (jira_issues_entity) come and go with their connections.
_plans: weakref.WeakKeyDictionary[Entity, tuple[_Step, ...]] = weakref.WeakKeyDictionary()


def project(
    entity: Entity | str,
    raw_record: Mapping,
    connection_id: str,
    scrubber: Scrubber,
    parent: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The allow-listed row for one raw record, or None when the record must not be stored.

    `parent` supplies the values an entity declares as "parent:<name>" (for example the
    pull request number of a review); `entity.parent_keys` lists them.
    """
    entity = _resolve(entity)
    parent = parent if parent is not None else _NO_PARENT
    _check_parent(entity, parent)
    return _project(entity, _plan(entity), raw_record, connection_id, scrubber, parent)


def project_many(
    entity: Entity | str,
    raw_records: Iterable[Mapping],
    connection_id: str,
    scrubber: Scrubber,
    parent: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows for a stream of raw records, lazily, skipping refused records."""
    entity = _resolve(entity)
    parent = parent if parent is not None else _NO_PARENT
    _check_parent(entity, parent)
    plan = _plan(entity)
    for raw_record in raw_records:
        row = _project(entity, plan, raw_record, connection_id, scrubber, parent)
        if row is not None:
            yield row


def _project(
    entity: Entity,
    plan: tuple[_Step, ...],
    raw: Mapping,
    connection_id: str,
    scrubber: Scrubber,
    parent: Mapping,
) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        raise ExtractionError(
            f"{entity.name}: expected a JSON object per record, got {type(raw).__name__}"
        )
    if entity.refuse is not None and entity.refuse(raw, parent):
        return None
    row: dict[str, Any] = {"connection_id": connection_id}
    name = ""
    failure = None
    try:
        for name, get, transform, scrub_mode in plan:
            value = get(raw, parent)
            if value is not None:
                if transform is not None:
                    value = transform(value)
                if scrub_mode == _SCRUB_TEXT:
                    value = scrubber.scrub(value)
                elif scrub_mode == _SCRUB_LIST:
                    value = [scrubber.scrub(item) for item in value]
            row[name] = value
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        failure = type(error).__name__
    if failure is not None:
        # Raised outside the handler so the original exception, whose message may quote the
        # raw value, is not chained to this one.
        raise ExtractionError(
            f"{entity.name}: cannot read column {name!r} ({failure}); "
            "the record does not have the shape of the API this entity declares"
        )
    for key in entity.natural_key:
        if row[key] is None:
            raise ExtractionError(
                f"{entity.name}: record has no value for key column {key!r}; it cannot be "
                "stored idempotently (truncated or malformed API response?)"
            )
    return row


def _resolve(entity: Entity | str) -> Entity:
    return entity_named(entity) if isinstance(entity, str) else entity


def _check_parent(entity: Entity, parent: Mapping) -> None:
    missing = [key for key in entity.parent_keys if key not in parent]
    if missing:
        raise ExtractionError(
            f"{entity.name}: the caller must pass parent values {missing} "
            f"(parent={{{', '.join(repr(k) + ': ...' for k in entity.parent_keys)}}})"
        )


def _plan(entity: Entity) -> tuple[_Step, ...]:
    plan = _plans.get(entity)
    if plan is None:
        plan = tuple(
            (
                column.name,
                _getter(column.source, column.parent_key),
                column.transform,
                (_SCRUB_LIST if column.type.endswith("[]") else _SCRUB_TEXT)
                if column.scrub
                else _NOT_SCRUBBED,
            )
            for column in entity.columns
        )
        _plans[entity] = plan
    return plan


def _getter(source: str, parent_key: str | None) -> Callable[[Mapping, Mapping], Any]:
    """A function reading one declared source; specialised by depth because it runs per cell."""
    if parent_key is not None:
        return lambda raw, parent: parent[parent_key]
    keys = source.split(".")
    if len(keys) == 1:
        (key,) = keys
        return lambda raw, parent: raw.get(key)
    if len(keys) == 2:
        first, second = keys

        def get_two(raw: Mapping, parent: Mapping) -> Any:
            inner = raw.get(first)
            return inner.get(second) if isinstance(inner, dict) else None

        return get_two

    def get_path(raw: Mapping, parent: Mapping) -> Any:
        value: Any = raw
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get_path


def bench_extraction(n: int = 100_000) -> float:
    """Records per CPU second through `project_many`, scrubbing included, on one core.

    The records are synthetic API-shaped GitHub pull requests, Jira issues and Slack
    messages with a realistic share of digits (and a little PII) in their text. CPU time
    rather than wall time, so that other work on the machine does not skew the figure.
    """
    from resources.pii import PiiScrubber

    scrubber = PiiScrubber()
    workloads = _benchmark_workloads()
    per_workload = max(1, n // len(workloads))
    projected = 0
    started = time.process_time()
    for entity_name, parent, records in workloads:
        stream = islice(cycle(records), per_workload)
        for _row in project_many(entity_name, stream, "bench-connection", scrubber, parent):
            projected += 1
    return projected / (time.process_time() - started)


_BENCH_TITLES = (
    "Fix flaky login test",
    "ABC-{n}: add retry to the uploader",
    "Bump requests from 2.31.0 to 2.32.{n}",
    "Release v1.{n}.0",
    'Revert "Fix cache invalidation" (#{n})',
    "Refactor billing service for tenant {n}",
    "Docs: explain the deploy process",
    "Handle timeouts from gateway 10.0.{n_octet}.1 (call +1 415 555 2671 for access)",
)
_BENCH_MESSAGES = (
    "deploy of build {n} finished at 14:05 UTC :rocket:",
    "<@U024BE7LH> can you review https://github.com/acme/web/pull/{n}?",
    "lunch?",
    "standup moved to 10:30 tomorrow",
    "ping me on 020 7946 0958 if the pager fires again",
)


def _bench_text(templates: tuple[str, ...], n: int) -> str:
    return templates[n % len(templates)].format(n=n, n_octet=n % 250)


def _benchmark_workloads() -> list[tuple[str, dict, list[dict]]]:
    def user(n: int) -> dict:
        return {"login": f"dev{n % 50}", "id": 1000 + n % 50, "node_id": f"U_{n % 50}",
                "type": "User", "site_admin": False, "avatar_url": "https://example.test/a.png",
                "url": "https://api.example.test/users/dev", "html_url": "https://example.test/dev"}

    repo = {"id": 42, "name": "web", "full_name": "acme/web", "private": False, "owner": user(0),
            "description": "the product", "fork": False, "default_branch": "main"}
    pulls = [
        {
            "id": 5_000_000 + n, "node_id": f"PR_{n}", "number": n, "state": "closed",
            "locked": False, "title": _bench_text(_BENCH_TITLES, n),
            "user": user(n), "body": "Long description with a canary and code\n" * 20,
            "labels": [{"id": 1, "name": "bug", "color": "f00"}], "milestone": None,
            "active_lock_reason": None, "created_at": "2024-01-05T10:30:00Z",
            "updated_at": "2024-01-06T11:00:00Z", "closed_at": "2024-01-06T11:00:00Z",
            "merged_at": "2024-01-06T11:00:00Z", "merge_commit_sha": "a" * 40,
            "assignee": None, "assignees": [user(n + 1)], "requested_reviewers": [user(n + 2)],
            "requested_teams": [], "head": {"ref": f"feature/{n}", "sha": "b" * 40,
                                            "user": user(n), "repo": repo},
            "base": {"ref": "main", "sha": "c" * 40, "user": user(0), "repo": repo},
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
            "_links": {"self": {"href": "https://api.example.test/x"}},
        }
        for n in range(1, 401)
    ]
    issues = [
        {
            "id": str(10_000 + n), "key": f"ABC-{n}", "self": "https://jira.example.test/x",
            "fields": {
                "summary": _bench_text(_BENCH_TITLES, n + 3),
                "description": {"type": "doc", "content": []},
                "project": {"id": "10000", "key": "ABC"},
                "issuetype": {"id": "10001", "name": "Story", "subtask": False,
                              "hierarchyLevel": 0},
                "status": {"id": "3", "name": "In Progress",
                           "statusCategory": {"key": "indeterminate"}},
                "priority": {"name": "Medium"}, "labels": ["backend"],
                "parent": {"key": "ABC-1", "fields": {"issuetype": {"name": "Epic"}}},
                "customfield_10016": 3.0, "customfield_10020": [{"id": 7, "name": "Sprint 7"}],
                "assignee": {"accountId": f"acc-{n % 30}"},
                "reporter": {"accountId": "acc-1"}, "creator": {"accountId": "acc-1"},
                "created": "2024-01-05T10:30:00.000+0000",
                "updated": "2024-01-06T10:30:00.000+0000", "resolutiondate": None,
            },
        }
        for n in range(1, 401)
    ]
    messages = [
        {
            "type": "message", "user": f"U{n % 40:08d}", "ts": f"{1_704_450_600 + n}.000{n:03d}",
            "text": _bench_text(_BENCH_MESSAGES, n),
            "reply_count": n % 3, "reply_users_count": n % 2,
            "reactions": [{"name": "tada", "users": ["U1"], "count": 2}],
            "blocks": [{"type": "rich_text", "elements": []}],
        }
        for n in range(1, 401)
    ]
    return [
        ("github_pull_requests", {}, pulls),
        ("jira_issues", {}, issues),
        ("slack_messages", {"channel_id": "C0123456"}, messages),
    ]
