"""The golden incidents organization: incidents reported both by PagerDuty and as labelled Jira
issues, so the marts must count each once (docs/metrics.md, "Incidents"). Every value the tests
read is worked out by hand in tests/dbt/test_golden_incidents.py. Times are naive UTC, March 2026.

Repositories (GitHub): acme/shop and acme/search, each deploying to production.
PagerDuty services: "Shop API" (mapped to shop by incident_services), "search" (no mapping: its
own name is the repository's), "Corporate VPN" (stands for nothing Sieve deploys).
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

GITHUB = {"github_repositories": REPOSITORIES, "github_deployments": DEPLOYMENTS,
          "github_deployment_statuses": DEPLOYMENT_STATUSES}
PAGERDUTY = {"pagerduty_services": SERVICES, "pagerduty_incidents": INCIDENTS,
             "pagerduty_log_entries": LOG_ENTRIES}
JIRA = {"jira_issues": JIRA_INCIDENTS}
