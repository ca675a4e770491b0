"""Golden tests on Azure DevOps (tests/dbt/golden_azuredevops.py): its pull requests, votes and
deploy pipeline runs obey issue 15's rules as GitHub's and GitLab's do
(tests/dbt/test_golden_histories.py), every value worked out by hand in the comments here.

Deployments (runs of "Deploy web to prod"): D1 2d14:00 (sha m2, #2's merge: ships what merged up
to 2d12:00), D2 3d12:00 (sha m8, #8's merge: up to 3d11:30). Run 503 failed: no deployment.
Weeks are ISO weeks: W10 = 2026-03-02.
"""

from __future__ import annotations

from datetime import date

import pytest

from resources.marts.runner import build_org_marts
from tests.dbt import golden_azuredevops
from tests.dbt.dbt_org import azuredevops_dbt_org
from tests.dbt.golden_org import t

W10 = date(2026, 3, 2)
COMPONENTS = ("coding_hours", "pickup_hours", "review_hours", "deploy_hours", "cycle_hours")


@pytest.fixture(scope="module")
def org(dbt_installation):
    built = azuredevops_dbt_org(dbt_installation, "azuredevops")
    build_org_marts(built.sieve, built.org_id, as_of=golden_azuredevops.AS_OF)
    return built


def pull_request(org, number: int) -> dict:
    [row] = org.rows(f"select * from marts.pull_requests "
                     f"where source = 'azuredevops' and number = {number}")
    return row


# Item 1. #1 completed 5 January 2025 09:00 → 12:00, fourteen months before D1 (more than
#   first_deployment_lookback_days, 7, before the first known deployment): never deployed as far
#   as Sieve knows. No commit, no vote: coding 0, pickup 3 (to the merge), review 0, deploy
#   null, cycle 3.
# Item 6. #2: first commit 2d09:00, opened 2d10:00, Bob's approving vote 2d09:30 — before the
#   pull request existed — completed 2d12:00, shipped by D1 2d14:00. Review starts at the
#   opening: coding 1, pickup 0, review 2d10→2d12 = 2, deploy 2d12→2d14 = 2, cycle
#   2d09→2d14 = 5 = 1 + 0 + 2 + 2.
# Item 8. #3 completed into feature/search 2d11:00 → 2d11:30, before D1's changes (up to 2d12:00):
#   not a change to production, never deployed: coding 0, pickup 0.5, review 0, deploy null,
#   cycle 0.5.
def test_old_merges_feature_branches_and_early_votes(org):
    old, early, feature = (pull_request(org, n) for n in (1, 2, 3))
    assert old["deployed_at"] is None
    assert [old[c] for c in COMPONENTS] == [0.0, 3.0, 0.0, None, 3.0]
    assert (early["first_review_at"], early["review_count"], early["deployed_at"]) == (
        t(2, 9, 30), 1, t(2, 14))
    assert [early[c] for c in COMPONENTS] == [1.0, 0.0, 2.0, 2.0, 5.0]
    assert (feature["is_production_branch"], feature["deployed_at"]) == (False, None)
    assert [feature[c] for c in COMPONENTS] == [0.0, 0.5, 0.0, None, 0.5]


# Item 2. #4: opened 3d09:00, Alice's approving vote has no time (its thread had no
#   publishedDate), completed 3d11:00, shipped by D2 3d12:00. The vote is counted apart, not as
#   a review: review_count 0, untimed_approval_count 1, pickup and review unknown (null), not
#   "merged without review"; coding 0, deploy 1, cycle 3.
# Item 5 and reopened PRs. #5 open with Bob's rejecting vote (3d10:00): a review
#   (review_count 1), no component. #7 abandoned 3d10:00 with a vote: no component. #6 abandoned
#   3d12:00 and reactivated: active again, so no closed_at (Azure kept the old closedDate) and no
#   component.
def test_untimed_votes_and_unmerged_pull_requests(org):
    untimed = pull_request(org, 4)
    assert (untimed["review_count"], untimed["untimed_approval_count"],
            untimed["first_review_at"], untimed["is_merged_without_review"]) == (0, 1, None, False)
    assert [untimed[c] for c in COMPONENTS] == [0.0, None, None, 1.0, 3.0]
    for number in (5, 6, 7):
        assert [pull_request(org, number)[c] for c in COMPONENTS] == [None] * 5, f"#{number}"
    assert pull_request(org, 5)["review_count"] == 1
    assert (pull_request(org, 6)["closed_at"], pull_request(org, 7)["closed_at"]) == (
        None, t(3, 10))


# Item 3. #8 'Revert "Voted on at no known time"' (opened 3d11:15, completed 3d11:30) reverts #4
#   (completed 3d11:00) before any deployment shipped it: D2 ships both (#4: cycle 3; #8: coding
#   0, pickup 0.25, review 0, deploy 0.5, cycle 0.75) and failed nothing; shipping a revert of an
#   undeployed change is no rework.
#   D1: #2 alone, lead time max 5. The failed run 503 is no deployment.
def test_deploy_pipeline_runs_ship_production_changes_and_an_early_revert_fails_nothing(org):
    assert [pull_request(org, 8)[c] for c in COMPONENTS] == [0.0, 0.25, 0.0, 0.5, 0.75]
    rows = org.query("select deployed_at, change_count, lead_time_max_hours, is_failed, "
                     "failure_kinds, recovery_hours, is_rework from marts.deployments "
                     "where repository = 'acme/web' order by deployed_at")
    assert rows == [(t(2, 14), 1, 5.0, False, [], None, False),
                    (t(3, 12), 2, 3.0, False, [], None, False)]


# pr_flow_weekly W10, organization: merged #2, #3, #4, #8 → 4. Review coverage leaves #4 out
#   (its only vote has no time): reviewed #2 / (4 − 1) = 1/3; merged without review #3, #8 → 2;
#   pickup median over #2 (0), #3 (0.5), #8 (0.25) → 0.25. Work in progress at W10's end
#   (9 March 00:00): #5 and the reactivated #6 → 2 (#7 was abandoned).
def test_weekly_flow_counts_timed_votes_and_reactivated_pull_requests(org):
    [week] = org.rows(f"select * from marts.pr_flow_weekly where week_start = '{W10}' "
                      "and grouping_level = 'organization'")
    assert (week["prs_merged"], week["review_coverage"], week["merged_without_review_count"],
            week["pickup_median_hours"], week["wip_at_week_end"]) == (4, 1 / 3, 2, 0.25, 2)


def test_votes_are_reviews_of_linked_people(org):
    assert org.query("select reviewer_person_id, state, submitted_at "
                     "from intermediate.int_pull_request_reviews "
                     "order by submitted_at nulls last") == [
        ("p_bob", "APPROVED", t(2, 9, 30)), ("p_bob", "APPROVED", t(3, 9, 30)),
        ("p_bob", "CHANGES_REQUESTED", t(3, 10)), ("p_alice", "APPROVED", None)]

