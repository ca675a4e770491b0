"""Rule 7 of docs/architecture.md: tenants are isolated — one DuckDB file and one data key per organization."""

from __future__ import annotations

import pytest

from resources.storage.metadata_store import StoreError, connect_encrypted


def test_two_orgs_have_separate_files_keys_and_rows(sieve_org, emulator, tmp_path):
    acme, globex = sieve_org("acme"), sieve_org("globex")
    acme.connect_emulator(emulator, "jira", projects=[])
    globex.connect_emulator(emulator, "slack")
    acme.sync("jira")
    globex.sync("slack")

    assert acme.database_path != globex.database_path
    assert acme.database_path.parent != globex.database_path.parent
    key_a = acme.sieve.control_plane.org_data_key(acme.org)
    key_b = globex.sieve.control_plane.org_data_key(globex.org)
    assert key_a != key_b

    # Org A's key cannot open org B's file, and the other way round.
    for path, wrong_key in ((globex.database_path, key_a), (acme.database_path, key_b)):
        with pytest.raises(StoreError, match="cannot be opened with this organization's data key"):
            connect_encrypted(path, wrong_key, read_only=True)

    # Each file holds only its own org's rows: every row's connection belongs to that org.
    for org in (acme, globex):
        own = {c.id for c in org.sieve.control_plane.connections(org.org)}
        tables = [t for (t,) in org.query(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'org' "
            "AND table_schema = 'metadata' AND table_name NOT IN ('identity_accounts', 'people')")]
        seen = set()
        for table in tables:
            seen |= {c for (c,) in org.query(f'SELECT DISTINCT connection_id FROM metadata."{table}"')}
        assert seen and seen <= own
    assert acme.count("jira_issues") > 0 and globex.count("slack_messages") > 0
    assert "slack_messages" not in [t for (t,) in acme.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'metadata'")]
