"""Golden tests: the golden organization (tests/dbt/golden_org.py) built by dbt, every mart
value compared with the value worked out by hand in the comments here.

Hours are exact in binary floating point (every time is on a quarter hour), so values are
compared with ==. Weeks are ISO weeks starting Monday 00:00 UTC: W10 = 2026-03-02,
W11 = 2026-03-09. The reporting window ends at AS_OF = 2026-03-13 00:00.
"""

from __future__ import annotations

from datetime import date

import pytest

from assets.dbt import build_org_marts
from tests.dbt import golden_org as golden

W10, W11 = date(2026, 3, 2), date(2026, 3, 9)


@pytest.fixture(scope="module")
def org(dbt_org_factory):
    org = dbt_org_factory("golden", golden.CONFIG_YAML)
    org.write(golden.GITHUB, connection_id="conn_gh")
    org.write(golden.JIRA, connection_id="conn_jira")
    org.write(golden.IDENTITIES)
    build_org_marts(org.sieve, org.org_id, as_of=golden.AS_OF)
    return org


def by_number(org) -> dict[int, dict]:
    return {row["number"]: row for row in org.rows("select * from marts.pull_requests")}


# --- pull_requests --------------------------------------------------------------------------
#
# (times on March 2026; c = first commit, o = opened, r = first counted review,
#  a = first approval, m = merged, d = first production deployment)
#
# PR 1 alice  c 2d08:00 o 10:00 r 12:00 (bob; ci-bot's 10:30 comment is a bot's) a 12:00
#             m 14:00 d 16:00 (D1 ships sha m1)
#             coding 2, pickup 2, review 2, deploy 2, cycle 8
# PR 2 bob    c 2d09:00 o 11:00, no review, m 13:00 (squash s2), d 16:00 (D1 ships m1, which
#             landed at 14:00, after s2)
#             coding 2, pickup 2 (open → merge), review 0, deploy 3, cycle 7; without review
# PR 3 carol  c 2d15:00 o 16:00 r 20:00 (alice) a 21:00 (bob) m 22:00 (squash s3)
#             d 3d10:00 (D2 deploys s3 itself: the squash commit links it)
#             coding 1, pickup 4, review 2, deploy 12, cycle 19; 2 reviews, 2 reviewers
# PR 4 bot    no commits, o 3d01:00, m 01:30. D2 (deployed 3d10:00, after the merge) shipped
#             s3, which landed 2d22:00, so not m4; D3 failed; D4 went to staging; the api
#             workflow run is not a second deployment → d = D5 4d09:00
#             coding 0, pickup 0.5, review 0, deploy 31.5, cycle 32; is_bot
# PR 5 alice  revert of PR 1: c 4d09:30 o 10:00 r=a 10:30 (carol) m 11:00 d 12:00 (D6)
#             coding 0.5, pickup 0.5, review 0.5, deploy 1, cycle 2.5; is_revert
# PR 6 dan    service checkout (label): c 9d08:00 o 09:00 r=a 10:00 m 11:00; the search
#             deploy at 12:00 (W1) does not ship checkout; W2 "Deploy checkout" 13:00 does
#             coding 1, pickup 1, review 1, deploy 2, cycle 5; team none
# PR 7 bob    hotfix, service search: c 9d13:30 o 14:00, no review, m 15:00, d 16:00 (W3; the
#             failed search run at 15:30 is no deployment)
#             coding 0.5, pickup 1, review 0, deploy 1, cycle 2.5; without review
# PR 8 carol  open: o 5d10:00; its author's comment and bob's pending review do not count
# PR 9 alice  closed unmerged 3d10:00
PR_EXPECTED = {
    1: dict(coding_hours=2.0, pickup_hours=2.0, review_hours=2.0, deploy_hours=2.0,
            cycle_hours=8.0, review_count=1, reviewer_count=1, is_merged_without_review=False),
    2: dict(coding_hours=2.0, pickup_hours=2.0, review_hours=0.0, deploy_hours=3.0,
            cycle_hours=7.0, review_count=0, reviewer_count=0, is_merged_without_review=True),
    3: dict(coding_hours=1.0, pickup_hours=4.0, review_hours=2.0, deploy_hours=12.0,
            cycle_hours=19.0, review_count=2, reviewer_count=2, is_merged_without_review=False),
    4: dict(coding_hours=0.0, pickup_hours=0.5, review_hours=0.0, deploy_hours=31.5,
            cycle_hours=32.0, review_count=0, reviewer_count=0, is_merged_without_review=True),
    5: dict(coding_hours=0.5, pickup_hours=0.5, review_hours=0.5, deploy_hours=1.0,
            cycle_hours=2.5, review_count=1, reviewer_count=1, is_merged_without_review=False),
    6: dict(coding_hours=1.0, pickup_hours=1.0, review_hours=1.0, deploy_hours=2.0,
            cycle_hours=5.0, review_count=1, reviewer_count=1, is_merged_without_review=False),
    7: dict(coding_hours=0.5, pickup_hours=1.0, review_hours=0.0, deploy_hours=1.0,
            cycle_hours=2.5, review_count=0, reviewer_count=0, is_merged_without_review=True),
    8: dict(coding_hours=None, pickup_hours=None, review_hours=None, deploy_hours=None,
            cycle_hours=None, review_count=0, reviewer_count=0, is_merged_without_review=False),
    9: dict(coding_hours=None, pickup_hours=None, review_hours=None, deploy_hours=None,
            cycle_hours=None, review_count=0, reviewer_count=0, is_merged_without_review=False),
}


def test_pull_request_cycle_breakdown(org):
    prs = by_number(org)
    assert set(prs) == set(PR_EXPECTED)
    for number, expected in PR_EXPECTED.items():
        actual = {name: prs[number][name] for name in expected}
        assert actual == expected, f"PR {number}"


def test_components_sum_to_cycle_time_with_and_without_reviews(org):
    for number, pr in by_number(org).items():
        if pr["cycle_hours"] is not None:
            parts = (pr["coding_hours"] + pr["pickup_hours"] + pr["review_hours"]
                     + (pr["deploy_hours"] or 0.0))
            assert parts == pr["cycle_hours"], f"PR {number}"


def test_pull_request_timeline(org):
    prs = by_number(org)
    assert prs[1]["first_review_at"] == golden.t(2, 12)  # not ci-bot's 10:30 comment
    assert prs[1]["approved_at"] == golden.t(2, 12)
    assert prs[3]["first_review_at"] == golden.t(2, 20)
    assert prs[3]["approved_at"] == golden.t(2, 21)
    assert prs[3]["first_commit_at"] == golden.t(2, 15)
    assert prs[8]["first_review_at"] is None  # its author's comment and a pending review
    assert [prs[n]["deployed_at"] for n in range(1, 8)] == [
        golden.t(2, 16), golden.t(2, 16), golden.t(3, 10), golden.t(4, 9), golden.t(4, 12),
        golden.t(9, 13), golden.t(9, 16)]
    assert prs[8]["deployed_at"] is None and prs[9]["merged_at"] is None


def test_squash_merge_is_linked_to_its_deployment_by_merge_commit(org):
    # PR 3's branch commit c3 never reached main; D2 deployed its squash commit s3.
    prs = by_number(org)
    assert prs[3]["deployed_at"] == golden.t(3, 10)
    # PR 4 merged before D2 finished but after s3 landed: not in D2.
    assert prs[4]["deployed_at"] == golden.t(4, 9)


def test_people_teams_bots_and_flags(org):
    prs = by_number(org)
    assert {n: (pr["author_person_id"], pr["team"]) for n, pr in prs.items()} == {
        1: ("p_alice", "payments"), 2: ("p_bob", "payments"), 3: ("p_carol", "platform"),
        4: ("p_dependabot", None), 5: ("p_alice", "payments"), 6: ("p_dan", None),
        7: ("p_bob", "payments"), 8: ("p_carol", "platform"), 9: ("p_alice", "payments")}
    assert [n for n, pr in prs.items() if pr["is_bot"]] == [4]
    assert [n for n, pr in sorted(prs.items()) if pr["is_revert"]] == [5]
    assert [n for n, pr in sorted(prs.items()) if pr["is_hotfix"]] == [7]
    assert {n: pr["service_name"] for n, pr in prs.items() if pr["service_name"]} == {
        6: "checkout", 7: "search"}
