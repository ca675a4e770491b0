"""Personal access: people, their roles per organization, and personal access tokens.

A grant gives a person a role on one organization (or, for admins, on every organization).
Roles nest: an operator may do what an analyst may, an admin what an operator may. A token is
``sieve_pat_<token id>_<secret>``; the control plane keeps only an argon2id hash of the secret,
so a copy of the database lets nobody log in. Every grant, revoke, rotation and failed login
goes into the audit chain under the authenticated person (``person:<id>``), never an email.
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from resources.errors import SieveError
from resources.security.audit import AuditLog
from resources.storage.control_plane import (
    ControlPlane,
    Organization,
    as_utc,
    new_id,
    utc_now,
)
from resources.storage.control_plane.schema import access_tokens, audit_log, grants, people

ROLES = ("analyst", "operator", "admin")
TOKEN_PREFIX = "sieve_pat_"
TOKEN_PATTERN = re.compile(r"^sieve_pat_(tok_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
# Failed logins tolerated per person (across every process, counted in the audit log) and per
# address (in the serving process) within the window before further attempts are refused.
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILED = "access.login_failed"
# A person's token for the command line comes from this environment variable, never argv.
TOKEN_ENV = "SIEVE_TOKEN"

# argon2id with the library's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()


class AccessDenied(SieveError):
    """Refused: never says which part of a token was wrong, and never repeats the token."""


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    local_user: str | None

    @property
    def actor(self) -> str:
        return f"person:{self.id}"


@dataclass(frozen=True)
class Grant:
    id: str
    person_id: str
    email: str
    org_id: str | None
    role: str
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class TokenRecord:
    id: str
    person_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def role_allows(role: str | None, needed: str) -> bool:
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def _person(row) -> Person:
    return Person(row.id, row.email, row.local_user)


def _grant(row) -> Grant:
    return Grant(row.id, row.person_id, row.email, row.org_id, row.role, as_utc(row.granted_at),
                 as_utc(row.expires_at), as_utc(row.revoked_at), as_utc(row.last_used_at))


def _token(row) -> TokenRecord:
    return TokenRecord(row.id, row.person_id, as_utc(row.created_at), as_utc(row.expires_at),
                       as_utc(row.revoked_at), as_utc(row.last_used_at))


class AccessControl:
    """People, grants and tokens in the control plane; every change is audited by ``actor``."""

    def __init__(self, control_plane: ControlPlane, audit: AuditLog):
        self.control_plane = control_plane
        self.engine = control_plane.engine
        self.audit = audit

    # People ---------------------------------------------------------------------------------

    def person(self, email_or_id: str) -> Person | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(people).where(
                (people.c.email == email_or_id.lower()) | (people.c.id == email_or_id))).first()
        return _person(row) if row else None

    def local_person(self, os_user: str) -> Person | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(people).where(people.c.local_user == os_user)).first()
        return _person(row) if row else None

    def has_people(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(people)).scalar_one() > 0

    def add_person(self, email: str, *, local_user: str | None = None) -> Person:
        email = email.strip().lower()
        if not EMAIL_PATTERN.match(email):
            raise SieveError(f"'{email}' is not an email address: people are named by email.")
        existing = self.person(email)
        if existing is not None:
            return existing
        person_id = new_id("per")
        with self.engine.begin() as conn:
            conn.execute(people.insert().values(id=person_id, email=email, local_user=local_user,
                                                created_at=utc_now()))
        return Person(person_id, email, local_user)

    def bootstrap_local_admin(self, os_user: str) -> Person:
        """The admin a fresh `sieve init` makes: the OS user running it, on every org."""
        person = self.local_person(os_user)
        if person is None:
            person = self.add_person(f"{os_user}@localhost", local_user=os_user)
            self.grant(person, None, "admin", actor=person.actor)
        return person

    # Grants ---------------------------------------------------------------------------------

    def grant(self, person: Person, org: Organization | None, role: str, *, actor: str,
              expires_in: timedelta | None = None) -> Grant:
        if role not in ROLES:
            raise SieveError(f"Unknown role '{role}'; choose one of {', '.join(ROLES)}.")
        if org is None and role != "admin":
            raise SieveError("Only admins are granted every organization: name one with --org.")
        now = utc_now()
        expires_at = now + expires_in if expires_in else None
        grant_id = new_id("grant")
        with self.engine.begin() as conn:
            # One live grant per person and org: a new role replaces the old one.
            conn.execute(update(grants).where(
                (grants.c.person_id == person.id) & (grants.c.org_id.is_(None) if org is None
                                                     else grants.c.org_id == org.id)
                & grants.c.revoked_at.is_(None)).values(revoked_at=now))
            conn.execute(grants.insert().values(
                id=grant_id, person_id=person.id, org_id=org.id if org else None, role=role,
                granted_at=now, granted_by=actor, expires_at=expires_at))
        self.audit.append("access.granted", org_id=org.id if org else None, target=person.id,
                          actor=actor, details={"role": role, "grant": grant_id,
                                                "expires_at": expires_at.isoformat()
                                                if expires_at else None})
        return next(g for g in self.grants(person) if g.id == grant_id)

    def revoke(self, person: Person, org: Organization | None, *, actor: str) -> int:
        """Revoke the person's grant on ``org`` (every grant and token when ``org`` is None)."""
        now = utc_now()
        in_scope = [g for g in self.grants(person)
                    if g.active(now) and (org is None or g.org_id == org.id)]
        if any(g.role == "admin" for g in in_scope) and not any(
                g.role == "admin" and g.active(now) and g.person_id != person.id
                for g in self.grants()):
            raise SieveError("That would leave nobody an admin; grant another admin first.")
        scope = grants.c.person_id == person.id
        if org is not None:
            scope &= grants.c.org_id == org.id
        with self.engine.begin() as conn:
            revoked = conn.execute(update(grants).where(scope & grants.c.revoked_at.is_(None))
                                   .values(revoked_at=now)).rowcount
            if org is None:
                conn.execute(update(access_tokens).where(
                    (access_tokens.c.person_id == person.id)
                    & access_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
        self.audit.append("access.revoked", org_id=org.id if org else None, target=person.id,
                          actor=actor, details={"grants": revoked, "tokens": org is None})
        return revoked

    def grants(self, person: Person | None = None, *, org_id: str | None = None) -> list[Grant]:
        query = (select(grants, people.c.email).join(people, people.c.id == grants.c.person_id)
                 .order_by(people.c.email, grants.c.granted_at))
        if person is not None:
            query = query.where(grants.c.person_id == person.id)
        if org_id is not None:
            query = query.where(grants.c.org_id == org_id)
        with self.engine.connect() as conn:
            return [_grant(r) for r in conn.execute(query)]

    def role(self, person: Person, org: Organization) -> str | None:
        """The highest role the person's live grants give on ``org`` (None: no access)."""
        now = utc_now()
        roles = [g.role for g in self.grants(person) if g.active(now)
                 and (g.org_id == org.id or (g.org_id is None and g.role == "admin"))]
        return max(roles, key=ROLES.index, default=None)

    def admin_of_every_org(self, person: Person) -> bool:
        """True when a live grant makes ``person`` an admin of every organization."""
        now = utc_now()
        return any(g.org_id is None and g.role == "admin" and g.active(now)
                   for g in self.grants(person))

    def authorize(self, person: Person, org: Organization, needed: str) -> str:
        """Raise ``AccessDenied`` unless ``person`` holds ``needed`` (or more) on ``org``; mark
        the grant used (the access review lists grants nobody uses)."""
        role = self.role(person, org)
        if not role_allows(role, needed):
            have = f"you hold {role} on it" if role else "you hold no grant on it"
            raise AccessDenied(f"{person.email} may not do this on '{org.slug}': it needs the "
                               f"{needed} role and {have}. An admin can grant it: `sieve access "
                               f"grant {person.email} --org {org.slug} --role {needed}`.")
        now = utc_now()
        with self.engine.begin() as conn:
            conn.execute(update(grants).where(
                (grants.c.person_id == person.id) & grants.c.revoked_at.is_(None)
                & ((grants.c.org_id == org.id) | grants.c.org_id.is_(None)))
                .values(last_used_at=now))
        return role

    # Tokens ---------------------------------------------------------------------------------

    def issue_token(self, person: Person, *, actor: str,
                    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> str:
        """A new token for ``person``, returned once; only its argon2id hash is stored."""
        token_id, secret = f"tok_{secrets.token_hex(6)}", secrets.token_urlsafe(32)
        now = utc_now()
        with self.engine.begin() as conn:
            conn.execute(access_tokens.insert().values(
                id=token_id, person_id=person.id, secret_hash=_hasher.hash(secret),
                created_at=now, expires_at=now + lifetime))
        self.audit.append("access.token_issued", target=person.id, actor=actor,
                          details={"token": token_id, "expires_at": (now + lifetime).isoformat()})
        return f"{TOKEN_PREFIX}{token_id}_{secret}"

    def rotate(self, person: Person, *, actor: str,
               lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> str:
        """Revoke every token ``person`` holds and issue a new one."""
        with self.engine.begin() as conn:
            retired = conn.execute(update(access_tokens).where(
                (access_tokens.c.person_id == person.id) & access_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utc_now())).rowcount
        token = self.issue_token(person, actor=actor, lifetime=lifetime)
        self.audit.append("access.token_rotated", target=person.id, actor=actor,
                          details={"retired": retired})
        return token

    def tokens(self, person: Person | None = None) -> list[TokenRecord]:
        query = select(access_tokens).order_by(access_tokens.c.created_at)
        if person is not None:
            query = query.where(access_tokens.c.person_id == person.id)
        with self.engine.connect() as conn:
            return [_token(r) for r in conn.execute(query)]

    def authenticate(self, token: str, *, interface: str, claimed_email: str | None = None,
                     address_limiter: AddressLimiter | None = None,
                     address: str | None = None) -> Person:
        """The person ``token`` belongs to, or ``AccessDenied``. Each refusal is one audit entry;
        after ``FAILURE_LIMIT`` failures in ``FAILURE_WINDOW`` for the person (or the address)
        further attempts are refused without being checked."""
        match = TOKEN_PATTERN.match(token.strip())
        row = self._token_row(match.group(1)) if match else None
        claimed = self.person(claimed_email) if claimed_email else None
        person_id = row.person_id if row is not None else (claimed.id if claimed else None)
        if (address_limiter and address and address_limiter.blocked(address)) or \
                (person_id and self.recent_failures(person_id) >= FAILURE_LIMIT):
            self._refuse(person_id, interface, "rate_limited", address_limiter, address)
        secret = match.group(2) if match else ""
        if not _verifies(row.secret_hash if row is not None else _dummy_hash(), secret) \
                or row is None:
            self._refuse(person_id, interface, "wrong_token", address_limiter, address)
        now = utc_now()
        reason = ("revoked" if row.revoked_at is not None
                  else "expired" if as_utc(row.expires_at) <= now
                  else "wrong_person" if claimed_email and (claimed is None
                                                            or claimed.id != row.person_id)
                  else None)
        if reason:
            self._refuse(row.person_id, interface, reason, address_limiter, address)
        with self.engine.begin() as conn:
            conn.execute(update(access_tokens).where(access_tokens.c.id == row.id)
                         .values(last_used_at=now))
            person = _person(conn.execute(select(people)
                                          .where(people.c.id == row.person_id)).one())
        return person

    def _token_row(self, token_id: str):
        with self.engine.connect() as conn:
            return conn.execute(select(access_tokens)
                                .where(access_tokens.c.id == token_id)).first()

    def recent_failures(self, person_id: str) -> int:
        since = utc_now() - FAILURE_WINDOW
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(audit_log).where(
                (audit_log.c.action == LOGIN_FAILED) & (audit_log.c.target == person_id)
                & (audit_log.c.recorded_at >= since))).scalar_one()

    def _refuse(self, person_id: str | None, interface: str, reason: str,
                address_limiter: AddressLimiter | None, address: str | None):
        # Addresses are counted in memory only: the statement promises no IP address is stored.
        if address_limiter and address:
            address_limiter.record(address)
        self.audit.append(LOGIN_FAILED, target=person_id, actor="unauthenticated",
                          details={"interface": interface, "reason": reason})
        if reason == "rate_limited":
            raise AccessDenied("login refused: too many failed logins; wait 15 minutes and "
                               "try again, or ask an admin for a new token.")
        raise AccessDenied("login refused: the token is wrong, expired, revoked or replaced "
                           "(`sieve access rotate` makes a new one).")


@functools.cache
def _dummy_hash() -> str:
    """Verified when a token id is unknown, so a wrong id costs as long as a wrong secret."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _verifies(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


class AddressLimiter:
    """Failed logins per network address, in this process's memory only."""

    def __init__(self, limit: int = FAILURE_LIMIT, window: timedelta = FAILURE_WINDOW):
        self.limit, self.window = limit, window.total_seconds()
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, address: str) -> deque[float]:
        failures, horizon = self._failures[address], time.monotonic() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address)) >= self.limit

    def record(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(time.monotonic())


def acting_person(access: AccessControl, token: str | None, os_user: str) -> Person:
    """Who runs a command: the holder of ``token`` (``SIEVE_TOKEN``) when one is given, else the
    person the OS user is (the admin `sieve init` made). A control plane with nobody in it yet
    (made before personal access existed) makes the OS user its admin, as `sieve init` would."""
    if token:
        return access.authenticate(token, interface="cli")
    person = access.local_person(os_user)
    if person is not None:
        return person
    if not access.has_people():
        return access.bootstrap_local_admin(os_user)
    raise AccessDenied(f"The OS user '{os_user}' is nobody Sieve knows: export your personal "
                       f"access token in {TOKEN_ENV} (an admin makes one with `sieve access "
                       "grant`).")
