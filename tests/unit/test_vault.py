"""Envelope encryption (rule 4): fresh key and nonce per secret, row binding, fail closed."""

from __future__ import annotations

import base64
import json

import pytest

from resources.security.keys import EnvKeyProvider, WrongKeyError, encode_key, generate_key
from resources.security.vault import (
    DecryptionError,
    Secret,
    SecretBinding,
    open_secret,
    rewrap,
    seal,
)

TOKEN = "ghp_CANARYvaultTOKEN0123456789"
BINDING = SecretBinding("org_a", "conn_a", "token")


def env_provider(*keys, current=None):
    current = current or keys[0]
    environ = {"SIEVE_MASTER_KEY": encode_key(current.material)}
    previous = [encode_key(k.material) for k in keys if k is not current]
    if previous:
        environ["SIEVE_PREVIOUS_MASTER_KEYS"] = ",".join(previous)
    return EnvKeyProvider(environ)


@pytest.fixture
def provider():
    return env_provider(generate_key())


def test_round_trip(provider):
    envelope = seal(provider, BINDING, TOKEN)
    assert TOKEN not in envelope
    assert open_secret(provider, BINDING, envelope).reveal() == TOKEN


def test_ten_thousand_encryptions_of_one_token_are_all_distinct(provider):
    envelopes = [json.loads(seal(provider, BINDING, TOKEN)) for _ in range(10_000)]
    assert len({e["ciphertext"] for e in envelopes}) == 10_000
    assert len({e["nonce"] for e in envelopes}) == 10_000
    assert len({e["wrapped_key"] for e in envelopes}) == 10_000


@pytest.mark.parametrize("other", [
    SecretBinding("org_b", "conn_a", "token"),
    SecretBinding("org_a", "conn_b", "token"),
    SecretBinding("org_a", "conn_a", "email"),
])
def test_ciphertext_moved_to_another_row_does_not_decrypt(provider, other):
    envelope = seal(provider, BINDING, TOKEN)
    with pytest.raises(DecryptionError, match="altered or belongs to another row"):
        open_secret(provider, other, envelope)


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "wrapped_key"])
def test_one_flipped_byte_fails_to_decrypt(provider, part):
    envelope = json.loads(seal(provider, BINDING, TOKEN))
    raw = bytearray(base64.b64decode(envelope[part]))
    for position in range(len(raw)):
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        envelope_copy = dict(envelope, **{part: base64.b64encode(bytes(tampered)).decode()})
        with pytest.raises(DecryptionError):
            open_secret(provider, BINDING, json.dumps(envelope_copy))


def test_wrong_key_fails_closed_with_a_clear_message(provider):
    envelope = seal(provider, BINDING, TOKEN)
    stranger = env_provider(generate_key())
    with pytest.raises(WrongKeyError) as raised:
        open_secret(stranger, BINDING, envelope)
    message = str(raised.value)
    assert "not available from the SIEVE_MASTER_KEY environment variable" in message
    assert "Nothing was decrypted" in message
    assert TOKEN not in message


def test_damaged_envelope_is_reported_not_crashed(provider):
    with pytest.raises(DecryptionError, match="not a readable envelope"):
        open_secret(provider, BINDING, "{not json")


def test_rewrap_changes_only_the_wrapped_key_and_drops_the_old_key():
    old, new = generate_key(), generate_key()
    envelope = seal(env_provider(old), BINDING, TOKEN)
    rewrapped = rewrap(env_provider(old, new, current=new), BINDING, envelope)
    before, after = json.loads(envelope), json.loads(rewrapped)
    assert after["kek"] == new.kek_id != before["kek"]
    assert after["ciphertext"] == before["ciphertext"]
    assert open_secret(env_provider(new), BINDING, rewrapped).reveal() == TOKEN
    with pytest.raises(WrongKeyError):
        open_secret(env_provider(new), BINDING, envelope)


def test_secret_never_shows_itself():
    secret = Secret(TOKEN)
    for text in (repr(secret), str(secret), f"{secret}", repr({"token": secret})):
        assert TOKEN not in text
    assert secret.reveal() == TOKEN
