"""Deleting a removed connection's data: its rows, cursors and credentials go; the other
connections' rows stay exactly as they were."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from resources.retention.execute import execute_request
from resources.retention.requests import get_request
from resources.sources import entities_for
from resources.storage.control_plane.schema import connections, sync_state


def other_connections_rows(org, removed_id: str) -> dict[str, list[tuple]]:
    """Every metadata row of the other connections (the first column is connection_id)."""
    return {table: [row for row in rows if row[0] != removed_id]
            for table, rows in org.snapshot().items()
            if table not in ("identity_accounts", "people")}


def test_disconnecting_removes_data_credentials_and_cursors_only(synced_org):
    org = synced_org
    control_plane = org.sieve.control_plane
    slack = next(c for c in control_plane.connections(org.org) if c.source == "slack")
    assert org.count("slack_messages") > 0 and control_plane.sync_state(slack.id, "cursor")
    others_before = other_connections_rows(org, slack.id)

    control_plane.remove_connection(slack)
    request_id = control_plane.request_deletion(org.org, "connection", subject_ref=slack.id,
                                                subject_kind="connection")
    certificate = execute_request(org.sieve, request_id)

    assert certificate["verified"] and certificate["rows"]["slack_messages"] > 0
    assert certificate["verification"]["control_plane"] == {"credentials_wiped": True,
                                                            "sync_state_rows": 0}
    assert org.count("slack_messages") == org.count("slack_users") == 0
    assert other_connections_rows(org, slack.id) == others_before
    with control_plane.engine.connect() as conn:
        assert conn.execute(select(connections.c.credentials)
                            .where(connections.c.id == slack.id)).scalar_one() is None
        assert conn.execute(select(func.count()).select_from(sync_state)
                            .where(sync_state.c.connection_id == slack.id)).scalar_one() == 0
    # Identities were rebuilt without the removed source.
    assert not org.query("SELECT * FROM metadata.identity_accounts WHERE system = 'slack'")

    rerun = execute_request(org.sieve, request_id)
    assert rerun["noop"] and rerun["verified"] and rerun["rows"] == {}
    assert get_request(control_plane, request_id).status == "done"
    assert org.sieve.audit.verify().ok


@pytest.mark.parametrize("source", ["opsgenie", "azuredevops"])
def test_disconnecting_a_source_removes_every_one_of_its_tables_and_accounts(synced_org, source):
    org = synced_org
    control_plane = org.sieve.control_plane
    removed = next(c for c in control_plane.connections(org.org) if c.source == source)
    tables = [e.table for e in entities_for(source)]
    assert all(org.count(table) > 0 for table in tables)
    assert control_plane.sync_state(removed.id, "cursor")
    assert org.query("SELECT count(*) FROM metadata.identity_accounts WHERE system = ?",
                     [source])[0][0] > 0
    others_before = other_connections_rows(org, removed.id)

    control_plane.remove_connection(removed)
    request_id = control_plane.request_deletion(org.org, "connection", subject_ref=removed.id,
                                                subject_kind="connection")
    certificate = execute_request(org.sieve, request_id)

    assert certificate["verified"]
    assert {table: org.count(table) for table in tables} == dict.fromkeys(tables, 0)
    assert not control_plane.sync_state(removed.id, "cursor")
    assert other_connections_rows(org, removed.id) == others_before
    assert not org.query("SELECT * FROM metadata.identity_accounts WHERE system = ?", [source])


def test_disconnecting_bitbucket_removes_every_bitbucket_table(synced_org):
    org = synced_org
    control_plane = org.sieve.control_plane
    bitbucket = next(c for c in control_plane.connections(org.org) if c.source == "bitbucket")
    tables = ("bitbucket_repositories", "bitbucket_pull_requests", "bitbucket_pr_participants",
              "bitbucket_pr_commits", "bitbucket_commits", "bitbucket_pipelines",
              "bitbucket_environments", "bitbucket_deployments", "bitbucket_users")
    assert all(org.count(table) > 0 for table in tables)
    assert control_plane.sync_state(bitbucket.id, "cursor")
    others_before = other_connections_rows(org, bitbucket.id)

    control_plane.remove_connection(bitbucket)
    request_id = control_plane.request_deletion(org.org, "connection", subject_ref=bitbucket.id,
                                                subject_kind="connection")
    certificate = execute_request(org.sieve, request_id)

    assert certificate["verified"] and certificate["rows"]["bitbucket_pull_requests"] > 0
    assert {table: org.count(table) for table in tables} == dict.fromkeys(tables, 0)
    assert other_connections_rows(org, bitbucket.id) == others_before
    assert not control_plane.sync_state(bitbucket.id, "cursor")
