"""Golden tests on incidents from a tool and from labelled issues (tests/dbt/golden_incidents.py):
each incident counted once — with an incident tool reporting, labelled issues are not added
(docs/metrics.md, "Incidents").

Deployments: SH1 shop 2d10:00, SE1 search 4d09:00, SH2 shop 4d10:00.
"""

from __future__ import annotations

import pytest

from resources.marts.runner import build_org_marts
from tests.dbt import golden_incidents
from tests.dbt.dbt_org import incidents_dbt_org, mart_digests
from tests.dbt.golden_org import t


@pytest.fixture(scope="module")
def org(dbt_installation):
    """Built with the default incident_source (auto). The issues-only path is the golden
    histories organization's, which has no incident tool (test_golden_histories.py, case 4)."""
    built = incidents_dbt_org(dbt_installation, "incidents")
    build_org_marts(built.sieve, built.org_id, as_of=golden_incidents.AS_OF)
    return built


def failures(org) -> list[tuple]:
    return [(row["repository"], row["deployed_at"], row["failure_detected_at"],
             row["recovered_at"], row["recovery_hours"])
            for row in org.rows("select * from marts.deployments where is_failed "
                                "order by deployed_at")]


# auto: the tools reported incidents, so they alone count (OPS-1 and OPS-2 are not added).
#   Q1 (Shop API → shop, 4d11:00): last shop deployment in the 72 h before is SH2 (4d10:00).
#      Stored as triggered; its resolve log entry (4d14:00) recovers SH2: 4 h.
#   Q2 (search, unmapped → its own name, 4d12:00): SE1 (4d09:00) failed; resolved 4d13:30
#      → 4.5 h.
#   Q3 (Corporate VPN, 4d11:30) names a service nothing deploys: blamed on nothing (a labelled
#      issue naming nothing falls back to the single scope that deployed; a tool's incident
#      naming a service never does).
#   G1 (Opsgenie, shop → its own name, 2d12:00): SH1 (2d10:00) failed — the outage Jira also
#      has as OPS-2, counted once. Recovered when its last alert closed: A2 fired 2d12:08 and
#      closed 82 min later, 2d13:30 → 3.5 h. Acknowledged at its first alert's acknowledgement:
#      A1 fired 2d11:58, acknowledged 7 min later, 2d12:05.
#   G2 (Opsgenie, Office Network, 4d11:40) names a service nothing deploys: blamed on nothing;
#      resolved with alert A3 still open, so at its last update (4d12:10).
#   G3 (Opsgenie, 2d11:00) names only a service Sieve does not know (deleted): it names a
#      service, so it is blamed on nothing — not on SH1 (2d10:00), the only deployment in the
#      72 h before it, which would have made SH1's failure detected at 2d11:00, not 2d12:00.
#   G4 (Opsgenie, 4d12:30) names no service: like an unlabelled issue it is blamed only when a
#      single service or repository deployed in the 72 h before it; shop (SH1, SH2) and search
#      (SE1) did, so nothing says which broke: blamed on nothing (the organization's last
#      deployment, SH2, is not blamed; see the opsgenie-only organization below, where SH2 has
#      no other incident).
# Change fail rate: 3 failed of 3 deployments.
def test_tool_incidents_alone_count_when_a_tool_reports_them(org):
    assert failures(org) == [("acme/shop", t(2, 10), t(2, 12), t(2, 13, 30), 3.5),
                             ("acme/search", t(4, 9), t(4, 12), t(4, 13, 30), 4.5),
                             ("acme/shop", t(4, 10), t(4, 11), t(4, 14), 4.0)]
    assert org.query("select incident_source, count(*) from intermediate.int_incidents "
                     "group by 1 order by 1") == [("opsgenie", 4), ("pagerduty", 3)]
    [(acknowledged,)] = org.query("select acknowledged_at from intermediate.int_incidents "
                                  "where incident_id = 'Q1'")
    assert acknowledged == t(4, 11, 15)


def test_opsgenie_incidents_are_timed_by_their_alerts(org):
    assert org.query("select incident_id, labels, names_its_service, acknowledged_at, "
                     "resolved_at from intermediate.int_incidents "
                     "where incident_source = 'opsgenie' order by incident_id") == [
        ("G1", ["shop"], True, t(2, 12, 5), t(2, 13, 30)),
        ("G2", ["Office Network"], True, None, t(4, 12, 10)),
        ("G3", [], True, None, None),
        ("G4", [], False, None, None)]


@pytest.fixture(scope="module")
def opsgenie_only_org(dbt_installation):
    """Only the deployments mart and what it reads (int_incidents among them), with their
    data tests: the setting changes which incidents fail which deployment."""
    built = incidents_dbt_org(dbt_installation, "incidents-opsgenie",
                              "incident_source: opsgenie\n")
    build_org_marts(built.sieve, built.org_id, as_of=golden_incidents.AS_OF,
                    args=("build", "--select", "+deployments", "--exclude-resource-type",
                          "unit_test"))
    return built


# incident_source: opsgenie — an organization whose PagerDuty forwards to Opsgenie counts
# Opsgenie's incidents alone: G1 fails SH1 (3.5 h, as above); PagerDuty's Q1 and Q2 are not
# added, so SH2 and SE1 did not fail — nor does G4, which names no service while shop and search
# both deployed before it (blamed organization-wide, it would fail SH2, the last deployment).
# Change fail rate: 1 of 3.
def test_one_tool_alone_counts_when_the_setting_names_it(opsgenie_only_org):
    assert failures(opsgenie_only_org) == [("acme/shop", t(2, 10), t(2, 12), t(2, 13, 30), 3.5)]
    assert opsgenie_only_org.query("select incident_source, count(*) from "
                                   "intermediate.int_incidents group by 1") == [("opsgenie", 4)]


def test_a_rebuild_as_of_the_same_instant_is_byte_identical_per_mart(org):
    # Issue 21 item 8, for the marts fed by PagerDuty's and Opsgenie's incidents.
    first = mart_digests(org)
    failed = org.query("select count(*) from marts.deployments where is_failed")
    assert failed == [(3,)] and all(first[m] for m in ("deployments", "dora_weekly",
                                                         "dora_monthly"))

    build_org_marts(org.sieve, org.org_id, as_of=golden_incidents.AS_OF)

    assert mart_digests(org) == first
