"""The routine access audit, read from the hash-chained audit log: who accessed which
organization's data, how often, every operator read of the metadata schema (names, emails)
one by one, and which deletions are done or still pending."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from resources.retention.requests import DeletionRequest
from resources.security.audit import AuditEntry

# Reads of an org's data: queries, exports and reports (``data.queried``, ``data.exported``,
# ``report.generated`` …), whatever the interface.
ACCESS_PREFIXES = ("data.", "export.", "report.")
PENDING_STATUSES = ("pending", "running", "failed")


@dataclass(frozen=True)
class Access:
    actor: str
    org: str
    action: str
    interface: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class OperatorRead:
    """One read of the metadata schema (``--operator``): listed alone, never folded into
    counts, because each one opened identifiers."""

    actor: str
    org: str
    interface: str
    at: datetime


@dataclass(frozen=True)
class DoneDeletion:
    id: str
    org: str
    scope: str
    completed_at: datetime
    verified: str
    rows: int


@dataclass(frozen=True)
class PendingDeletion:
    id: str
    org: str
    scope: str
    status: str
    requested_at: datetime
    not_before: datetime | None


@dataclass(frozen=True)
class AccessReport:
    entries: int
    accesses: list[Access]
    operator_reads: list[OperatorRead]
    done: list[DoneDeletion]
    pending: list[PendingDeletion]


def is_access(entry: AuditEntry) -> bool:
    return entry.action.startswith(ACCESS_PREFIXES)


def is_operator_read(entry: AuditEntry) -> bool:
    return is_access(entry) and (entry.details.get("operator") is True
                                 or entry.target == "metadata")


def access_report(entries: Iterable[AuditEntry], requests: Iterable[DeletionRequest],
                  slugs: dict[str, str]) -> AccessReport:
    entries = list(entries)
    grouped: dict[tuple, list[AuditEntry]] = defaultdict(list)
    operator_reads, done = [], []
    for entry in entries:
        org = slugs.get(entry.org_id, entry.org_id) if entry.org_id else "-"
        interface = str(entry.details.get("interface", entry.target or "-"))
        if is_operator_read(entry):
            operator_reads.append(OperatorRead(entry.actor, org, interface, entry.recorded_at))
        elif is_access(entry):
            grouped[(entry.actor, org, entry.action, interface)].append(entry)
        elif entry.action == "deletion.certified":
            certificate = entry.details
            verified = "no-op" if certificate.get("noop") else (
                "yes" if certificate.get("verified") else "NO")
            done.append(DoneDeletion(entry.target or "", org, str(certificate.get("scope")),
                                     entry.recorded_at, verified,
                                     sum(certificate.get("rows", {}).values())))
    accesses = sorted((Access(actor, org, action, interface, len(items),
                              max(e.recorded_at for e in items))
                       for (actor, org, action, interface), items in grouped.items()),
                      key=lambda a: (-a.count, a.actor, a.org, a.action))
    pending = [PendingDeletion(r.id, slugs.get(r.org_id, r.org_id), r.scope, r.status,
                               r.requested_at, r.not_before)
               for r in requests if r.status in PENDING_STATUSES]
    return AccessReport(len(entries), accesses, operator_reads, done, pending)
