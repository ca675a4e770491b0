"""Golden tests: the golden organization (tests/dbt/golden_org.py) built by dbt, every mart
value compared with the value worked out by hand in the comments here.

Hours are exact in binary floating point (every time is on a quarter hour), so values are
compared with ==. Weeks are ISO weeks starting Monday 00:00 UTC: W10 = 2026-03-02,
W11 = 2026-03-09. The reporting window ends at AS_OF = 2026-03-13 00:00.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.dbt import golden_org as golden

W10, W11 = date(2026, 3, 2), date(2026, 3, 9)


@pytest.fixture
def org(built_golden_org):
    return built_golden_org


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


# --- deployments ----------------------------------------------------------------------------
#
# Production deployments that count (7): api D1 2d16:00, D2 3d10:00, D5 4d09:00, D6 4d12:00
# (first "success" status of a production-environment deployment; D3 failed, D4 went to
# staging, api's deploy workflow and release v1.0.0 are not second counts since api reports
# deployments); shop W1 search 9d12:00, W2 checkout 9d13:00, W3 search 9d16:00 ("Deploy <svc>
# to prod" runs that succeeded; the skipped and failed runs and "CI" do not count).
#
# key   service   changes (lead h)         failed by                       recovered  rec h rework
# D1    acme/api  PR1 8, PR2 7 → med 7.5   revert PR5 (reverts PR1)        4d12:00    44    no
# D2    acme/api  PR3 19                   incident OPS-1 3d14:00 (D2 is   3d18:00     8    no
#                                          the last deploy ≤ 72 h before)
# D5    acme/api  PR4 (bot: no lead time)  -                                                 no
# D6    acme/api  PR5 2.5                  -                                         yes (revert)
# W1    search    none                     hotfix PR7 opened 9d14:00       9d16:00     4    no
#                                          (W2 is checkout: not blamed)
# W2    checkout  PR6 5                    -                                                 no
# W3    search    PR7 2.5                  -                                         yes (hotfix)
# OPS-2 (12d20:00) is 76 h after W3: no deployment is blamed.
DEPLOYMENTS_EXPECTED = {
    # deployed_at: (service, change_count, bot_change_count, lead median, lead max,
    #               failure_kinds, recovered_at, recovery_hours, is_rework)
    golden.t(2, 16): ("acme/api", 2, 0, 7.5, 8.0, ["revert"], golden.t(4, 12), 44.0, False),
    golden.t(3, 10): ("acme/api", 1, 0, 19.0, 19.0, ["incident"], golden.t(3, 18), 8.0, False),
    golden.t(4, 9): ("acme/api", 1, 1, None, None, [], None, None, False),
    golden.t(4, 12): ("acme/api", 1, 0, 2.5, 2.5, [], None, None, True),
    golden.t(9, 12): ("search", 0, 0, None, None, ["hotfix"], golden.t(9, 16), 4.0, False),
    golden.t(9, 13): ("checkout", 1, 0, 5.0, 5.0, [], None, None, False),
    golden.t(9, 16): ("search", 1, 0, 2.5, 2.5, [], None, None, True),
}


def test_deployments(org):
    rows = org.rows("select * from marts.deployments")
    actual = {row["deployed_at"]: (
        row["service"], row["change_count"], row["bot_change_count"],
        row["lead_time_median_hours"], row["lead_time_max_hours"], row["failure_kinds"],
        row["recovered_at"], row["recovery_hours"], row["is_rework"]) for row in rows}
    assert actual == DEPLOYMENTS_EXPECTED
    assert all(row["is_failed"] == bool(row["failure_kinds"]) for row in rows)
    # Detected: the revert's merge (PR5 4d11:00), the incident's start, the hotfix's opening.
    assert {row["deployed_at"]: row["failure_detected_at"] for row in rows if row["is_failed"]} == {
        golden.t(2, 16): golden.t(4, 11), golden.t(3, 10): golden.t(3, 14),
        golden.t(9, 12): golden.t(9, 14)}


def test_failed_and_skipped_ci_runs_are_not_deployments(org):
    kinds = org.query("select kind, count(*) from marts.deployments group by all order by 1")
    assert kinds == [("deployment", 4), ("workflow_run", 3)]


def test_incidents_are_attributed_within_the_time_window_only(org):
    # OPS-2 started 76 h after the last deployment: blamed on none.
    assert org.query("select count(*) from marts.deployments "
                     "where list_contains(failure_kinds, 'incident')") == [(1,)]


# --- dora_weekly / dora_monthly --------------------------------------------------------------
#
# Lead time = each human change's first commit → its first production deployment (PR cycle).
# CFR = failed / deployments; rework = deployments shipping a revert or hotfix / deployments;
# recovery = median (deployed → recovered) of the period's failed deployments.
#
# organization W10: D1 D2 D5 D6 → 4 deployments on 3 days; changes PR1 8, PR2 7, PR3 19,
#   PR5 2.5 → sorted 2.5 7 8 19: median 7.5, p75 (pos 2.25) 8 + .25·11 = 10.75; failed D1 D2
#   → 0.5; recovery 44, 8 → 26; rework D6 → 0.25
# organization W11: W1 W2 W3 → 3 on 1 day; PR6 5, PR7 2.5 → median 3.75, p75 (pos .75)
#   2.5 + .75·2.5 = 4.375; failed W1 → 1/3; recovery 4; rework W3 → 1/3
# payments (alice, bob) W10: D1 (PR1, PR2), D6 (PR5) → 2 on 2 days; 8 7 2.5 → median 7,
#   p75 (pos 1.5) 7.5; failed D1 → 0.5, recovery 44; rework D6 → 0.5
# payments W11: W3 (PR7) → 1; 2.5; failed 0 → 0.0; rework 1 → 1.0
# platform (carol) W10: D2 (PR3) → 1; 19; failed → 1.0, recovery 8; rework 0.0. W11: nothing.
# service acme/api W10 = organization W10; W11 nothing.
# service search W11: W1, W3 → 2 on 1 day; PR7 2.5; failed W1 → 0.5, recovery 4;
#   rework W3 → 0.5. W10 nothing.  service checkout W11: W2 → 1; PR6 5; 0.0; rework 0.0.
# Dan's PR6 has no team: it counts for the organization and its service, for no team.
# Bands: frequency in deployment days per 7 elapsed days ≥ 5 elite, ≥ 1 high, any deployment
#   day medium, else low (W11 is partial: 4 days elapsed, 1 day → 1.75 per 7 → high);
#   lead < 24 h elite;
#   CFR ≤ 5 % elite … > 15 % low; recovery < 1 h elite, < 24 h high, < 1 week medium.
DORA_WEEKLY_EXPECTED = {
    # (week, level, team, service): (deployments, days, changes, lead median, lead p75,
    #   failed, CFR, recovery median, rework, rework rate, bands (freq, lead, CFR, recovery))
    (W10, "organization", None, None): (4, 3, 4, 7.5, 10.75, 2, 0.5, 26.0, 1, 0.25,
                                         ("high", "elite", "low", "medium")),
    (W11, "organization", None, None): (3, 1, 2, 3.75, 4.375, 1, 1 / 3, 4.0, 1, 1 / 3,
                                         ("high", "elite", "low", "high")),
    (W10, "team", "payments", None): (2, 2, 3, 7.0, 7.5, 1, 0.5, 44.0, 1, 0.5,
                                      ("high", "elite", "low", "medium")),
    (W11, "team", "payments", None): (1, 1, 1, 2.5, 2.5, 0, 0.0, None, 1, 1.0,
                                      ("high", "elite", "elite", None)),
    (W10, "team", "platform", None): (1, 1, 1, 19.0, 19.0, 1, 1.0, 8.0, 0, 0.0,
                                      ("high", "elite", "low", "high")),
    (W11, "team", "platform", None): (0, 0, 0, None, None, 0, None, None, 0, None,
                                      ("low", None, None, None)),
    (W10, "service", None, "acme/api"): (4, 3, 4, 7.5, 10.75, 2, 0.5, 26.0, 1, 0.25,
                                         ("high", "elite", "low", "medium")),
    (W11, "service", None, "acme/api"): (0, 0, 0, None, None, 0, None, None, 0, None,
                                         ("low", None, None, None)),
    (W10, "service", None, "search"): (0, 0, 0, None, None, 0, None, None, 0, None,
                                       ("low", None, None, None)),
    (W11, "service", None, "search"): (2, 1, 1, 2.5, 2.5, 1, 0.5, 4.0, 1, 0.5,
                                       ("high", "elite", "low", "high")),
    (W10, "service", None, "checkout"): (0, 0, 0, None, None, 0, None, None, 0, None,
                                         ("low", None, None, None)),
    (W11, "service", None, "checkout"): (1, 1, 1, 5.0, 5.0, 0, 0.0, None, 0, 0.0,
                                         ("high", "elite", "elite", None)),
}


def dora_rows(org, table: str) -> dict:
    return {(row["period_start"], row["grouping_level"], row["team"], row["service"]): (
        row["deployment_count"], row["deployment_days"], row["change_count"],
        row["lead_time_median_hours"], row["lead_time_p75_hours"],
        row["failed_deployment_count"], row["change_fail_rate"],
        row["failed_deployment_recovery_median_hours"], row["rework_deployment_count"],
        row["deployment_rework_rate"],
        (row["deployment_frequency_band"], row["lead_time_band"], row["change_fail_rate_band"],
         row["recovery_time_band"])) for row in org.rows(f"select * from marts.{table}")}


def test_dora_weekly(org):
    assert dora_rows(org, "dora_weekly") == DORA_WEEKLY_EXPECTED


def test_partial_periods_divide_by_their_elapsed_days(org):
    # AS_OF is Friday 13 March 00:00: W11 has had 4 days (9–12 March), March 12. W10 is whole.
    # organization W10: 4 deployments / 7 days; W11: 3 / 4 = 0.75 (not 3 / 7);
    # March: 7 / 12 (not 7 / 31).
    weekly = {row["period_start"]: (row["is_partial_period"], row["elapsed_days"],
                                    row["deployments_per_day"])
              for row in org.rows("select * from marts.dora_weekly "
                                  "where grouping_level = 'organization'")}
    assert weekly == {W10: (False, 7, 4 / 7), W11: (True, 4, 0.75)}
    assert org.query("select is_partial_period, elapsed_days, deployments_per_day "
                     "from marts.dora_monthly where grouping_level = 'organization'") == [
        (True, 12, 7 / 12)]


def test_dora_monthly_organization(org):
    # March 2026 (31 days), organization: 7 deployments on 4 days (2, 3, 4, 9 March), 7/31
    # per day → high; changes 2.5 2.5 5 7 8 19 → median 6, p75 (pos 3.75) 7.75; failed D1 D2
    # W1 → 3/7, recovery 44 8 4 → 8; rework D6 W3 → 2/7.
    rows = dora_rows(org, "dora_monthly")
    assert rows[(date(2026, 3, 1), "organization", None, None)] == (
        7, 4, 6, 6.0, 7.75, 3, 3 / 7, 8.0, 2, 2 / 7, ("high", "elite", "low", "high"))
    assert len(rows) == 6  # one month × (organization, 2 teams, 3 services)


# --- pr_flow_weekly -------------------------------------------------------------------------
#
# Human PRs only (PR4 is dependabot's: bot_prs_merged). Snapshots at week end: W10 ends
# 9 March 00:00; W11 is cut at AS_OF, 13 March 00:00.
# organization W10: opened 1 2 3 5 8 9 → 6; merged 1 2 3 5 → 4, bot 1
#   cycle 8 7 19 2.5 → median 7.5, p75 10.75 · coding 2 2 1 .5 → 1.5, p75 (pos 2.25) 2
#   pickup 2 2 4 .5 → 2, 2.5 · review 2 0 2 .5 → 1.25, 2 · deploy 2 3 12 1 → 2.5, 5.25
#   lines 40 7 300 40 → median 40; ≤10 xs: PR2; ≤50 s: PR1 PR5; ≤1000 l: PR3
#   reviewed 1 3 5 → coverage .75; merged without review: PR2
#   WIP at 9 March: PR8; its last activity (creation 5d10:00) is more than 3 days old: stale.
# organization W11: opened 6 7; merged 6 7 → cycle 5 2.5 → 3.75, 4.375 · coding 1 .5 → .75,
#   .875 · pickup 1 1 → 1, 1 · review 1 0 → .5, .75 · deploy 2 1 → 1.5, 1.75
#   lines 1100 2 → median 551; xs PR7, xl PR6; coverage .5; without review PR7; WIP PR8, stale.
# payments W10: opened 1 2 5 9; merged 1 2 5 → cycle 8 7 2.5 → 7, 7.5 · coding 2 2 .5 → 2, 2
#   pickup 2 2 .5 → 2, 2 · review 2 0 .5 → .5, 1.25 · deploy 2 3 1 → 2, 2.5 · lines 40 7 40
#   → 40; xs 1, s 2; coverage 2/3; without review 1; WIP 0.
# payments W11: PR7 → cycle 2.5, coding .5, pickup 1, review 0, deploy 1; xs 1; coverage 0.
# platform W10: opened 3 8; merged 3 → cycle 19, coding 1, pickup 4, review 2, deploy 12;
#   l 1; coverage 1; WIP PR8 stale.  platform W11: nothing merged; WIP PR8 stale.
PR_FLOW_COLUMNS = (
    "prs_opened", "prs_merged", "bot_prs_merged", "wip_at_week_end", "stale_prs_at_week_end",
    "cycle_median_hours", "cycle_p75_hours", "coding_median_hours", "coding_p75_hours",
    "pickup_median_hours", "pickup_p75_hours", "review_median_hours", "review_p75_hours",
    "deploy_median_hours", "deploy_p75_hours", "size_median_lines", "size_xs_count",
    "size_s_count", "size_m_count", "size_l_count", "size_xl_count", "review_coverage",
    "merged_without_review_count")
PR_FLOW_EXPECTED = {
    (W10, None): (6, 4, 1, 1, 1, 7.5, 10.75, 1.5, 2.0, 2.0, 2.5, 1.25, 2.0, 2.5, 5.25,
                  40.0, 1, 2, 0, 1, 0, 0.75, 1),
    (W11, None): (2, 2, 0, 1, 1, 3.75, 4.375, 0.75, 0.875, 1.0, 1.0, 0.5, 0.75, 1.5, 1.75,
                  551.0, 1, 0, 0, 0, 1, 0.5, 1),
    (W10, "payments"): (4, 3, 0, 0, 0, 7.0, 7.5, 2.0, 2.0, 2.0, 2.0, 0.5, 1.25, 2.0, 2.5,
                        40.0, 1, 2, 0, 0, 0, 2 / 3, 1),
    (W11, "payments"): (1, 1, 0, 0, 0, 2.5, 2.5, 0.5, 0.5, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0,
                        2.0, 1, 0, 0, 0, 0, 0.0, 1),
    (W10, "platform"): (2, 1, 0, 1, 1, 19.0, 19.0, 1.0, 1.0, 4.0, 4.0, 2.0, 2.0, 12.0, 12.0,
                        300.0, 0, 0, 0, 1, 0, 1.0, 0),
    (W11, "platform"): (0, 0, 0, 1, 1, None, None, None, None, None, None, None, None, None,
                        None, None, 0, 0, 0, 0, 0, None, 0),
}


def test_pr_flow_weekly(org):
    rows = org.rows("select * from marts.pr_flow_weekly")
    actual = {(row["week_start"], row["team"]): tuple(row[c] for c in PR_FLOW_COLUMNS)
              for row in rows}
    assert actual == PR_FLOW_EXPECTED
    assert {row["grouping_level"] for row in rows if row["team"] is None} == {"organization"}


# --- issue_flow_weekly / issue_investment_weekly ---------------------------------------------
#
# issue  team      created   started   done      lead  cycle  active (blocked is waiting)
# PAY-1  payments  2d09:00   2d12:00   4d12:00   51    48     24 + 12 = 36 (12 h blocked)
# PAY-2  payments  3d09:00   3d10:00   3d14:00    5     4      4   (a bug)
# PAY-3  platform  2d08:00   5d09:00   -         in progress at both week ends
# PAY-4  payments  9d09:00   9d10:00   10d10:00  25    24     24   (epic PAY-10)
# PAY-5  -         10d09:00  -         -         to do
# OPS-1  -         3d14:00   -         3d18:00    4    -      (no transitions: resolution date)
# OPS-2  -         12d20:00  -         12d22:00   2    -
# organization W10: created PAY-1 2 3 OPS-1 → 4; completed PAY-1 PAY-2 OPS-1 → 3, points 5;
#   lead 51 5 4 → median 5, p75 (pos 1.5) 5 + .5·46 = 28; cycle 48 4 → 26,
#   p75 4 + .75·44 = 37;
#   flow efficiency (36 + 4) / (48 + 4) = 40/52; bugs 1/3; WIP PAY-3 → 1
# organization W11: created PAY-4 PAY-5 OPS-2 → 3; completed PAY-4 OPS-2 → 2, points 0;
#   lead 25 2 → 13.5, p75 2 + .75·23 = 19.25; cycle 24; efficiency 1; bugs 0; WIP PAY-3
# payments W10: created 2, completed 2 (5 points); lead 51 5 → 28, p75 39.5; cycle 26, 37;
#   efficiency 40/52 (kept to 6 decimals: 0.769231); bugs 1/2; WIP 0.  payments W11: PAY-4: 1, 1, 0 points, 25, 24, 1.0, 0.
# platform W10: created PAY-3; nothing completed; WIP 1.  W11: WIP 1.
ISSUE_FLOW_COLUMNS = (
    "issues_created", "issues_completed", "points_completed", "wip_at_week_end",
    "lead_time_median_hours", "lead_time_p75_hours", "cycle_time_median_hours",
    "cycle_time_p75_hours", "flow_efficiency", "bug_ratio")
ISSUE_FLOW_EXPECTED = {
    (W10, None): (4, 3, 5.0, 1, 5.0, 28.0, 26.0, 37.0, round(40 / 52, 6), 1 / 3),
    (W11, None): (3, 2, 0.0, 1, 13.5, 19.25, 24.0, 24.0, 1.0, 0.0),
    (W10, "payments"): (2, 2, 5.0, 0, 28.0, 39.5, 26.0, 37.0, round(40 / 52, 6), 0.5),
    (W11, "payments"): (1, 1, 0.0, 0, 25.0, 25.0, 24.0, 24.0, 1.0, 0.0),
    (W10, "platform"): (1, 0, 0.0, 1, None, None, None, None, None, None),
    (W11, "platform"): (0, 0, 0.0, 1, None, None, None, None, None, None),
}


def test_issue_flow_weekly(org):
    rows = org.rows("select * from marts.issue_flow_weekly")
    actual = {(row["week_start"], row["team"]): tuple(row[c] for c in ISSUE_FLOW_COLUMNS)
              for row in rows}
    assert actual == ISSUE_FLOW_EXPECTED


def test_issue_investment_weekly(org):
    rows = org.query("select week_start, team, issue_type, epic_key, issues_completed, "
                     "points_completed from marts.issue_investment_weekly order by all")
    assert rows == [
        (W10, "payments", "Bug", None, 1, 2.0),
        (W10, "payments", "Story", None, 1, 3.0),
        (W10, None, "Incident", None, 1, 0.0),
        (W11, "payments", "Task", "PAY-10", 1, 0.0),
        (W11, None, "Incident", None, 1, 0.0),
    ]


# --- sprint_outcomes ------------------------------------------------------------------------
#
# Sprint 1 (2d10:00 → completed 6d18:00): PAY-1 (3 points, existed before the start: committed,
#   done 4d12:00), PAY-3 (5, committed, not done), PAY-2 (2, created 3d09:00: added, done).
#   committed 2 issues / 8 points; added 1 / 2; completed 2 / 5; committed and completed
#   1 / 3; not completed 1; predictability 3/8 points, 1/2 issues.
# Sprint 2 (active, 9d09:30 → planned end 13d18:00): PAY-3 (5, committed, not done), PAY-4 (no
#   points, created 9d09:00: committed, done 10d10:00). committed 2 / 5; added 0; completed
#   1 / 0; committed and completed 1 / 0; not completed 1; predictability 0/5 = 0, 1/2.
# Sprint 3 has not started: no row.
def test_sprint_outcomes(org):
    rows = org.query(
        "select sprint_id, state, committed_issues, committed_points, added_issues, "
        "added_points, completed_issues, completed_points, completed_committed_issues, "
        "completed_committed_points, not_completed_issues, predictability_points, "
        "predictability_issues from marts.sprint_outcomes order by sprint_id")
    assert rows == [
        (1, "closed", 2, 8.0, 1, 2.0, 2, 5.0, 1, 3.0, 1, 0.375, 0.5),
        (2, "active", 2, 5.0, 0, 0.0, 1, 0.0, 1, 0.0, 1, 0.0, 0.5),
    ]


# --- review_load ----------------------------------------------------------------------------
#
# Counted reviews: bob → PR1 (alice) 2d12:00, alice → PR3 (carol) 2d20:00, bob → PR3 2d21:00,
# carol → PR5 (alice) 4d10:30, carol → PR6 (dan) 9d10:00. ci-bot's comment, carol's comment on
# her own PR8 and bob's pending review do not count. PRs authored (humans): W10 alice 1 5 9,
# bob 2, carol 3 8; W11 dan 6, bob 7.
def test_review_load(org):
    rows = org.query("select week_start, person_id, team, reviews_given, prs_reviewed, "
                     "reviews_received, prs_authored from marts.review_load order by all")
    assert rows == [
        (W10, "p_alice", "payments", 1, 1, 2, 3),
        (W10, "p_bob", "payments", 2, 2, 0, 1),
        (W10, "p_carol", "platform", 1, 1, 2, 2),
        (W11, "p_bob", "payments", 0, 0, 0, 1),
        (W11, "p_carol", "platform", 1, 1, 0, 0),
        (W11, "p_dan", None, 0, 0, 1, 1),
    ]


# --- knowledge_concentration ----------------------------------------------------------------
#
# Window: the 90 days before AS_OF (dan's October commit is outside; dependabot is a bot).
# acme/api commits: alice m1 m5 x1, bob s2, carol s3 → 5; top share 3/5; alice alone is more
#   than half → bus factor 1. Reviews: bob 2, alice 1, carol 1 → 4; top 2/4; bob + one more
#   = 3 > 2 → bus factor 2.
# acme/shop commits: dan 2, bob 2 → 4; top 0.5; bus factor 2. Reviews: carol 1 → 1.0, 1.
def test_knowledge_concentration(org):
    rows = org.query("select * from marts.knowledge_concentration order by repository")
    assert rows == [
        ("acme/api", 5, 3, 0.6, 1, 4, 3, 0.5, 2),
        ("acme/shop", 4, 2, 0.5, 2, 1, 1, 1.0, 1),
    ]


# --- channel_activity_weekly ----------------------------------------------------------------
#
# #eng W10: a (alice) + replies bob 0.5 h later and alice; b (bob) + his own reply and carol's
#   2 h later; c (carol) alone. The deploy bot's message and alice's join notice do not count.
#   messages 7, top-level 3, replies 4, threads 2, members 3, first reply median (0.5, 2) 1.25
# #eng W11: d (an account without a person) + alice's reply 1 h later: 2, 1, 1, 1, 2, 1.0
# #random W10: one message by bob: 1, 1, 0, 0, 1, no reply.
def test_channel_activity_weekly(org):
    rows = org.query("select week_start, channel_name, messages, top_level_messages, replies, "
                     "threads_started, active_members, first_reply_median_hours "
                     "from marts.channel_activity_weekly order by all")
    assert rows == [
        (W10, "eng", 7, 3, 4, 2, 3, 1.25),
        (W10, "random", 1, 1, 0, 0, 1, None),
        (W11, "eng", 2, 1, 1, 1, 2, 1.0),
    ]
