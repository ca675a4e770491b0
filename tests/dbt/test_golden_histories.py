"""Golden tests on real-history shapes: the golden histories organization
(tests/dbt/golden_histories.py) built by dbt, every value compared with the value worked out by
hand in the comments here (issue 15).

Times are on the quarter hour, so hours are exact and compared with ==. Weeks are ISO weeks:
W9 = 2026-02-23, W10 = 2026-03-02, W11 = 2026-03-09. The reporting window ends at
AS_OF = 2026-03-13 00:00, so W11 and March are partial: 4 and 12 days have elapsed.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.dbt.golden_org import t

W9, W10, W11 = date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)
COMPONENTS = ("coding_hours", "pickup_hours", "review_hours", "deploy_hours", "cycle_hours")


@pytest.fixture
def org(built_histories_org):
    return built_histories_org


def pull_request(org, repository: str, number: int) -> dict:
    [row] = org.rows(f"select * from marts.pull_requests "
                     f"where repository = '{repository}' and number = {number}")
    return row


def deployments(org, repository: str) -> dict[datetime, dict]:
    return {row["deployed_at"]: row for row in org.rows(
        f"select * from marts.deployments where repository = '{repository}'")}


# --- 1. the first deployment does not ship the whole history ---------------------------------
#
# acme/legacy reports its first deployment, L1, on 3 March 10:00 (sha l2, PR 2's merge).
# PR 1 merged on 6 January 2025, fourteen months earlier: before the repository's deployments
# are known, and more than first_deployment_lookback_days (7) before L1 → never deployed as far
# as Sieve knows: deployed_at null, cycle ends at the merge.
#   PR 1: o 2025-01-06 09:00, no commits, no review, m 12:00 → coding 0, pickup 3, review 0,
#         deploy null, cycle 3 (today: deployed by L1, a 10,105-hour deploy time)
#   PR 2: o 2d08:00, m 2d10:00 (within 7 days before L1) → d = L1 3d10:00: coding 0, pickup 2,
#         review 0, deploy 24, cycle 26
# L1 ships PR 2 only: change_count 1, lead time max 26.
def test_prs_merged_long_before_the_first_deployment_are_not_deployed_by_it(org):
    old, recent = pull_request(org, "acme/legacy", 1), pull_request(org, "acme/legacy", 2)
    assert old["deployed_at"] is None
    assert [old[c] for c in COMPONENTS] == [0.0, 3.0, 0.0, None, 3.0]
    assert recent["deployed_at"] == t(3, 10)
    assert [recent[c] for c in COMPONENTS] == [0.0, 2.0, 0.0, 24.0, 26.0]
    first = deployments(org, "acme/legacy")[t(3, 10)]
    assert (first["change_count"], first["lead_time_max_hours"]) == (1, 26.0)


# acme/switch shipped through releases (v1.0.0 2d10:00, v1.1.0 3d10:00; no tag commit known, so
# each ships everything merged before it) until its first GitHub deployment S1 (4d10:00, sha
# s10 = PR 10's merge). Deployments supersede releases from S1 on, not for all time:
#   deployments: v1.0.0 (release), v1.1.0 (release), S1 (deployment) → 3 (today: S1 alone)
#   PR 9:  o 2d11:00 m 2d12:00 → d = v1.1.0 3d10:00: pickup 1, deploy 22, cycle 23
#          (today: S1, deploy 46)
#   PR 10: o 4d08:00 m 4d09:00 → d = S1 4d10:00: pickup 1, deploy 1, cycle 2
def test_a_repository_switching_deployment_source_keeps_its_earlier_deployments(org):
    assert {at: row["kind"] for at, row in deployments(org, "acme/switch").items()} == {
        t(2, 10): "release", t(3, 10): "release", t(4, 10): "deployment"}
    by_release, by_deployment = (pull_request(org, "acme/switch", n) for n in (9, 10))
    assert by_release["deployed_at"] == t(3, 10)
    assert [by_release[c] for c in COMPONENTS] == [0.0, 1.0, 0.0, 22.0, 23.0]
    assert by_deployment["deployed_at"] == t(4, 10)
    assert [by_deployment[c] for c in COMPONENTS] == [0.0, 1.0, 0.0, 1.0, 2.0]


# --- 2. untimed GitLab approvals are no review with a time ----------------------------------
#
# acme-infra/pipelines (GitLab, never deploys), week W9:
#   MR 1: c 24 Feb 09:00 o 10:00 m 14:00, approved by bob at an unknown time → the approval is
#         counted apart (untimed_approval_count 1), not as a review: review_count 0, no first
#         review; pickup and review are unknown (null), not "pickup to the merge, review 0";
#         coding 1, cycle 5; not "merged without review" either.
#   MR 2: o 10:00 m 12:00, no approval → review_count 0, coding 0, pickup 2, review 0, cycle 2;
#         merged without review.
#   MR 3: o 10:00, approved by bob at 11:00 (the time of its approval system note), m 13:00 → a
#         counted review: review_count 1, first review 11:00, coding 0, pickup 1, review 2,
#         cycle 3.
# pr_flow_weekly W9, organization: merged 3; review coverage leaves MR 1 out (its review status
#   has no time): reviewed 1 (MR 3) / (3 − 1) = 0.5 (today MR 1 counts as reviewed: 2/3);
#   merged without review 1 (MR 2); pickup median over MR 2 and MR 3 (2, 1) 1.5; review median
#   (0, 2) 1.0; cycle median (5, 2, 3) 3.0.
def test_untimed_gitlab_approvals_give_no_review_time_and_no_coverage(org):
    untimed, unreviewed = (pull_request(org, "acme-infra/pipelines", n) for n in (1, 2))
    assert (untimed["review_count"], untimed["reviewer_count"], untimed["untimed_approval_count"],
            untimed["first_review_at"], untimed["approved_at"],
            untimed["is_merged_without_review"]) == (0, 0, 1, None, None, False)
    assert [untimed[c] for c in COMPONENTS] == [1.0, None, None, None, 5.0]
    assert (unreviewed["review_count"], unreviewed["untimed_approval_count"],
            unreviewed["is_merged_without_review"]) == (0, 0, True)
    assert [unreviewed[c] for c in COMPONENTS] == [0.0, 2.0, 0.0, None, 2.0]
    timed = pull_request(org, "acme-infra/pipelines", 3)
    assert (timed["review_count"], timed["untimed_approval_count"], timed["first_review_at"],
            timed["approved_at"]) == (1, 0, datetime(2026, 2, 24, 11), datetime(2026, 2, 24, 11))
    assert [timed[c] for c in COMPONENTS] == [0.0, 1.0, 2.0, None, 3.0]
    [week] = org.rows(f"select * from marts.pr_flow_weekly where week_start = '{W9}' "
                      "and grouping_level = 'organization'")
    assert (week["prs_merged"], week["review_coverage"], week["merged_without_review_count"],
            week["pickup_median_hours"], week["review_median_hours"],
            week["cycle_median_hours"]) == (3, 0.5, 1, 1.5, 1.0, 3.0)


# --- 3. a revert merged before any deployment fails nothing ---------------------------------
#
# acme/infra: PR 49 "Add bucket" m 2d10:00, its revert PR 51 m 2d11:00; the first deployment,
# workflow run I1 at 2d12:00 (sha i51, landed 2d11:00), ships both. PR 49 never ran in
# production before it was reverted: I1 did not fail (today: failed by the revert, recovered
# in 0 h), and shipping a revert of an undeployed change is no rework.
def test_a_revert_merged_before_any_deployment_fails_nothing(org):
    [only] = deployments(org, "acme/infra").values()
    assert (only["deployed_at"], only["change_count"], only["is_failed"], only["failure_kinds"],
            only["recovery_hours"], only["is_rework"]) == (t(2, 12), 2, False, [], None, False)


# --- 4. incidents are blamed within their scope; several incidents, one recovery -------------
#
# INC-3 (3d12:00, no label): in the 72 h before it, acme/infra (I1 2d12:00), acme/switch
#   (v1.0.0 2d10:00, v1.1.0 3d10:00) and acme/legacy (L1 3d10:00) deployed; nothing says which
#   one broke → blamed on none (today: on whichever of L1 / v1.1.0 comes last).
# INC-1 (5d12:00, label legacy, resolved 5d15:00) and INC-2 (5d13:00, label legacy, still open)
#   both blame legacy's last deployment before them, L2 (5d10:00, 2 h earlier). L2 is
#   recovered when its first remediation lands, INC-1's resolution: recovered 5d15:00,
#   recovery 5 h (today: null, because INC-2 is open).
# The only failed deployment of the organization is L2.
def test_incidents_are_blamed_in_scope_and_a_deployment_recovers_at_its_first_remediation(org):
    failed = org.rows("select * from marts.deployments where is_failed")
    assert [(row["repository"], row["deployed_at"]) for row in failed] == [
        ("acme/legacy", t(5, 10))]
    [l2] = failed
    assert (l2["failure_kinds"], l2["failure_detected_at"], l2["recovered_at"],
            l2["recovery_hours"]) == (["incident"], t(5, 12), t(5, 15), 5.0)


# --- 5 and 6. cycle components: none for unmerged PRs, never negative -------------------------
#
# acme/lab (never deploys):
#   PR 5 open, bob's review 2d12:00 → review_count 1, no component (today: pickup 3)
#   PR 6 closed unmerged 2d15:00, bob's approval 2d11:00 → no component (today: pickup 2)
#   PR 8 reopened, open → no component
#   PR 7 c 3d09:00, alice's review 3d10:00 — two hours before the PR was opened at 3d12:00 —
#        m 3d14:00. Review cannot start before the PR exists: pickup is clamped at creation.
#        coding 3, pickup 0 (today −2), review 3d12:00 → 3d14:00 = 2 (today 4), deploy null,
#        cycle 5 = 3 + 0 + 2.
def test_unmerged_prs_have_no_cycle_components(org):
    for number in (5, 6, 8):
        pr = pull_request(org, "acme/lab", number)
        assert [pr[c] for c in COMPONENTS] == [None] * 5, f"PR {number}"
    assert pull_request(org, "acme/lab", 5)["review_count"] == 1


def test_a_review_before_the_pr_was_opened_starts_pickup_at_opening(org):
    pr = pull_request(org, "acme/lab", 7)
    assert pr["first_review_at"] == t(3, 10)
    assert [pr[c] for c in COMPONENTS] == [3.0, 0.0, 2.0, None, 5.0]


# --- 7. unmatched commit authors are one contributor each, not one per commit -----------------
#
# acme/lab, the 90 days before AS_OF: ten commits by contractor@ext.test (no person) and one by
# alice → 11 commits, 2 contributors, top share 10/11, bus factor 1 (10 · 2 > 11).
# Today: 11 contributors, top share 1/11, bus factor 6.
def test_unmatched_commit_authors_are_grouped_by_identity(org):
    assert org.query("select commit_count, commit_author_count, top_author_commit_share, "
                     "commit_bus_factor from marts.knowledge_concentration "
                     "where repository = 'acme/lab'") == [(11, 2, 10 / 11, 1)]


# --- 8. only merges into production branches are deployed ------------------------------------
#
# acme/legacy's L2 (5d10:00, unknown sha: ships everything merged before it).
#   PR 3 merged into feature/x 4d10:00: not a production change → never deployed, cycle ends
#        at the merge (o 4d09:00 → m 4d10:00 = 1); today deployed by L2.
#   PR 4 merged into release/1.2 4d11:00 — a release branch (release_branch_patterns ^release/)
#        → deployed by L2: deploy 23, cycle 4d09:00 → 5d10:00 = 25.
#   L2 ships PR 4 only: change_count 1.
def test_only_merges_into_production_branches_are_deployed(org):
    feature, release = (pull_request(org, "acme/legacy", n) for n in (3, 4))
    assert (feature["is_production_branch"], feature["deployed_at"], feature["cycle_hours"]) == (
        False, None, 1.0)
    assert (release["is_production_branch"], release["deployed_at"], release["deploy_hours"],
            release["cycle_hours"]) == (True, t(5, 10), 23.0, 25.0)
    assert deployments(org, "acme/legacy")[t(5, 10)]["change_count"] == 1


# --- reopened PRs ---------------------------------------------------------------------------
#
# acme/lab PR 8 (carol, platform): opened 2d09:00, closed 3d09:00, reopened and still open;
# GitHub kept the old closed_at. An open PR is not closed: closed_at null, and it is work in
# progress at W10's end (9 March 00:00) and at AS_OF, with PR 5 → organization WIP 2 in both
# weeks (today 1), platform 1; neither is stale (last activity 2d09:00 and 2d12:00, less than
# 14 days before either snapshot).
def test_a_reopened_pr_is_open_again(org):
    assert pull_request(org, "acme/lab", 8)["closed_at"] is None
    rows = org.query("select week_start, grouping_level, team, wip_at_week_end, "
                     "stale_prs_at_week_end from marts.pr_flow_weekly "
                     f"where week_start in ('{W10}', '{W11}') order by all")
    assert rows == [(W10, "organization", None, 2, 0), (W10, "team", "payments", 1, 0),
                    (W10, "team", "platform", 1, 0), (W11, "organization", None, 2, 0),
                    (W11, "team", "payments", 1, 0), (W11, "team", "platform", 1, 0)]


# --- partial periods and the deployment-frequency band ---------------------------------------
#
# Deployment frequency in DORA's sense is how often a team deploys: the band counts deployment
# days, per 7 elapsed days of the period: elite ≥ 5 (every working day), high ≥ 1 (weekly),
# medium ≥ 7/30 (monthly), else low.
# W11 (partial: 9–12 March elapsed, 4 days): acme/burst deployed 8 times on one day (10 March)
#   → deployments_per_day 8/4 = 2.0 (today 8/7, elite); deployment days per week 1 · 7/4 = 1.75
#   → high. The organization's W11 is acme/burst's.
# W10 (complete, 7 days): I1, v1.0.0 (2 March), L1, v1.1.0 (3), S1 (4), L2 (5) → 6 deployments
#   on 4 days: 6/7 per day; 4 days per week → high.
# March (partial, 12 days): 14 deployments on 5 days → 14/12 per day; 5 · 7/12 ≈ 2.9 → high.
def test_deployment_frequency_counts_deployment_days_over_elapsed_days(org):
    weekly = {(row["period_start"], row["grouping_level"], row["service"]): (
        row["deployment_count"], row["deployment_days"], row["elapsed_days"],
        row["is_partial_period"], row["deployments_per_day"], row["deployment_frequency_band"])
        for row in org.rows("select * from marts.dora_weekly")}
    assert weekly[(W11, "organization", None)] == (8, 1, 4, True, 2.0, "high")
    assert weekly[(W11, "service", "acme/burst")] == (8, 1, 4, True, 2.0, "high")
    assert weekly[(W10, "organization", None)] == (6, 4, 7, False, 6 / 7, "high")
    [march] = org.rows("select * from marts.dora_monthly where grouping_level = 'organization'")
    assert (march["period_start"], march["deployment_count"], march["deployment_days"],
            march["elapsed_days"], march["is_partial_period"], march["deployments_per_day"],
            march["deployment_frequency_band"]) == (
        date(2026, 3, 1), 14, 5, 12, True, 14 / 12, "high")
