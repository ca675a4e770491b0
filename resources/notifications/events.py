"""What an organization's webhook is told: the insights mart's episodes that opened, or closed
after their opening was told, and the fields each notification carries.

A notification names what the signal is about — kind, severity, repository, number, team, the
evidence numbers and a link — and never a person: a person's signal says only that it is about
one person (and their team), not who, so no identifier leaves Sieve for a chat tool whose
history Sieve cannot erase.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

OPENED = "opened"
RESOLVED = "resolved"

EPISODES_SQL = """
select signal_key, kind, severity, subject_type, subject, repository, number, team, metric,
    observed_value, threshold_value, direction, first_seen_at, resolved_at
from marts.insights
"""
# Where each repository's pull requests come from, for links: (repository, source, connection).
REPOSITORY_SOURCES_SQL = """
select distinct repository, source, split_part(pull_request_key, ':', 2) as connection_id
from marts.pull_requests
"""


@dataclass(frozen=True)
class Episode:
    """One row of marts.insights: a signal from the build that first saw it to the one that no
    longer did. ``signal_id`` is opaque (see ``signal_id``)."""

    signal_id: str
    kind: str
    severity: str
    subject_type: str
    subject: str
    repository: str | None
    number: int | None
    team: str | None
    metric: str | None
    observed_value: float | None
    threshold_value: float | None
    direction: str
    first_seen_at: datetime
    resolved_at: datetime | None
    link: str | None = None


@dataclass(frozen=True)
class Notification:
    event: str  # OPENED | RESOLVED
    episode: Episode


def signal_id(org_key: bytes, signal_key: str, first_seen_at: datetime) -> str:
    """An episode's id in the control plane: keyed by the org's data key, so a person's id
    cannot be recovered or matched from it without the org's database, and shredded with it."""
    message = f"{signal_key}\x00{first_seen_at.isoformat()}".encode()
    return hmac.new(org_key, message, hashlib.sha256).hexdigest()[:32]


def read_episodes(connection: duckdb.DuckDBPyConnection, org_key: bytes,
                  web_roots: dict[str, str]) -> list[Episode]:
    """Every episode of the insights mart, with a link where its repository's host is known.
    ``web_roots`` maps a connection id to its web address (``web_root``)."""
    links = repository_links(connection, web_roots)
    episodes = []
    for row in connection.execute(EPISODES_SQL).fetchall():
        (key, kind, severity, subject_type, subject, repository, number, team, metric,
         observed, threshold, direction, first_seen_at, resolved_at) = row
        episodes.append(Episode(
            signal_id(org_key, key, first_seen_at), kind, severity, subject_type, subject,
            repository, number, team, metric, observed, threshold, direction, first_seen_at,
            resolved_at, link_of(links.get(repository), number)))
    return episodes


def person_signal_ids(connection: duckdb.DuckDBPyConnection, org_key: bytes,
                      person_ids: set[str]) -> set[str]:
    """The ids of every episode about one of these people (as its subject or its person_id)."""
    listed = ", ".join("'" + person.replace("'", "''") + "'" for person in sorted(person_ids))
    rows = connection.execute(
        f"select signal_key, first_seen_at from marts.insights where person_id in ({listed}) "
        f"or (subject_type = 'person' and subject in ({listed}))").fetchall()
    return {signal_id(org_key, key, first_seen_at) for key, first_seen_at in rows}


def repository_links(connection: duckdb.DuckDBPyConnection,
                     web_roots: dict[str, str]) -> dict[str, tuple[str, str]]:
    """repository → (source, its web address), for repositories with pull requests."""
    found = {}
    for repository, source, connection_id in connection.execute(
            REPOSITORY_SOURCES_SQL).fetchall():
        root = web_roots.get(connection_id)
        if root is not None:
            found[repository] = (source, f"{root}/{repository}")
    return found


def link_of(repository: tuple[str, str] | None, number: int | None) -> str | None:
    if repository is None:
        return None
    source, address = repository
    if number is None:
        return address
    return f"{address}/-/merge_requests/{number}" if source == "gitlab" else \
        f"{address}/pull/{number}"


# A connection made without --base-url talks to the public service.
DEFAULT_API_ROOTS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com"}


def web_root(source: str, base_url: str | None) -> str:
    """The web address of a GitHub or GitLab connection's API root (github.com for
    api.github.com; an Enterprise Server's host without /api/v3)."""
    root = (base_url or DEFAULT_API_ROOTS[source]).rstrip("/")
    if source == "github":
        if root == "https://api.github.com":
            return "https://github.com"
        return root.removesuffix("/api/v3")
    return root.removesuffix("/api/v4")


def pending_notifications(episodes: list[Episode],
                          delivered: set[tuple[str, str]]) -> list[Notification]:
    """What the webhook has not been told yet: each open episode once (most severe, then the
    newest first), then each closed episode whose opening it was told, once. An episode that
    opened and closed before any delivery succeeded is not told at all."""
    opened = [e for e in episodes
              if e.resolved_at is None and (e.signal_id, OPENED) not in delivered]
    opened.sort(key=lambda e: (e.severity != "severe", -e.first_seen_at.timestamp(), e.kind,
                               e.subject))
    resolved = [e for e in episodes
                if e.resolved_at is not None and (e.signal_id, OPENED) in delivered
                and (e.signal_id, RESOLVED) not in delivered]
    resolved.sort(key=lambda e: (e.resolved_at, e.kind, e.subject))
    return ([Notification(OPENED, e) for e in opened]
            + [Notification(RESOLVED, e) for e in resolved])


def notification_fields(notification: Notification) -> dict[str, Any]:
    """The fields of one notification as the generic JSON payload carries them. A person's
    signal carries neither their person_id nor a name: only that it is about one person."""
    episode = notification.episode
    about_a_person = episode.subject_type == "person"
    return {
        "event": notification.event,
        "signal_id": episode.signal_id,
        "kind": episode.kind,
        "severity": episode.severity,
        "subject_type": episode.subject_type,
        "subject": None if about_a_person else episode.subject,
        "repository": episode.repository,
        "number": episode.number,
        "team": episode.team,
        "metric": episode.metric,
        "observed_value": episode.observed_value,
        "threshold_value": episode.threshold_value,
        "direction": episode.direction,
        "first_seen_at": episode.first_seen_at.isoformat(),
        "resolved_at": episode.resolved_at.isoformat() if episode.resolved_at else None,
        "link": episode.link,
    }
