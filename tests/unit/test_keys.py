"""Key providers: the KEK lives outside the database and a bad one fails with a clear message."""

from __future__ import annotations

import stat

import pytest

from resources.security.audit import create_audit_key_file, load_audit_key
from resources.security.keys import (
    FileKeyProvider,
    KeyUnavailableError,
    create_key_file,
    encode_key,
    generate_key,
    key_provider,
)


def test_key_file_is_private_and_found(tmp_path):
    path = tmp_path / "keys" / "master.keys"
    key = create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    provider = key_provider(path, {})
    assert provider.current().kek_id == key.kek_id
    assert repr(key).count(encode_key(key.material)) == 0


def test_environment_key_wins_over_the_file(tmp_path):
    path = tmp_path / "master.keys"
    create_key_file(path)
    env_key = generate_key()
    provider = key_provider(path, {"SIEVE_MASTER_KEY": encode_key(env_key.material)})
    assert provider.current().kek_id == env_key.kek_id


def test_missing_key_names_every_place_looked(tmp_path):
    with pytest.raises(KeyUnavailableError) as raised:
        key_provider(tmp_path / "nowhere.keys", {})
    message = str(raised.value)
    assert "SIEVE_MASTER_KEY is not set" in message
    assert str(tmp_path / "nowhere.keys") in message
    assert "sieve init" in message


@pytest.mark.parametrize("value, complaint", [
    ("not base64!!", "not valid base64"),
    (encode_key(b"short"), "decodes to 5 bytes"),
])
def test_malformed_environment_key(value, complaint):
    with pytest.raises(KeyUnavailableError, match=complaint):
        key_provider("/nonexistent", {"SIEVE_MASTER_KEY": value})


def test_edited_key_file_is_refused(tmp_path):
    path = tmp_path / "master.keys"
    key = create_key_file(path)
    other = generate_key()
    path.write_text(f"{key.kek_id} {encode_key(other.material)}\n")
    with pytest.raises(KeyUnavailableError, match="does not match its id"):
        FileKeyProvider(path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused_like_ssh_does(tmp_path, mode):
    keyring = tmp_path / "keys" / "master.keys"
    create_key_file(keyring)
    audit_key = tmp_path / "keys" / "audit.key"
    create_audit_key_file(audit_key)
    for path, load in [(keyring, lambda: key_provider(keyring, environ={})),
                       (audit_key, lambda: load_audit_key(audit_key, environ={}))]:
        path.chmod(mode)
        with pytest.raises(KeyUnavailableError, match=f"has mode {mode:04o}.*chmod 600 {path}"):
            load()
        path.chmod(0o600)
        load()
