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
# #2: declined at its last update, 3d18:00; Alice asked for changes at 3d12:00 (a review).
def test_pull_requests_are_timed_by_merge_commit_reviews_and_deployment(org):
    rows = org.rows("select number, author_person_id, first_commit_at, first_review_at, "
                    "approved_at, merged_at, closed_at, deployed_at, review_count "
                    "from marts.pull_requests where source = 'bitbucket' order by number")
    assert rows == [
        {"number": 1, "author_person_id": "p_alice", "first_commit_at": t(2, 8),
         "first_review_at": t(2, 11), "approved_at": t(2, 11), "merged_at": t(2, 12),
         "closed_at": t(2, 12), "deployed_at": t(2, 14), "review_count": 1},
        {"number": 2, "author_person_id": "p_bob", "first_commit_at": t(3, 9),
         "first_review_at": t(3, 12), "approved_at": None, "merged_at": None,
         "closed_at": t(3, 18), "deployed_at": None, "review_count": 1}]
    [(coding, pickup, review, deploy, cycle)] = org.query(
        "select coding_hours, pickup_hours, review_hours, deploy_hours, cycle_hours "
        "from marts.pull_requests where source = 'bitbucket' and number = 1")
    assert (coding, pickup, review, deploy, cycle) == (1.0, 2.0, 1.0, 2.0, 6.0)


# Only d2 counts: d1 went to staging, d3 failed. Its one change (#1) took 6 h from first commit
# (2d08:00) to deployment (2d14:00).
def test_successful_production_deployments_alone_count(org):
    rows = org.rows("select source, repository, environment, deployed_at, change_count, "
                    "lead_time_max_hours from marts.deployments")
    assert rows == [{"source": "bitbucket", "repository": "acme/portal",
                     "environment": "Production", "deployed_at": t(2, 14), "change_count": 1,
                     "lead_time_max_hours": 6.0}]


# Reviews by person: Bob reviewed Alice's #1, Alice reviewed Bob's #2.
def test_reviewers_are_linked_through_their_atlassian_accounts(org):
    assert org.query("select reviewer_person_id, state from intermediate.int_pull_request_reviews "
                     "order by submitted_at") == [("p_bob", "APPROVED"),
                                                  ("p_alice", "CHANGES_REQUESTED")]
