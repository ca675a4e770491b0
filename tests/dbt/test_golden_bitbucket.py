"""Golden tests on Bitbucket Cloud (tests/dbt/golden_bitbucket.py): its pull requests, reviews,
commits and deployments land in the marts GitHub feeds, with people linked through their
Atlassian accounts."""

from __future__ import annotations

import pytest

from resources.marts.runner import build_org_marts
from tests.dbt import golden_bitbucket
from tests.dbt.dbt_org import bitbucket_dbt_org
from tests.dbt.golden_org import t


@pytest.fixture(scope="module")
def org(dbt_installation):
    built = bitbucket_dbt_org(dbt_installation, "bitbucket")
    build_org_marts(built.sieve, built.org_id, as_of=golden_bitbucket.AS_OF)
    return built


# #1: opened 2d09:00 by Alice, first commit 2d08:00; Bob approved 2d11:00 (Alice's own comment at
#     2d10:00 is no review); merged when its merge commit (abbreviated fff000111222 in the pull
#     request) landed, 2d12:00 — not at its last update (2d15:00); shipped by the production
#     deployment that completed 2d14:00 (staging at 2d13:30 is no production deployment).
#     coding 2d08→2d09 = 1 h, pickup 2d09→2d11 = 2 h, review 2d11→2d12 = 1 h,
#     deploy 2d12→2d14 = 2 h; cycle 6 h.
#     A reviewer asked on #1 who never took part (participated_on null) gave no review, not
#     even an untimed one: review_count 1, untimed_approval_count 0 (issue 15, item 2).
# #2: declined at its last update, 3d18:00; Alice asked for changes at 3d12:00 (a review); not
#     merged, so no cycle component (item 5).
# #3: merged into develop, not the main branch, at its last update 2d11:00 (its merge commit is
#     not among the main branch's): no change to production, so d2 (which ships what landed up to
#     2d12:00) does not ship it (item 8): coding 0, pickup 2d10→2d11 = 1, review 0, deploy null,
#     cycle 1.
# #4: opened 3d13:30, merged into main when its merge commit landed, 3d14:00 — after the commit
#     d4 deploys (pushed straight to main at 3d13:00) — so d4 does not ship it, though d4 ran
#     later (3d16:00): deployed_at null; coding 0, pickup 0.5, review 0, cycle 0.5.
def test_pull_requests_are_timed_by_merge_commit_reviews_and_deployment(org):
    rows = org.rows("select number, author_person_id, first_commit_at, first_review_at, "
                    "approved_at, merged_at, closed_at, deployed_at, review_count, "
                    "untimed_approval_count, is_production_branch, coding_hours, pickup_hours, "
                    "review_hours, deploy_hours, cycle_hours "
                    "from marts.pull_requests where source = 'bitbucket' order by number")
    assert rows == [
        {"number": 1, "author_person_id": "p_alice", "first_commit_at": t(2, 8),
         "first_review_at": t(2, 11), "approved_at": t(2, 11), "merged_at": t(2, 12),
         "closed_at": t(2, 12), "deployed_at": t(2, 14), "review_count": 1,
         "untimed_approval_count": 0, "is_production_branch": True, "coding_hours": 1.0,
         "pickup_hours": 2.0, "review_hours": 1.0, "deploy_hours": 2.0, "cycle_hours": 6.0},
        {"number": 2, "author_person_id": "p_bob", "first_commit_at": t(3, 9),
         "first_review_at": t(3, 12), "approved_at": None, "merged_at": None,
         "closed_at": t(3, 18), "deployed_at": None, "review_count": 1,
         "untimed_approval_count": 0, "is_production_branch": True, "coding_hours": None,
         "pickup_hours": None, "review_hours": None, "deploy_hours": None, "cycle_hours": None},
        {"number": 3, "author_person_id": "p_bob", "first_commit_at": None,
         "first_review_at": None, "approved_at": None, "merged_at": t(2, 11),
         "closed_at": t(2, 11), "deployed_at": None, "review_count": 0,
         "untimed_approval_count": 0, "is_production_branch": False, "coding_hours": 0.0,
         "pickup_hours": 1.0, "review_hours": 0.0, "deploy_hours": None, "cycle_hours": 1.0},
        {"number": 4, "author_person_id": "p_alice", "first_commit_at": None,
         "first_review_at": None, "approved_at": None, "merged_at": t(3, 14),
         "closed_at": t(3, 14), "deployed_at": None, "review_count": 0,
         "untimed_approval_count": 0, "is_production_branch": True, "coding_hours": 0.0,
         "pickup_hours": 0.5, "review_hours": 0.0, "deploy_hours": None, "cycle_hours": 0.5}]


# d2 and d4 count: d1 went to staging, d3 failed. d2's one change (#1; not #3, merged into
# develop) took 6 h from first commit (2d08:00) to deployment (2d14:00). d4 deploys a commit that
# landed at 3d13:00 (its time from the main branch's commits): it ships what merged up to then,
# nothing (#4 merged at 3d14:00), not everything merged before it ran.
def test_successful_production_deployments_alone_count(org):
    rows = org.rows("select source, repository, environment, deployed_at, change_count, "
                    "lead_time_max_hours from marts.deployments order by deployed_at")
    assert rows == [{"source": "bitbucket", "repository": "acme/portal",
                     "environment": "Production", "deployed_at": t(2, 14), "change_count": 1,
                     "lead_time_max_hours": 6.0},
                    {"source": "bitbucket", "repository": "acme/portal",
                     "environment": "Production", "deployed_at": t(3, 16), "change_count": 0,
                     "lead_time_max_hours": None}]


# Reviews by person: Bob reviewed Alice's #1, Alice reviewed Bob's #2.
def test_reviewers_are_linked_through_their_atlassian_accounts(org):
    assert org.query("select reviewer_person_id, state from intermediate.int_pull_request_reviews "
                     "order by submitted_at") == [("p_bob", "APPROVED"),
                                                  ("p_alice", "CHANGES_REQUESTED")]
