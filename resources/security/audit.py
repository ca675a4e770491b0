"""The append-only, hash-chained audit log.

Each entry's hash is an HMAC, keyed by the audit key (held outside the database, like the KEK),
over the previous entry's hash and the entry's own canonical content. Editing, deleting or
reordering rows breaks the chain at the first affected entry, and nobody without the audit key
can forge a consistent replacement. Entries carry opaque ids and counts — never a secret or a
person's identifier.

A chain alone cannot tell that its newest entries were deleted: what remains is still a valid
chain. So each entry is also anchored outside the database, in an append-only file beside the
audit key (``AuditAnchor``): one HMAC'd line per entry, the last being the head. Verification
checks the table against every anchored entry, so truncating one, several or all entries is
detected. docs/privacy.md says what an attacker with database access can and cannot hide.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import pwd
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from resources.security.keys import KeyUnavailableError, refuse_shared_key_file
from resources.storage.control_plane.schema import audit_log

GENESIS = "0" * 64
ANCHOR_HEADER = ("# Sieve audit anchor: one line per audit entry, '<seq> <entry hash> <audit key id> "
                 "<mac>'. Append-only; keep it off the database's host or backups if you can.\n")


class WrongAuditKeyError(KeyUnavailableError):
    pass


class AnchorError(Exception):
    """The anchor contradicts itself or was edited: the table fails verification at ``seq``."""

    def __init__(self, message: str, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


def audit_key_id(key: bytes) -> str:
    """A fingerprint naming the audit key without revealing it."""
    return hmac.new(key, b"sieve audit key id", hashlib.sha256).hexdigest()[:16]


def wrong_key_message(where: str) -> str:
    return (f"wrong audit key: {where} was written with another audit key than the one "
            "configured (SIEVE_AUDIT_KEY or SIEVE_AUDIT_KEY_FILE). Point Sieve at the key the log "
            "was written with; nothing can be verified with this one.")


def current_actor(environ: Mapping[str, str] | None = None) -> str:
    """Who is acting: a service name from SIEVE_ACTOR (schedules, sensors), else the OS user."""
    env = os.environ if environ is None else environ
    if env.get("SIEVE_ACTOR"):
        return env["SIEVE_ACTOR"]
    return f"user:{current_os_user()}"


def current_os_user() -> str:
    """The OS account running this process, from the kernel's uid — not from $USER, which
    anyone may set (the uid itself when the account has no name)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


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
        refuse_shared_key_file(Path(path), "audit key file")
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


class AuditAnchor:
    """The audit log's head, kept outside the database it protects.

    Each appended entry adds ``<seq> <entry hash> <key id> <mac>`` to an append-only file; the
    MAC (keyed by the audit key) stops anyone without the key from writing a head that hides a
    truncation. Lines from concurrent writers may land out of order: the head is the highest
    seq. A crash between the database commit and the anchor write leaves that one entry
    unanchored, never a false alarm.
    """

    def __init__(self, path: Path, key: bytes):
        self.path = Path(path)
        self._key = key
        self._key_id = audit_key_id(key)

    def _mac(self, seq: int, entry_hash: str) -> str:
        return hmac.new(self._key, f"sieve audit anchor v1\n{seq} {entry_hash}".encode("ascii"),
                        hashlib.sha256).hexdigest()

    def record(self, entry: AuditEntry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = f"{entry.seq} {entry.entry_hash} {self._key_id} {self._mac(entry.seq, entry.entry_hash)}\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if os.fstat(fd).st_size == 0:
                line = ANCHOR_HEADER + line
            os.write(fd, line.encode("ascii"))  # one write: concurrent appenders never interleave
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> dict[int, str]:
        """Anchored ``seq → entry hash``; raises ``AnchorError`` for a forged or damaged line and
        ``WrongAuditKeyError`` when the file was written with another audit key."""
        if not self.path.exists():
            return {}
        anchored = {}
        for number, line in enumerate(self.path.read_text("ascii", "replace").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 4 or not parts[0].isdigit():
                raise AnchorError(f"line {number} of the audit anchor {self.path} is damaged")
            seq, entry_hash, key_id, mac = int(parts[0]), parts[1], parts[2], parts[3]
            if key_id != self._key_id:
                raise WrongAuditKeyError(wrong_key_message(f"the audit anchor {self.path}"))
            if not hmac.compare_digest(self._mac(seq, entry_hash), mac):
                raise AnchorError(f"line {number} of the audit anchor {self.path} does not match "
                                  "its MAC (forged or edited)")
            if anchored.setdefault(seq, entry_hash) != entry_hash:
                raise AnchorError(f"entry {seq} was anchored twice with different hashes: entries "
                                  f"from {seq} on were deleted and new ones written in their "
                                  "place", seq)
        return anchored


class AuditLog:
    def __init__(self, engine: Engine, key: bytes, anchor_file: Path | None = None):
        self.engine = engine
        self._key = key
        self.anchor = AuditAnchor(anchor_file, key) if anchor_file is not None else None
        # The authenticated person a command runs for; entries without an explicit actor
        # carry it (set by the CLI once it knows who is acting, never by the environment).
        self.acting_for: str | None = None

    def append(self, action: str, *, org_id: str | None = None, target: str | None = None,
               details: dict | None = None, actor: str | None = None,
               at: datetime | None = None) -> AuditEntry:
        details = details or {}
        actor = actor or self.acting_for or current_actor()
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
            except IntegrityError:
                continue  # another writer took this sequence number; chain onto theirs
            entry = AuditEntry(seq, recorded_at, actor, action, org_id, target, details,
                               prev_hash, entry_hash)
            if self.anchor is not None:
                self.anchor.record(entry)
            return entry
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
        """Check the chain, then that no anchored entry is gone (a truncated tail). Raises
        ``WrongAuditKeyError`` when the configured key is not the log's."""
        try:
            anchored = self.anchor.read() if self.anchor else {}
        except AnchorError as error:
            return Verification(False, 0, error.seq, str(error))
        result = self._verify_chain(anchored)
        head = max(anchored, default=0)
        if not result.ok or head <= result.checked:
            return result
        deleted = head - result.checked
        which = (f"entry {head} was" if deleted == 1
                 else f"entries {result.checked + 1}–{head} were")
        return Verification(False, result.checked, result.checked + 1,
                            f"{which} deleted: the anchor {self.anchor.path} records entry "
                            f"{head} as the newest, the table ends at {result.checked}")

    def _verify_chain(self, anchored: dict[int, str]) -> Verification:
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
                if not self._hash_matches(entry):
                    # The anchor's lines already proved the key right; without them, a key
                    # that opens no entry at all is the likelier story than every entry edited.
                    if not anchored and not self._any_entry_verifies():
                        raise WrongAuditKeyError(wrong_key_message("the audit log"))
                    return Verification(False, checked, entry.seq,
                                        "its content does not match its hash (edited)")
                if anchored.get(entry.seq, entry.entry_hash) != entry.entry_hash:
                    return Verification(False, checked, entry.seq,
                                        "it is not the entry anchored at this number (replaced)")
                prev_hash, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
        return Verification(True, checked)

    def _hash_matches(self, entry: AuditEntry) -> bool:
        content = canonical_content(entry.seq, entry.recorded_at, entry.actor, entry.action,
                                    entry.org_id, entry.target, entry.details)
        return hmac.compare_digest(chain_hash(self._key, entry.prev_hash, content),
                                   entry.entry_hash)

    def _any_entry_verifies(self) -> bool:
        """An edit breaks the entries it touches; a wrong key breaks every one of them (a log of
        one entry cannot tell the two apart: it is reported as edited)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_log).limit(1000)).fetchall()
        return len(rows) < 2 or any(self._hash_matches(_entry(row)) for row in rows)
