"""The demo's "stored" table shows what the org holds and what the run changed: a re-run that
changes nothing must not read like data loss (``git_metadata 0``)."""

from __future__ import annotations

from pipelines.cli.demo import stored_rows_table, stored_totals
from resources.sync.engine import rebuild_identities


def test_a_rerun_shows_totals_beside_this_runs_changes(sieve_org, emulator):
    org = sieve_org("acme")
    org.connect_emulator(emulator, "slack")
    [first] = org.sync("slack")
    rebuild_identities(org.sieve, org.org.id)
    stored = sum(first.rows_upserted.values())
    assert stored > 0

    rerun = {"slack_metadata": {"rows_upserted": 0}, "identities": {"people": 0}}
    rows = {row[0]: row[1:] for row in stored_rows_table(rerun, stored_totals(org.sieve, org.org))}

    assert rows["slack_metadata"] == [stored, 0]
    assert rows["identities"][0] > 0
    assert rows["github_metadata"] == [0, 0]  # not connected: nothing stored, nothing changed
