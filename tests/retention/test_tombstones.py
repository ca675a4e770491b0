"""Tombstones as a sync sees them: rows of a forgotten person dropped, references to them
cleared, mentions redacted — before the deletion job ran (the request's hash) and after it (the
hashes stored in the org's database)."""

from __future__ import annotations

from resources.retention.person import REMOVED
from resources.retention.requests import record_request
from resources.retention.subjects import PersonIdentifiers
from resources.retention.tombstones import TombstoneCheck, record_tombstones
from resources.security.vault import Secret
from resources.storage.metadata_store import open_store


def pull_request(number: int, author: str, merged_by: str | None = None, **extra) -> dict:
    return {"connection_id": "conn_1", "id": number, "number": number,
            "title": f"Fix #{number}", "author_login": author, "author_id": 1000 + number,
            "merged_by_login": merged_by, "merged_by_id": 7 if merged_by else None,
            "assignee_logins": [], **extra}


def test_a_pending_request_already_stops_a_running_sync(sieve_org, tmp_path):
    org = sieve_org("acme")
    control_plane = org.sieve.control_plane
    key = control_plane.org_data_key(org.org)
    record_request(control_plane, org.org, "person", subject_kind="login",
                   subject=Secret("Gone-Person"))
    check = TombstoneCheck(control_plane, org.org.id, key)
    rows = [pull_request(1, "gone-person"),
            pull_request(2, "kept", merged_by="gone-person",
                         assignee_logins=["gone-person", "kept"],
                         title="Pairing with gone-person on this"),
            pull_request(3, "kept")]
    with open_store(tmp_path / "org.duckdb", key) as store:
        kept, touched = check.apply(store, "github_pull_requests", rows)
    assert touched == 2
    assert [r["id"] for r in kept] == [2, 3]
    second = kept[0]
    assert (second["merged_by_login"], second["merged_by_id"]) == (None, None)
    assert second["assignee_logins"] == [REMOVED, "kept"]
    assert second["title"] == f"Pairing with {REMOVED} on this"
    assert kept[1] is rows[2]  # untouched rows pass through as they were


def test_stored_tombstones_match_account_ids_and_delink_keeps_rows(sieve_org, tmp_path):
    org = sieve_org("acme")
    control_plane = org.sieve.control_plane
    key = control_plane.org_data_key(org.org)
    person = PersonIdentifiers(accounts={"github": {"1001"}, "slack": {"U0GONE"}})
    with open_store(tmp_path / "org.duckdb", key) as store:
        assert record_tombstones(store, key, person, "del_x") == 3
        rows = [pull_request(1, "renamed-login"), pull_request(2, "kept")]
        dropped, _ = TombstoneCheck(control_plane, org.org.id, key).apply(
            store, "github_pull_requests", rows)
        delinked, _ = TombstoneCheck(control_plane, org.org.id, key, delink=True).apply(
            store, "github_pull_requests", rows)
        messages, _ = TombstoneCheck(control_plane, org.org.id, key).apply(
            store, "slack_messages", [{"user_id": "U0GONE", "ts": "1", "text": "hi"},
                                      {"user_id": "U0KEPT", "ts": "2", "text": "cc <@U0GONE>"}])
    assert [r["id"] for r in dropped] == [2]
    assert [(r["id"], r["author_login"], r["author_id"]) for r in delinked] == [
        (1, None, None), (2, "kept", 1002)]
    assert messages == [{"user_id": "U0KEPT", "ts": "2", "text": f"cc <@{REMOVED}>"}]
    # Nothing but keyed hashes is stored.
    with open_store(tmp_path / "org.duckdb", key, read_only=True) as store:
        stored = repr(store.connection.execute("SELECT * FROM retention.tombstones").fetchall())
    assert "1001" not in stored and "U0GONE".lower() not in stored.lower()


def test_text_pattern_finds_mentions_but_not_longer_names():
    import re

    from resources.retention.person import text_pattern

    pattern = re.compile(text_pattern({"u0gone", "ann"}))
    for mention in ("cc <@U0GONE>", "thanks @ann!", "ann: done", "ask Ann."):
        assert pattern.search(mention), mention
    for other in ("joanna", "ann-lee", "ann_b", "ann.lee", "anna@x.test", "mail@ann.example"):
        assert not pattern.search(other), other
