"""Deletion requests in the control plane.

A request carries opaque ids only into Dagster: its own id (``del_…``), the org id, and for a
person request by email or login the subject kept *sealed* (envelope-encrypted under the KEK)
until the deletion is verified, then wiped. ``subject_hash`` is the subject's keyed hash under
the org key: an early tombstone that a running sync honours before the deletion job gets hold
of the org's database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from resources.retention.subjects import identifier_hash, normalize_identifier
from resources.security.vault import Secret, SecretBinding, open_secret, seal
from resources.storage.control_plane import (
    ControlPlane,
    ControlPlaneError,
    Organization,
    as_utc,
    new_id,
    utc_now,
)
from resources.storage.control_plane.schema import deletion_requests, organizations

SCOPES = ("organization", "connection", "person", "out_of_date")
# A person request whose subject named nobody ends as NOTHING_MATCHED, not "done": nothing was
# erased, and the person who asked must hear so (a mistyped login looks like a done erasure).
NOTHING_MATCHED = "nothing_matched"
FINISHED_STATUSES = ("done", NOTHING_MATCHED)
PERSON_SUBJECT_KINDS = ("email", "login", "person")
SUBJECT_FIELD = "deletion-subject"
MAX_GRACE_DAYS = 30


@dataclass(frozen=True)
class DeletionRequest:
    id: str
    org_id: str
    scope: str
    subject_kind: str
    subject_ref: str | None
    status: str
    requested_at: datetime
    not_before: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    certificate: dict | None
    has_sealed_subject: bool

    def due(self, now: datetime) -> bool:
        return self.status == "pending" and (self.not_before is None or self.not_before <= now)


def _request(row) -> DeletionRequest:
    return DeletionRequest(
        row.id, row.org_id, row.scope, row.subject_kind, row.subject_ref, row.status,
        as_utc(row.requested_at), as_utc(row.not_before), as_utc(row.started_at),
        as_utc(row.completed_at), json.loads(row.certificate) if row.certificate else None,
        row.subject_sealed is not None)


def _binding(org_id: str, request_id: str) -> SecretBinding:
    return SecretBinding(org_id, request_id, SUBJECT_FIELD)


def record_request(control_plane: ControlPlane, org: Organization, scope: str, *,
                   subject_kind: str, subject: Secret | None = None,
                   subject_ref: str | None = None, not_before: datetime | None = None,
                   request_id: str | None = None) -> DeletionRequest:
    """Record a pending request and return at once; the retention sensors carry it out.

    ``subject`` (an email or login) is sealed; ``subject_ref`` is an opaque id (person,
    connection, organization) and is stored as is.
    """
    if scope not in SCOPES:
        raise ControlPlaneError(f"Unknown deletion scope '{scope}'; one of {', '.join(SCOPES)}.")
    if org.status == "deleted":
        raise ControlPlaneError(f"Organization '{org.slug}' is already deleted: nothing of it "
                                "is left to remove.")
    request_id = request_id or new_id("del")
    sealed = subject_hash = None
    if subject is not None:
        normalized = normalize_identifier(subject.reveal())
        if not normalized:
            raise ControlPlaneError(f"An empty {subject_kind} cannot be forgotten.")
        sealed = seal(control_plane.key_provider(), _binding(org.id, request_id), normalized)
        subject_hash = identifier_hash(control_plane.org_data_key(org), normalized)
    with control_plane.transaction() as conn:
        conn.execute(deletion_requests.insert().values(
            id=request_id, org_id=org.id, scope=scope, subject_kind=subject_kind,
            subject_ref=subject_ref, subject_sealed=sealed, subject_hash=subject_hash,
            status="pending", requested_at=utc_now(), not_before=not_before))
    return get_request(control_plane, request_id)


def get_request(control_plane: ControlPlane, request_id: str) -> DeletionRequest:
    with control_plane.engine.connect() as conn:
        row = conn.execute(select(deletion_requests)
                           .where(deletion_requests.c.id == request_id)).first()
    if row is None:
        raise ControlPlaneError(f"No deletion request '{request_id}'. `sieve deletions` lists "
                                "them.")
    return _request(row)


def list_requests(control_plane: ControlPlane, *, org_id: str | None = None,
                  scopes: tuple[str, ...] | None = None,
                  statuses: tuple[str, ...] | None = None) -> list[DeletionRequest]:
    query = select(deletion_requests).order_by(deletion_requests.c.requested_at,
                                               deletion_requests.c.id)
    if org_id is not None:
        query = query.where(deletion_requests.c.org_id == org_id)
    if scopes:
        query = query.where(deletion_requests.c.scope.in_(scopes))
    if statuses:
        query = query.where(deletion_requests.c.status.in_(statuses))
    with control_plane.engine.connect() as conn:
        return [_request(r) for r in conn.execute(query)]


def open_subject(control_plane: ControlPlane, request: DeletionRequest) -> Secret | None:
    """The sealed subject (email or login), or None once wiped or when there never was one."""
    with control_plane.engine.connect() as conn:
        sealed = conn.execute(select(deletion_requests.c.subject_sealed)
                              .where(deletion_requests.c.id == request.id)).scalar_one()
    if sealed is None:
        return None
    return open_secret(control_plane.key_provider(), _binding(request.org_id, request.id), sealed)


def tombstone_hashes(control_plane: ControlPlane, org_id: str) -> set[str]:
    """Early tombstones: keyed hashes of the subjects of the org's person requests."""
    with control_plane.engine.connect() as conn:
        rows = conn.execute(select(deletion_requests.c.subject_hash).where(
            (deletion_requests.c.org_id == org_id) & (deletion_requests.c.scope == "person")
            & deletion_requests.c.subject_hash.is_not(None)))
        return {r.subject_hash for r in rows}


def mark_running(control_plane: ControlPlane, request_id: str) -> None:
    with control_plane.transaction() as conn:
        conn.execute(update(deletion_requests).where(deletion_requests.c.id == request_id)
                     .values(status="running", started_at=utc_now()))


def mark_finished(control_plane: ControlPlane, request_id: str, certificate: dict, *,
                  verified: bool, matched: bool = True) -> None:
    """Store the certificate. Once verified, the sealed subject is wiped (the SQLite control
    plane zeroes it in the file: secure_delete); its tombstone hash stays, so a later sync
    that brings the subject in still drops them."""
    status = "failed" if not verified else "done" if matched else NOTHING_MATCHED
    values = {"status": status, "completed_at": utc_now(),
              "certificate": json.dumps(certificate, sort_keys=True)}
    if verified:
        values["subject_sealed"] = None
    with control_plane.transaction() as conn:
        conn.execute(update(deletion_requests).where(deletion_requests.c.id == request_id)
                     .values(**values))


def mark_pending(control_plane: ControlPlane, request_id: str) -> None:
    """Back to the queue (the org's database was busy); the sensor launches it again."""
    with control_plane.transaction() as conn:
        conn.execute(update(deletion_requests).where(deletion_requests.c.id == request_id)
                     .values(status="pending", started_at=None))


def terminate_organization(control_plane: ControlPlane, org: Organization, *,
                           grace_days: int = MAX_GRACE_DAYS) -> DeletionRequest:
    """Account termination: the org stops syncing now and is purged when the grace period ends
    (never more than 30 days later), by a request the termination sensor launches then."""
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise ControlPlaneError(f"--grace-days must be between 0 and {MAX_GRACE_DAYS} (the data "
                                f"protection statement promises removal within "
                                f"{MAX_GRACE_DAYS} days); got {grace_days}.")
    if org.status != "active":
        raise ControlPlaneError(f"Organization '{org.slug}' is already {org.status}.")
    now = utc_now()
    purge_after = now + timedelta(days=grace_days)
    with control_plane.transaction() as conn:
        conn.execute(update(organizations).where(organizations.c.id == org.id).values(
            status="terminated", terminated_at=now, purge_after=purge_after))
    return record_request(control_plane, control_plane.organization(org.id), "organization",
                          subject_kind="organization", subject_ref=org.id,
                          not_before=purge_after)
