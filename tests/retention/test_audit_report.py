"""The routine access audit from the audit log, and tamper detection over certificates."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import update

from pipelines.cli import main
from resources.retention.execute import execute_request
from resources.retention.requests import record_request
from resources.security.vault import Secret
from resources.storage.control_plane.schema import audit_log


def sieve(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_report_counts_accesses_per_actor_and_lists_deletions(sieve_org, monkeypatch):
    acme, globex = sieve_org("acme"), sieve_org("globex")
    audit = acme.sieve.audit
    for _ in range(3):
        audit.append("data.queried", org_id=acme.org.id, target="marts", actor="user:ana",
                     details={"interface": "sieve query", "operator": False})
    audit.append("data.queried", org_id=globex.org.id, target="metadata", actor="user:bo",
                 details={"interface": "sieve query", "operator": True})
    audit.append("connection.added", org_id=acme.org.id, target="conn_x", actor="user:bo")
    done = record_request(acme.sieve.control_plane, acme.org, "person", subject_kind="email",
                          subject=Secret("nobody@example.test"))
    execute_request(acme.sieve, done.id)
    waiting = record_request(globex.sieve.control_plane, globex.org, "organization",
                             subject_kind="organization", subject_ref=globex.org.id)

    report = sieve("audit", "report", "--since", "7d")

    assert report.exit_code == 0, report.output
    lines = report.output.splitlines()
    assert any(line.split()[:5] == ["user:ana", "acme", "data.queried", "sieve", "query"]
               and line.split()[5] == "3" for line in lines), report.output
    # The operator's read of globex's metadata is listed on its own, with who and when.
    operators = lines.index("operator reads of the metadata schema (names, emails): 1")
    [read] = [e for e in audit.entries() if e.actor == "user:bo" and e.action == "data.queried"]
    assert lines[operators + 2].split() == [
        "user:bo", "globex", "sieve", "query", read.recorded_at.isoformat(timespec="seconds")]
    assert not any(line.startswith("user:bo") for line in lines[:operators])
    assert "connection.added" not in report.output  # not a read of an org's data
    assert "deletions done in the period: 1" in report.output and done.id in report.output
    assert "deletions pending: 1" in report.output and waiting.id in report.output
    assert "nobody@example.test" not in report.output
    assert sieve("audit", "report", "--since", "soon").exit_code == 2


def test_tampering_with_a_certificate_is_detected(sieve_org):
    org = sieve_org("acme")
    request = record_request(org.sieve.control_plane, org.org, "person", subject_kind="login",
                             subject=Secret("someone"))
    certificate = execute_request(org.sieve, request.id)
    assert sieve("audit", "verify").exit_code == 0
    [entry] = [e for e in org.sieve.audit.entries() if e.action == "deletion.certified"]
    forged = dict(certificate, verified=not certificate["verified"])
    with org.sieve.control_plane.transaction() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == entry.seq)
                     .values(details=json.dumps(forged, sort_keys=True)))
    broken = sieve("audit", "verify")
    assert broken.exit_code == 1
    assert f"BROKEN at entry {entry.seq}" in broken.output
