"""The hash-chained audit log detects any edit, deletion or reordering of its rows — the newest
ones too, through the anchor kept outside the database."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update

from resources.security.audit import AuditLog, WrongAuditKeyError
from resources.storage.control_plane import make_engine, migrate
from resources.storage.control_plane.schema import audit_log

KEY = b"k" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        url = request.getfixturevalue("control_plane_pg_url")
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log))  # a PostgreSQL test database outlives the test
    audit = AuditLog(engine, KEY, anchor_file=tmp_path / "keys" / "audit.anchor")
    for number in range(6):
        audit.append("connection.added", org_id="org_1", target=f"conn_{number}",
                     details={"source": "github", "n": number}, actor="user:test")
    yield audit
    engine.dispose()


def test_intact_chain_verifies(log):
    result = log.verify()
    assert result.ok and result.checked == 6


def test_edited_row_is_the_first_broken_entry(log):
    with log.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(target="conn_x"))
    result = log.verify()
    assert not result.ok and result.first_broken_seq == 3 and "edited" in result.reason


def test_deleted_row_is_detected(log):
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 4))
    result = log.verify()
    assert not result.ok and result.first_broken_seq == 4 and "missing" in result.reason


def test_reordered_rows_are_detected(log):
    with log.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 5"))
        conn.execute(text("UPDATE audit_log SET seq = 5 WHERE seq = -1"))
    result = log.verify()
    assert not result.ok and result.first_broken_seq == 2


def test_a_forged_row_needs_the_key(log):
    forger = AuditLog(log.engine, b"x" * 32)
    forger.append("keys.rotated", actor="user:mallory")
    result = log.verify()
    assert not result.ok and result.first_broken_seq == 7


@pytest.mark.parametrize("deleted", [1, 3, 6], ids=["newest", "several", "all"])
def test_deleting_the_newest_entries_is_detected(log, deleted):
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 6 - deleted))
    result = log.verify()
    assert not result.ok and result.first_broken_seq == 7 - deleted
    assert "deleted" in result.reason and "records entry 6 as the newest" in result.reason


def test_a_truncation_stays_visible_after_new_entries_fill_the_gap(log):
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 5))
    log.append("sync.finished", org_id="org_1", actor="user:test")
    log.append("sync.finished", org_id="org_1", actor="user:test")
    result = log.verify()
    assert not result.ok and result.first_broken_seq == 5
    assert "deleted and new ones written in their place" in result.reason


def test_an_edited_anchor_is_detected(log):
    lines = log.anchor.path.read_text().splitlines()
    seq, entry_hash, key_id, mac = lines[-1].split()
    log.anchor.path.write_text("\n".join([*lines[:-1], f"5 {entry_hash} {key_id} {mac}"]) + "\n")
    result = log.verify()
    assert not result.ok and "does not match its MAC" in result.reason


def test_the_anchor_file_is_private(log):
    assert log.anchor.path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("anchored", [True, False], ids=["with-anchor", "without-anchor"])
def test_a_wrong_audit_key_says_so(log, tmp_path, anchored):
    anchor_file = log.anchor.path if anchored else None
    with pytest.raises(WrongAuditKeyError, match="^wrong audit key"):
        AuditLog(log.engine, b"w" * 32, anchor_file=anchor_file).verify()
