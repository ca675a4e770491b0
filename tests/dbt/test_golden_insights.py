"""Golden tests of the insights mart: the insights organization (tests/dbt/golden_insights.py)
built at AS_OF_OPEN (every kind open), then at AS_OF_CLEARED (every one resolved), then again
after alice is forgotten. Each value is worked out by hand below.
"""

from __future__ import annotations

import json

import pytest

from resources.marts.insights import SIGNAL_KINDS
from resources.marts.runner import build_org_marts
from resources.storage.metadata_store import open_store
from tests.dbt import golden_insights as golden
from tests.dbt.dbt_org import DbtOrg, _new_dbt_org

# The insights models and what they read; data tests once, on the second build.
INSIGHTS_ONLY = ("build", "--select", "+insights", "--exclude-resource-type", "unit_test")
RUN_INSIGHTS = ("run", "--select", "+insights")


def _signals(org: DbtOrg) -> dict[str, dict]:
    return {row["signal_key"]: row for row in org.rows("select * from marts.insights")}


@pytest.fixture(scope="module")
def builds(dbt_installation) -> dict[str, dict[str, dict]]:
    """The insights table after each of the three builds."""
    org = _new_dbt_org(dbt_installation, "insights", golden.CONFIG_YAML)
    org.write(golden.GITHUB, connection_id="conn_gh")
    org.write(golden.JIRA, connection_id="conn_jira")
    org.write(golden.IDENTITIES)
    build_org_marts(org.sieve, org.org_id, as_of=golden.AS_OF_OPEN, args=RUN_INSIGHTS)
    opened = _signals(org)
    build_org_marts(org.sieve, org.org_id, as_of=golden.AS_OF_CLEARED, args=INSIGHTS_ONLY)
    cleared = _signals(org)
    # Forgetting alice at the metadata level only: the rebuild itself must drop her history.
    with open_store(org.database_path, org.key()) as store:
        for table in ("people", "identity_accounts"):
            store.connection.execute(f"delete from metadata.{table} where person_id = 'p_alice'")
    build_org_marts(org.sieve, org.org_id, as_of=golden.AS_OF_CLEARED, args=RUN_INSIGHTS)
    return {"opened": opened, "cleared": cleared, "forgotten": _signals(org)}


# At AS_OF_OPEN, Tuesday 10 March 12:00 (evidence: observed, threshold, baseline, sample):
#
# pr_awaiting_first_review acme/app#1: opened Thu 5 March 16:00, no review. Working hours
#   (09–18, weekdays, 6 March a holiday): Thu 16–18 = 2, Fri 0 (holiday), Sat/Sun 0,
#   Mon 9 = 9, Tue 10 9–12 = 3 → 14 > 8; 14 < 16 → warning (23 h without the holiday).
#   PR 2 (Mon 15:00) waited Mon 3 + Tue 3 = 6 ≤ 8: no signal.
# pr_idle acme/app#3: last activity dan's review 2 March 12:00 → 192 h = 8 days > 7; warning.
# pr_too_large acme/app#4: 900 + 300 = 1,200 lines > 500; ≥ 1,000 → severe.
# wip_above_limit p_alice: PR 1, PR 5 and APP-1 (in progress since 9 March) = 3 > 2; warning.
# wip_above_limit payments: alice's 3, bob's PR 2 and carol's PR 3 = 5 > 4; < 8 → warning.
#   platform: dan's PR 4 = 1 ≤ 1: no signal.
# review_concentration payments: reviews of payments PRs after 24 Feb 12:00: PR 3 bob, bob,
#   dan; PR 5 bob → 4 ≥ 4 reviews, bob 3/4 = 0.75 > 0.60; < 1.2 → warning.
# bus_factor_one acme/app: commits alice 3, bob 1 → alice 3/4 = 0.75 holds more than half:
#   bus factor 1, 4 ≥ 3 commits, two authors → warning.
# sprint_at_risk conn_jira:3: sprints 1 and 2 completed 7 issues in 7 days → 1.0 a day
#   (median of 1.0, 1.0); 13 March 09:00 − AS_OF_OPEN = 69 h = 2.875 days → 2.875
#   completable < 4 remaining; 4 < 5.75 → warning.
# metric_out_of_band pr_cycle_median_hours (and pr_pickup_median_hours, the same series:
#   erin's PRs have no commits and no reviews): judged week W10 = 150; W6–W9 = 10, 40, 20, 60
#   → median 30, deviations 20, 10, 10, 30 → MAD 15 (> 30 / 10) → half-width 3 · 15 = 45,
#   band −15 … 75; 150 above; |150 − 30| = 120 ≥ 90 → severe. Review medians are all 0: no band.
OPENED = {
    "pr_awaiting_first_review:acme/app#1": (14.0, 8.0, None, None, "warning"),
    "pr_idle:acme/app#3": (8.0, 7.0, None, None, "warning"),
    "pr_too_large:acme/app#4": (1200.0, 500.0, None, None, "severe"),
    "wip_above_limit:p_alice": (3.0, 2.0, None, None, "warning"),
    "wip_above_limit:payments": (5.0, 4.0, None, None, "warning"),
    "review_concentration:payments": (0.75, 0.6, None, 4, "warning"),
    "bus_factor_one:acme/app": (0.75, 0.5, None, 4, "warning"),
    "sprint_at_risk:conn_jira:3": (4.0, 2.875, 1.0, 2, "warning"),
    "metric_out_of_band:pr_cycle_median_hours": (150.0, 75.0, 30.0, 4, "severe"),
    "metric_out_of_band:pr_pickup_median_hours": (150.0, 75.0, 30.0, 4, "severe"),
}


def _evidence(row: dict) -> tuple:
    return (row["observed_value"], row["threshold_value"], row["baseline_value"],
            row["sample_count"], row["severity"])


def test_every_kind_opens_with_its_evidence(builds):
    opened = builds["opened"]
    assert {key: _evidence(row) for key, row in opened.items()} == OPENED
    assert {row["kind"] for row in opened.values()} == set(SIGNAL_KINDS)
    assert all(row["is_open"] and row["direction"] == "above" for row in opened.values())
    assert {(row["first_seen_at"], row["last_seen_at"]) for row in opened.values()} == {
        (golden.AS_OF_OPEN, golden.AS_OF_OPEN)}


def test_subjects_name_repositories_teams_and_pseudonyms_only(builds):
    opened = builds["opened"]
    assert (opened["pr_idle:acme/app#3"]["repository"], opened["pr_idle:acme/app#3"]["number"],
            opened["pr_idle:acme/app#3"]["team"]) == ("acme/app", 3, "payments")
    assert opened["wip_above_limit:p_alice"]["person_id"] == "p_alice"
    assert (opened["wip_above_limit:payments"]["subject_type"],
            opened["wip_above_limit:payments"]["person_id"]) == ("team", None)
    assert opened["review_concentration:payments"]["person_id"] == "p_bob"


# At AS_OF_CLEARED, Tuesday 17 March 12:00, every condition has cleared:
#   PR 1 reviewed 11 March (its idle time is then 6.08 days ≤ 7); PR 3 closed; PR 4 merged;
#   alice: PR 1, PR 5 (a commit on 12 March keeps it active) = 2 ≤ 2, APP-1 done 12 March;
#   payments: the same 2 ≤ 4 (PR 2 merged 10 March, PR 3 closed 12 March);
#   payments reviews after 3 March 12:00: PR 5 bob, PR 1 bob = 2 < 4; acme/app commits
#   alice 3, bob 3 → no one holds more than half; sprint 3 ended 13 March; judged week W11
#   has PR 2 only (cycle = pickup = 23, review 0) against W7–W10 = 40, 20, 60, 150 → median
#   50, MAD 20, band −10 … 110, and review medians 0 against 0.
def test_every_kind_clears_and_keeps_its_history(builds):
    cleared = builds["cleared"]
    assert set(cleared) == set(OPENED)
    for key, row in cleared.items():
        assert not row["is_open"], key
        assert (row["first_seen_at"], row["last_seen_at"], row["resolved_at"]) == (
            golden.AS_OF_OPEN, golden.AS_OF_OPEN, golden.AS_OF_CLEARED), key
        assert _evidence(row) == OPENED[key], key


def test_a_forgotten_person_leaves_no_insight_history(builds):
    forgotten = builds["forgotten"]
    assert "wip_above_limit:p_alice" not in forgotten
    assert all(row["person_id"] != "p_alice" for row in forgotten.values())
    # A rebuild at the same as_of changes nothing else.
    assert forgotten == {key: row for key, row in builds["cleared"].items()
                         if row["person_id"] != "p_alice"}


# `sieve insights` on the golden organization (tests/dbt/golden_org.py, stale_pr_days 3), built
# as of 13 March 00:00: PR 8 (acme/api, carol, platform) opened Thu 5 March 10:00 and its only
# activity since is carol's own comment at 09:30 (before it) → idle 7 d 14 h = 182 h / 24 =
# 7.583… days > 3, ≥ 6 → severe. The command reads the marts only and is audited.
def test_sieve_insights_lists_open_signals_of_one_kind(built_golden_org):
    from click.testing import CliRunner

    from pipelines.cli.insights import insights

    home = built_golden_org.sieve.settings.home
    result = CliRunner().invoke(insights, ["golden", "--kind", "pr_idle", "--format", "json"],
                                env={"SIEVE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")})
    assert result.exit_code == 0, result.output
    [signal] = json.loads(result.output)
    assert (signal["subject"], signal["team"], signal["severity"]) == (
        "acme/api#8", "platform", "severe")
    assert signal["observed_value"] == pytest.approx(182 / 24)
    events = [entry for entry in built_golden_org.sieve.audit.entries()
              if entry.details.get("interface") == "sieve insights"]
    assert events and events[-1].details["kind"] == "pr_idle"
