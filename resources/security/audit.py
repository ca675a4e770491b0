"""The append-only, hash-chained audit log.

Each entry's hash is an HMAC, keyed by the audit key (held outside the database, like the KEK),
over the previous entry's hash and the entry's own canonical content. Editing, deleting or
reordering rows breaks the chain at the first affected entry, and nobody without the audit key
can forge a consistent replacement. Entries carry opaque ids and counts — never a secret or a
person's identifier.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Mapping

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from resources.security.keys import KeyUnavailableError
from resources.storage.control_plane.schema import audit_log

GENESIS = "0" * 64


def current_actor(environ: Mapping[str, str] | None = None) -> str:
    """Who is acting: a service name from SIEVE_ACTOR (schedules, sensors), else the OS user."""
    env = os.environ if environ is None else environ
    if env.get("SIEVE_ACTOR"):
        return env["SIEVE_ACTOR"]
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def create_audit_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")


def load_audit_key(path: Path, environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    where = "SIEVE_AUDIT_KEY"
    text = env.get("SIEVE_AUDIT_KEY")
    if not text:
        if not Path(path).exists():
            raise KeyUnavailableError(
                f"No audit key: SIEVE_AUDIT_KEY is not set and there is no audit key file at "
                f"{path}. Run `sieve init` or set SIEVE_AUDIT_KEY_FILE. Nothing was written."
            )
        text, where = Path(path).read_text(), str(path)
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyUnavailableError(f"The audit key in {where} is not valid base64.") from None
    if len(key) < 32:
        raise KeyUnavailableError(f"The audit key in {where} is shorter than 32 bytes.")
    return key


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    recorded_at: datetime
    actor: str
    action: str
    org_id: str | None
    target: str | None
    details: dict
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def canonical_content(seq: int, recorded_at: datetime, actor: str, action: str,
                      org_id: str | None, target: str | None, details: dict) -> bytes:
    return json.dumps(
        [seq, recorded_at.astimezone(UTC).isoformat(timespec="microseconds"), actor, action,
         org_id, target, details],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode("utf-8")


def chain_hash(key: bytes, prev_hash: str, content: bytes) -> str:
    return hmac.new(key, prev_hash.encode("ascii") + b"\n" + content, hashlib.sha256).hexdigest()


def _entry(row) -> AuditEntry:
    recorded_at = row.recorded_at if row.recorded_at.tzinfo else row.recorded_at.replace(tzinfo=UTC)
    return AuditEntry(row.seq, recorded_at, row.actor, row.action, row.org_id, row.target,
                      json.loads(row.details), row.prev_hash, row.entry_hash)


class AuditLog:
    def __init__(self, engine: Engine, key: bytes):
        self.engine = engine
        self._key = key

    def append(self, action: str, *, org_id: str | None = None, target: str | None = None,
               details: dict | None = None, actor: str | None = None,
               at: datetime | None = None) -> AuditEntry:
        details = details or {}
        actor = actor or current_actor()
        # Microsecond precision survives every backend, so the hash recomputes identically.
        recorded_at = (at or datetime.now(UTC)).astimezone(UTC)
        for _ in range(20):
            try:
                with self.engine.begin() as conn:
                    last = conn.execute(select(audit_log.c.seq, audit_log.c.entry_hash)
                                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
                    seq, prev_hash = (last.seq + 1, last.entry_hash) if last else (1, GENESIS)
                    content = canonical_content(seq, recorded_at, actor, action, org_id, target,
                                                details)
                    entry_hash = chain_hash(self._key, prev_hash, content)
                    conn.execute(audit_log.insert().values(
                        seq=seq, recorded_at=recorded_at, actor=actor, action=action,
                        org_id=org_id, target=target,
                        details=json.dumps(details, sort_keys=True, ensure_ascii=False),
                        prev_hash=prev_hash, entry_hash=entry_hash))
                return AuditEntry(seq, recorded_at, actor, action, org_id, target, details,
                                  prev_hash, entry_hash)
            except IntegrityError:
                continue  # another writer took this sequence number; chain onto theirs
        raise RuntimeError("Could not append to the audit log: too many concurrent writers.")

    def entries(self, *, since: datetime | None = None, org_id: str | None = None) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.seq)
        if since is not None:
            query = query.where(audit_log.c.recorded_at >= since)
        if org_id is not None:
            query = query.where(audit_log.c.org_id == org_id)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(audit_log)).scalar_one()

    def verify(self) -> Verification:
        prev_hash, expected_seq, checked = GENESIS, 1, 0
        with self.engine.connect() as conn:
            for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
                entry = _entry(row)
                if entry.seq != expected_seq:
                    return Verification(False, checked, expected_seq,
                                        f"entry {expected_seq} is missing (next is {entry.seq})")
                if entry.prev_hash != prev_hash:
                    return Verification(False, checked, entry.seq,
                                        "it does not chain onto the entry before it")
                content = canonical_content(entry.seq, entry.recorded_at, entry.actor,
                                            entry.action, entry.org_id, entry.target, entry.details)
                if not hmac.compare_digest(chain_hash(self._key, prev_hash, content),
                                           entry.entry_hash):
                    return Verification(False, checked, entry.seq,
                                        "its content does not match its hash (edited)")
                prev_hash, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
        return Verification(True, checked)
