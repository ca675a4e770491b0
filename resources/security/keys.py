"""Key-encryption keys (KEKs): where they come from, never from the database.

A KEK is 32 random bytes. Its id is a short HMAC fingerprint of the key itself, so a ciphertext
records *which* key wrapped it without revealing anything about the key, and a wrong key is
recognised before any decryption is attempted.

Providers:
- ``EnvKeyProvider``: ``SIEVE_MASTER_KEY`` (base64), plus ``SIEVE_PREVIOUS_MASTER_KEYS``
  (comma-separated base64) while a rotation re-wraps secrets to the new key.
- ``FileKeyProvider``: a keyring file (default ``SIEVE_HOME/keys/master.keys``, mode 0600), one
  ``<kek_id> <base64 key>`` per line, the last line being the current key. ``sieve keys rotate``
  appends a new key, re-wraps every secret, then retires the old lines. Like ssh with a private
  key, a key file that its group or others may read is refused, not used and not "fixed": the
  key may already have been copied, so the person who finds it decides what to do.

A KMS (AWS KMS, Vault transit, …) fits the same ``KeyProvider`` protocol: ``current()`` and
``find(kek_id)`` returning key material unwrapped by the KMS at run time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from resources.errors import SieveError

KEY_BYTES = 32


class VaultError(SieveError):
    """Base for every key and credential failure; messages are safe to show (no secrets)."""


class KeyUnavailableError(VaultError):
    pass


class WrongKeyError(VaultError):
    pass


@dataclass(frozen=True)
class KeyEncryptionKey:
    kek_id: str
    material: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(kek_id={self.kek_id!r})"


def kek_id_for(material: bytes) -> str:
    return hmac.new(material, b"sieve key-encryption-key id", hashlib.sha256).hexdigest()[:16]


def generate_key() -> KeyEncryptionKey:
    material = secrets.token_bytes(KEY_BYTES)
    return KeyEncryptionKey(kek_id_for(material), material)


def encode_key(material: bytes) -> str:
    return base64.b64encode(material).decode("ascii")


def decode_key(text: str, *, where: str) -> KeyEncryptionKey:
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyUnavailableError(f"{where} is not valid base64; expected a 32-byte key "
                                  "encoded in base64 (generate one with `sieve keys generate`)."
                                  ) from None
    if len(material) != KEY_BYTES:
        raise KeyUnavailableError(f"{where} decodes to {len(material)} bytes; a key-encryption "
                                  f"key must be exactly {KEY_BYTES} bytes (base64 of 32 random bytes).")
    return KeyEncryptionKey(kek_id_for(material), material)


class KeyProvider(Protocol):
    description: str

    def current(self) -> KeyEncryptionKey: ...

    def find(self, kek_id: str) -> KeyEncryptionKey | None: ...


class EnvKeyProvider:
    def __init__(self, environ: Mapping[str, str]):
        if not environ.get("SIEVE_MASTER_KEY"):
            raise KeyUnavailableError("SIEVE_MASTER_KEY is not set.")
        self.description = "the SIEVE_MASTER_KEY environment variable"
        self._current = decode_key(environ["SIEVE_MASTER_KEY"], where="SIEVE_MASTER_KEY")
        previous = [p for p in environ.get("SIEVE_PREVIOUS_MASTER_KEYS", "").split(",") if p.strip()]
        self._previous = [decode_key(p, where="SIEVE_PREVIOUS_MASTER_KEYS") for p in previous]

    def current(self) -> KeyEncryptionKey:
        return self._current

    def find(self, kek_id: str) -> KeyEncryptionKey | None:
        for key in [self._current, *self._previous]:
            if key.kek_id == kek_id:
                return key
        return None

    def retired_keys(self) -> list[KeyEncryptionKey]:
        return list(self._previous)


def refuse_shared_key_file(path: Path, what: str) -> None:
    """Raise unless only the owner may read or write ``path`` (mode 0600 or stricter)."""
    mode = Path(path).stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyUnavailableError(
            f"The {what} {path} has mode {mode:04o}: its group or other users can access it, so "
            f"it is not used. If nobody else could have read it, run `chmod 600 {path}`; if "
            "someone may have, treat the key as leaked (docs/operations.md, Keys).")


class FileKeyProvider:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.description = f"the key file {self.path}"
        if not self.path.exists():
            raise KeyUnavailableError(f"No key file at {self.path}.")
        refuse_shared_key_file(self.path, "key file")
        self._keys = self._read()

    def _read(self) -> list[KeyEncryptionKey]:
        keys = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise KeyUnavailableError(f"{self.path} line {number} is malformed; expected "
                                          "'<key id> <base64 key>'.")
            key = decode_key(parts[1], where=f"{self.path} line {number}")
            if key.kek_id != parts[0]:
                raise KeyUnavailableError(f"{self.path} line {number}: the key does not match its "
                                          "id; the file was edited or damaged.")
            keys.append(key)
        if not keys:
            raise KeyUnavailableError(f"{self.path} holds no key.")
        return keys

    def current(self) -> KeyEncryptionKey:
        return self._keys[-1]

    def find(self, kek_id: str) -> KeyEncryptionKey | None:
        return next((k for k in self._keys if k.kek_id == kek_id), None)

    def all_keys(self) -> list[KeyEncryptionKey]:
        return list(self._keys)

    def add_new_key(self) -> KeyEncryptionKey:
        key = generate_key()
        write_keyring(self.path, [*self._keys, key])
        self._keys.append(key)
        return key

    def retire_all_but_current(self) -> list[str]:
        retired = [k.kek_id for k in self._keys[:-1]]
        write_keyring(self.path, [self._keys[-1]])
        self._keys = [self._keys[-1]]
        return retired


def write_keyring(path: Path, keys: list[KeyEncryptionKey]) -> None:
    """Replace the keyring atomically; the file is created 0600 and never world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    body = "# Sieve key-encryption keys. Keep outside backups of the database; never commit.\n"
    body += "".join(f"{k.kek_id} {encode_key(k.material)}\n" for k in keys)
    staging = path.with_name(path.name + ".new")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


def create_key_file(path: Path) -> KeyEncryptionKey:
    key = generate_key()
    write_keyring(path, [key])
    return key


def key_provider(key_file: Path, environ: Mapping[str, str] | None = None) -> KeyProvider:
    """The configured provider: the environment variable wins over the key file."""
    env = os.environ if environ is None else environ
    if env.get("SIEVE_MASTER_KEY"):
        return EnvKeyProvider(env)
    if Path(key_file).exists():
        return FileKeyProvider(Path(key_file))
    raise KeyUnavailableError(
        f"No key-encryption key found: SIEVE_MASTER_KEY is not set and there is no key file at "
        f"{key_file}. Run `sieve init` to create one, set SIEVE_KEY_FILE to the key file's path, "
        "or set SIEVE_MASTER_KEY. Nothing was decrypted or changed."
    )
