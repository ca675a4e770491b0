"""Envelope encryption of credentials and per-organization data keys (docs/architecture.md, rule 4).

Each secret gets a fresh random 256-bit data key and a fresh 96-bit nonce (the "salt" of the
data protection statement). The secret is sealed with AES-256-GCM under the data key; the data
key is wrapped with AES-256-GCM under the key-encryption key (KEK), which never enters the
database. Associated data binds the secret's ciphertext to its row — organization, connection
and field — and the wrapped data key additionally to the KEK's id, so a ciphertext copied to
another row, or one flipped byte, fails to decrypt.

Rotation re-wraps only the data keys (``rewrap``); the sealed secrets themselves do not change.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from resources.security.keys import KeyProvider, VaultError, WrongKeyError

ENVELOPE_VERSION = 1
NONCE_BYTES = 12
DATA_KEY_BYTES = 32


class DecryptionError(VaultError):
    pass


class Secret:
    """A secret value that does not show itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(type(self))


@dataclass(frozen=True)
class SecretBinding:
    """The row a ciphertext belongs to; becomes the AES-GCM associated data."""

    org_id: str
    connection_id: str
    field: str

    def associated_data(self, kek_id: str | None = None) -> bytes:
        parts = ["sieve-envelope-v1", self.org_id, self.connection_id, self.field]
        if kek_id is not None:
            parts.append(kek_id)
        # Length-prefixed so ("ab", "c") and ("a", "bc") bind differently.
        return b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)

    def describe(self) -> str:
        return f"{self.field} of connection {self.connection_id} (organization {self.org_id})"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal_bytes(provider: KeyProvider, binding: SecretBinding, plaintext: bytes) -> str:
    """Encrypt under a fresh data key and nonce; returns the envelope as compact JSON text."""
    kek = provider.current()
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, binding.associated_data())
    wrap_nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(kek.material).encrypt(wrap_nonce, data_key, binding.associated_data(kek.kek_id))
    envelope = {
        "v": ENVELOPE_VERSION,
        "alg": "AES-256-GCM",
        "kek": kek.kek_id,
        "wrapped_key": _b64(wrap_nonce + wrapped),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)


def seal(provider: KeyProvider, binding: SecretBinding, plaintext: str) -> str:
    return seal_bytes(provider, binding, plaintext.encode("utf-8"))


def _parse(envelope_text: str, binding: SecretBinding) -> dict:
    try:
        envelope = json.loads(envelope_text)
        if envelope.get("v") != ENVELOPE_VERSION:
            raise ValueError("unknown envelope version")
        for name in ("kek", "wrapped_key", "nonce", "ciphertext"):
            if not isinstance(envelope.get(name), str):
                raise ValueError(f"missing {name}")
        return envelope
    except (ValueError, TypeError, AttributeError):
        raise DecryptionError(f"The stored {binding.describe()} is not a readable envelope; "
                              "it was damaged or edited. Re-connect to store it again.") from None


def _does_not_authenticate(what: str) -> DecryptionError:
    return DecryptionError(f"The {what} does not authenticate: the ciphertext was altered or "
                           "belongs to another row. Nothing was decrypted; re-connect to store "
                           "it again.")


def _unwrap_data_key(provider: KeyProvider, binding: SecretBinding, envelope: dict) -> bytes:
    kek = provider.find(envelope["kek"])
    if kek is None:
        current = provider.current()
        raise WrongKeyError(
            f"The {binding.describe()} was encrypted with key {envelope['kek']}, which is not "
            f"available from {provider.description} (it offers key {current.kek_id}). Provide the "
            "key it was encrypted with (during a rotation, keep the previous key available until "
            "`sieve keys rotate` finishes). Nothing was decrypted."
        )
    try:
        wrapped = base64.b64decode(envelope["wrapped_key"], validate=True)
        return AESGCM(kek.material).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                                            binding.associated_data(kek.kek_id))
    except (InvalidTag, binascii.Error, ValueError):
        raise _does_not_authenticate(f"data key of the {binding.describe()}") from None


def open_bytes(provider: KeyProvider, binding: SecretBinding, envelope_text: str) -> bytes:
    envelope = _parse(envelope_text, binding)
    data_key = _unwrap_data_key(provider, binding, envelope)
    try:
        return AESGCM(data_key).decrypt(base64.b64decode(envelope["nonce"], validate=True),
                                        base64.b64decode(envelope["ciphertext"], validate=True),
                                        binding.associated_data())
    except (InvalidTag, binascii.Error, ValueError):
        raise _does_not_authenticate(binding.describe()) from None


def open_secret(provider: KeyProvider, binding: SecretBinding, envelope_text: str) -> Secret:
    return Secret(open_bytes(provider, binding, envelope_text).decode("utf-8"))


def envelope_kek_id(envelope_text: str) -> str | None:
    try:
        return json.loads(envelope_text).get("kek")
    except (ValueError, AttributeError):
        return None


def rewrap(provider: KeyProvider, binding: SecretBinding, envelope_text: str) -> str:
    """Re-wrap the data key under the provider's current KEK; the sealed secret is unchanged."""
    envelope = _parse(envelope_text, binding)
    current = provider.current()
    if envelope["kek"] == current.kek_id:
        return envelope_text
    data_key = _unwrap_data_key(provider, binding, envelope)
    wrap_nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(current.material).encrypt(wrap_nonce, data_key,
                                               binding.associated_data(current.kek_id))
    envelope.update(kek=current.kek_id, wrapped_key=_b64(wrap_nonce + wrapped))
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)
