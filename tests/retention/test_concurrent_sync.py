"""A deletion launched while a sync of the same organization is running: the sync (another
process, as a Dagster run would be) holds the org's database; the deletion waits for it, the
sync honours the request's tombstone for the pages it still writes, and when both are done
the subject is gone — and a later sync does not bring them back."""

from __future__ import annotations

import multiprocessing
import threading

from resources.retention.execute import execute_request
from resources.retention.requests import record_request
from resources.runtime import open_sieve
from resources.security.vault import Secret
from resources.sources.connector import Connector, RawBatch
from resources.sync.engine import sync_organization_source

SUBJECT_LOGIN = "mateo-castellan"
SUBJECT_SLACK_ID = "U0VJNCFP2MZ"
CHANNEL = {"channel_id": "C0CONCURRENT"}


def message(user: str, ts: str) -> dict:
    return {"type": "message", "user": user, "ts": ts, "text": "deploy looks fine"}


def pages() -> list[RawBatch]:
    """Page 1 is written before the deletion arrives; page 2 after."""
    return [
        RawBatch("slack_messages", [message(SUBJECT_SLACK_ID, "1790000000.000100"),
                                    message("U0OTHERPERSON", "1790000000.000200")],
                 parent=CHANNEL),
        RawBatch("slack_users", [{"id": "U0NEWACCOUNT1", "name": SUBJECT_LOGIN,
                                  "profile": {"real_name": "Mateo Castellan"}},
                                 {"id": "U0OTHERPERSON", "name": "someone-else",
                                  "profile": {"real_name": "Someone Else"}}]),
        RawBatch("slack_messages", [message(SUBJECT_SLACK_ID, "1790000000.000300"),
                                    message("U0OTHERPERSON", "1790000000.000400")],
                 parent=CHANNEL),
    ]


def pausing_connector(paused, resume):
    class PausingSlack(Connector):
        source = "slack"
        entities = ("slack_messages", "slack_users")

        def check(self) -> str:
            return "paused test connector"

        def fetch(self):
            first, *rest = pages()
            yield first
            if paused is not None:
                paused.set()
                assert resume.wait(60), "the test never resumed the sync"
            yield from rest

    return PausingSlack


def run_paused_sync(org_id, paused, resume, results) -> None:
    import resources.sync.engine

    resources.sync.engine.connector_class = lambda source: pausing_connector(paused, resume)
    sieve = open_sieve()
    summaries = sync_organization_source(sieve, org_id, "slack")
    results.put(sum(sum(s.rows_forgotten.values()) for s in summaries))
    sieve.close()


def subject_rows(org) -> list:
    return org.query("SELECT user_id FROM metadata.slack_messages WHERE user_id = ? UNION ALL "
                     "SELECT id FROM metadata.slack_users WHERE name = ?",
                     [SUBJECT_SLACK_ID, SUBJECT_LOGIN])


def test_deletion_during_a_running_sync_leaves_the_subject_absent(synced_org, monkeypatch):
    org = synced_org
    org_id = org.org.id
    org.sieve.control_plane.engine.dispose()  # no pooled handle crosses the fork
    context = multiprocessing.get_context("fork")
    paused, resume, results = context.Event(), context.Event(), context.Queue()
    sync = context.Process(target=run_paused_sync, args=(org_id, paused, resume, results))
    sync.start()
    try:
        assert paused.wait(60), "the sync never reached its pause"
        request = record_request(org.sieve.control_plane, org.org, "person",
                                 subject_kind="login", subject=Secret(SUBJECT_LOGIN))
        outcome = {}
        deletion = threading.Thread(target=lambda: outcome.update(
            certificate=execute_request(org.sieve, request.id, wait_seconds=120,
                                        sleep=lambda _: resume.set())))
        deletion.start()
        deletion.join(120)
        sync.join(60)
    finally:
        resume.set()
        sync.join(10)
    assert sync.exitcode == 0
    assert results.get(timeout=5) >= 1  # page 2's directory entry was dropped by the sync
    certificate = outcome["certificate"]
    assert certificate["verified"] and certificate["rows"]["slack_messages"] >= 1
    assert subject_rows(org) == []
    assert org.query("SELECT count(*) FROM metadata.slack_messages WHERE user_id = "
                     "'U0OTHERPERSON'") == [(2,)]

    # The stored tombstones keep a later sync of the same pages from bringing them back.
    monkeypatch.setattr("resources.sync.engine.connector_class",
                        lambda source: pausing_connector(None, None))
    [summary] = sync_organization_source(org.sieve, org_id, "slack")
    assert sum(summary.rows_forgotten.values()) >= 3
    assert subject_rows(org) == []
