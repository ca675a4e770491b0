"""The hash-chained audit log detects any edit, deletion or reordering of its rows."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update

from resources.security.audit import AuditLog
from resources.storage.control_plane import make_engine, migrate
from resources.storage.control_plane.schema import audit_log

KEY = b"k" * 32


@pytest.fixture
def log(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    audit = AuditLog(engine, KEY)
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
