"""Who or what a deletion is about, and the hashes that stand for it.

Two different hashes, for two readers:

- ``identifier_hash``: HMAC of an identifier under the organization's own data key. Tombstones
  and ``deletion_requests.subject_hash`` hold it; writers compare rows against it. It means
  nothing outside the organization and is shredded with the organization's key.
- ``certificate_hash``: a salted SHA-256 of the subject for the certificate. Whoever knows the
  subject (and reads the salt beside it) can check the certificate is about them; the
  certificate itself never names them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from resources.security.vault import Secret

# Identifiers shorter than this (e.g. GitLab's small numeric user ids) are checked by SQL on
# their own columns only: as raw bytes they would match unrelated numbers everywhere.
MIN_SCANNABLE_LENGTH = 5


def normalize_identifier(value: object) -> str:
    return str(value).strip().lower()


def identifier_hash(org_key: Secret, identifier: object) -> str:
    message = b"sieve-tombstone\n" + normalize_identifier(identifier).encode("utf-8")
    return hmac.new(org_key.reveal().encode("ascii"), message, hashlib.sha256).hexdigest()


def account_identifier(system: str, key: object) -> str:
    """Account keys are only unique within their system (GitHub id 103 ≠ GitLab id 103)."""
    return f"{system}:{normalize_identifier(key)}"


def certificate_hash(subject: str, salt: str | None = None) -> dict[str, str]:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}\n{normalize_identifier(subject)}".encode()).hexdigest()
    return {"algorithm": "sha256(salt + newline + lowercase subject)", "salt": salt,
            "digest": digest}


@dataclass
class PersonIdentifiers:
    """Everything that identifies one person in an organization's data."""

    person_ids: set[str] = field(default_factory=set)
    # system → account keys (as text), e.g. {"github": {"5817202"}, "slack": {"U0VJ…"}}
    accounts: dict[str, set[str]] = field(default_factory=dict)
    logins: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def add_account(self, system: str, key: object) -> None:
        if key is not None and str(key) != "":
            self.accounts.setdefault(system, set()).add(str(key))

    def keys(self, system: str) -> set[str]:
        return self.accounts.get(system, set())

    @property
    def empty(self) -> bool:
        return not (self.person_ids or self.logins or self.emails
                    or any(self.accounts.values()))

    def tombstone_identifiers(self) -> set[str]:
        """What a tombstone hashes: system-qualified account keys, and logins, emails and
        distinctive (non-numeric) account keys on their own, as they appear in free text."""
        found = {account_identifier(s, k) for s, keys in self.accounts.items() for k in keys}
        found |= {normalize_identifier(v) for v in self.logins | self.emails}
        found |= {normalize_identifier(k) for keys in self.accounts.values() for k in keys
                  if not str(k).isdigit()}
        return found

    def searchable(self) -> set[str]:
        """Identifier strings that must not appear anywhere after the deletion."""
        values = {normalize_identifier(v) for v in self.logins | self.emails | self.person_ids}
        values |= {normalize_identifier(k) for keys in self.accounts.values() for k in keys}
        return {v for v in values if v}

    def scannable(self) -> set[str]:
        return {v for v in self.searchable() if len(v) >= MIN_SCANNABLE_LENGTH}


_TOKEN = re.compile(r"[\w.+@-]+", re.UNICODE)


def text_tokens(text: str) -> set[str]:
    """Candidate identifiers in free text (handles, emails, Slack ids), lowercased; mention
    signs and sentence punctuation around them stripped (``@login``, ``<@U123>``, ``login.``)."""
    stripped = (t.strip(".-@+") for t in _TOKEN.findall(text))
    return {normalize_identifier(t) for t in stripped if t}
