"""The golden incidents organization: incidents reported by PagerDuty, by Opsgenie and as labelled
Jira issues, so the marts must count each once (docs/metrics.md, "Incidents"). Every value the tests
read is worked out by hand in tests/dbt/test_golden_incidents.py. Times are naive UTC, March 2026.

Repositories (GitHub): acme/shop and acme/search, each deploying to production.
PagerDuty services: "Shop API" (mapped to shop by incident_services), "search" (no mapping: its
own name is the repository's), "Corporate VPN" (stands for nothing Sieve deploys).
Opsgenie services: "shop" (unmapped: its own name is the repository's), "Office Network"
(stands for nothing Sieve deploys).
"""

from __future__ import annotations

from datetime import datetime

from tests.dbt.golden_histories import _deployment, _status
from tests.dbt.golden_org import _issue, t

AS_OF = datetime(2026, 3, 13, 0, 0)

CONFIG_YAML = """\
incident_services:
  "Shop API": ["shop"]
"""

SHOP, SEARCH = 41, 42
REPOSITORIES = [{"id": repo_id, "name": name, "full_name": f"acme/{name}",
                 "default_branch": "main"} for repo_id, name in ((SHOP, "shop"), (SEARCH, "search"))]
DEPLOYMENTS = [
    _deployment(401, SHOP, "shop1", t(2, 10)),     # SH1
    _deployment(402, SHOP, "shop2", t(4, 10)),     # SH2
    _deployment(403, SEARCH, "search1", t(4, 9)),  # SE1
]
DEPLOYMENT_STATUSES = [_status(4010, SHOP, 401, t(2, 10)), _status(4020, SHOP, 402, t(4, 10)),
                       _status(4030, SEARCH, 403, t(4, 9))]

SERVICES = [
    {"id": "PSHOP", "name": "Shop API", "status": "active", "created_at": t(1, 0)},
    {"id": "PSEARCH", "name": "search", "status": "active", "created_at": t(1, 0)},
    {"id": "PVPN", "name": "Corporate VPN", "status": "active", "created_at": t(1, 0)},
]


def _incident(incident_id, number, service_id, created, *, resolved_at=None, status="resolved"):
    return {"id": incident_id, "incident_number": number, "status": status, "urgency": "high",
            "priority": "P1", "service_id": service_id, "created_at": created,
            "updated_at": resolved_at or created, "resolved_at": resolved_at}


def _entry(entry_id, incident_id, kind, at):
    return {"id": entry_id, "type": f"{kind}_log_entry", "incident_id": incident_id,
            "agent_user_id": "PUSER1" if kind != "trigger" else None, "created_at": at}


INCIDENTS = [
    # Read while still triggered; its log entries came in later (acknowledge, resolve).
    _incident("Q1", 1, "PSHOP", t(4, 11), status="triggered"),
    _incident("Q2", 2, "PSEARCH", t(4, 12), resolved_at=t(4, 13, 30)),
    _incident("Q3", 3, "PVPN", t(4, 11, 30), resolved_at=t(4, 12)),
]
LOG_ENTRIES = [
    _entry("L1", "Q1", "trigger", t(4, 11)), _entry("L2", "Q1", "acknowledge", t(4, 11, 15)),
    _entry("L3", "Q1", "resolve", t(4, 14)),
    _entry("L4", "Q2", "trigger", t(4, 12)), _entry("L5", "Q2", "resolve", t(4, 13, 30)),
    _entry("L6", "Q3", "trigger", t(4, 11, 30)), _entry("L7", "Q3", "resolve", t(4, 12)),
]
# The same outage of SH2 filed in Jira too, and one on SH1 only Jira knows of.
JIRA_INCIDENTS = [
    _issue(901, "OPS-1", "Incident", t(4, 11, 5), resolved=t(4, 14), labels=("shop",)),
    _issue(902, "OPS-2", "Incident", t(2, 12), resolved=t(2, 13), labels=("shop",)),
]

OPSGENIE_SERVICES = [
    {"id": "og-shop", "name": "shop", "team_id": "og-team"},
    {"id": "og-office", "name": "Office Network", "team_id": "og-team"},
]


def _og_incident(incident_id, tiny_id, service_ids, created, updated, status="resolved"):
    return {"id": incident_id, "tiny_id": tiny_id, "status": status, "priority": "P2",
            "owner_team_id": "og-team", "impacted_service_ids": service_ids,
            "created_at": created, "updated_at": updated}


def _og_alert(alert_id, created, ack_ms, close_ms):
    return {"id": alert_id, "tiny_id": alert_id, "status": "open" if close_ms is None else "closed",
            "is_acknowledged": ack_ms is not None, "priority": "P2", "owner_team_id": "og-team",
            "created_at": created, "updated_at": created, "ack_time_ms": ack_ms,
            "close_time_ms": close_ms}


OPSGENIE_INCIDENTS = [
    # The outage of SH1 that Jira also has as OPS-2: two alerts, acknowledged 7 and 2 minutes
    # after they fired (2d12:05, 2d12:10), closed 62 and 82 minutes after (2d13:00, 2d13:30).
    _og_incident("G1", "1", ["og-shop"], t(2, 12), t(2, 13, 30)),
    # Resolved while its alert stayed open: resolved at its last update.
    _og_incident("G2", "2", ["og-office"], t(4, 11, 40), t(4, 12, 10)),
    # Names only a service deleted since (not stored), still open, no alert linked.
    _og_incident("G3", "3", ["og-deleted"], t(2, 11), t(2, 11), status="open"),
    # Names no service at all (the payload has no impactedServices), still open: shop and
    # search both deployed in the 72 h before it.
    _og_incident("G4", "4", None, t(4, 12, 30), t(4, 12, 30), status="open"),
]
OPSGENIE_ALERTS = [
    _og_alert("A1", t(2, 11, 58), 7 * 60_000, 62 * 60_000),
    _og_alert("A2", t(2, 12, 8), 2 * 60_000, 82 * 60_000),
    _og_alert("A3", t(4, 11, 39), None, None),
]
OPSGENIE_INCIDENT_ALERTS = [{"incident_id": "G1", "alert_id": "A1"},
                            {"incident_id": "G1", "alert_id": "A2"},
                            {"incident_id": "G2", "alert_id": "A3"}]

GITHUB = {"github_repositories": REPOSITORIES, "github_deployments": DEPLOYMENTS,
          "github_deployment_statuses": DEPLOYMENT_STATUSES}
PAGERDUTY = {"pagerduty_services": SERVICES, "pagerduty_incidents": INCIDENTS,
             "pagerduty_log_entries": LOG_ENTRIES}
OPSGENIE = {"opsgenie_services": OPSGENIE_SERVICES, "opsgenie_incidents": OPSGENIE_INCIDENTS,
            "opsgenie_alerts": OPSGENIE_ALERTS,
            "opsgenie_incident_alerts": OPSGENIE_INCIDENT_ALERTS}
JIRA = {"jira_issues": JIRA_INCIDENTS}
