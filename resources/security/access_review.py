"""The routine access audit (``sieve access review``): who holds which role on which
organization, what nobody uses, what expires soon, and who read names and emails."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from resources.retention.report import is_operator_read
from resources.security.access import LOGIN_FAILED, AccessControl, Grant, TokenRecord
from resources.security.audit import AuditEntry

UNUSED_AFTER = timedelta(days=30)
EXPIRING_WITHIN = timedelta(days=14)


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _grant_row(grant: Grant, slugs: dict[str, str], now: datetime) -> dict:
    status = ("revoked" if grant.revoked_at else "active" if grant.active(now) else "expired")
    return {"email": grant.email, "org": slugs.get(grant.org_id, grant.org_id) or "*",
            "role": grant.role, "status": status, "granted_at": _when(grant.granted_at),
            "expires_at": _when(grant.expires_at), "last_used_at": _when(grant.last_used_at)}


def access_review(grants: Iterable[Grant], tokens: Iterable[TokenRecord],
                  entries: Iterable[AuditEntry], *, emails: dict[str, str],
                  slugs: dict[str, str], now: datetime, since: datetime) -> dict:
    """The review as plain data (``--format json`` prints it as is). ``emails`` maps person ids
    to emails, ``slugs`` org ids to slugs; ``entries`` are the audit entries of the period."""
    grants = list(grants)
    live = [g for g in grants if g.active(now)]
    unused = [g for g in live if (g.last_used_at or g.granted_at) <= now - UNUSED_AFTER]
    expiring = [g for g in live if g.expires_at and g.expires_at <= now + EXPIRING_WITHIN]
    never_used = [t for t in tokens if t.last_used_at is None and t.revoked_at is None
                  and t.expires_at > now]
    entries = [e for e in entries if e.recorded_at >= since]
    operator_reads = [{"person": emails.get(e.actor.removeprefix("person:"), e.actor),
                       "org": slugs.get(e.org_id, e.org_id),
                       "interface": e.details.get("interface"), "at": _when(e.recorded_at)}
                      for e in entries if is_operator_read(e)]
    return {
        "generated_at": _when(now),
        "period_start": _when(since),
        "grants": [_grant_row(g, slugs, now) for g in grants if g.revoked_at is None],
        "unused_grants": [_grant_row(g, slugs, now) for g in unused],
        "expiring_soon": [_grant_row(g, slugs, now) for g in expiring],
        "tokens_never_used": [{"email": emails.get(t.person_id, t.person_id), "token": t.id,
                               "created_at": _when(t.created_at),
                               "expires_at": _when(t.expires_at)} for t in never_used],
        "operator_reads": operator_reads,
        "failed_logins": sum(1 for e in entries if e.action == LOGIN_FAILED),
    }


def review_summary(review: dict) -> dict:
    """Counts only, for the audit chain's monthly record (no emails in the audit log)."""
    return {key: len(value) if isinstance(value, list) else value
            for key, value in review.items() if key not in ("generated_at", "period_start")}


def review_access(access: AccessControl, period: timedelta) -> dict:
    """The review of the stores' current grants and tokens and the period's audit entries."""
    now = datetime.now(UTC)
    since = now - period
    slugs = {o.id: o.slug for o in access.control_plane.organizations()}
    grants = access.grants()
    emails = {g.person_id: g.email for g in grants}
    return access_review(grants, access.tokens(), access.audit.entries(since=since),
                         emails=emails, slugs=slugs, now=now, since=since)


MONTHLY_REVIEW = "access.review_recorded"


def record_monthly_review(access: AccessControl, now: datetime, *, actor: str) -> bool:
    """Record the review's counts in the audit chain once per calendar month (the first
    nightly tick of a month does; re-evaluated ticks find it there and skip)."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if any(e.action == MONTHLY_REVIEW for e in access.audit.entries(since=month_start)):
        return False
    summary = review_summary(review_access(access, timedelta(days=30)))
    access.audit.append(MONTHLY_REVIEW, actor=actor, details=summary, at=now)
    return True
