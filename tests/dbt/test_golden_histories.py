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
