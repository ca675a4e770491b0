"""Per-organization settings: validation with clear messages, and monorepo service rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from resources.http import Page
from resources.sources.github.connector import services_changed
from resources.storage.org_config import (
    OrgConfig,
    OrgConfigError,
    ServiceRule,
    default_config_yaml,
    load_org_config,
    parse_org_config,
    service_of,
)

RULES = (ServiceRule("payments", "core", ("services/payments/",)),
         ServiceRule("payments-api", "core", ("services/payments/api/",)),
         ServiceRule("web", "core", ("web/",)))


def test_defaults_round_trip_through_the_documented_file():
    assert parse_org_config(yaml.safe_load(default_config_yaml()), Path("x.yaml")) == OrgConfig()


@pytest.mark.parametrize("data, complaint", [
    ({"colour": "blue"}, "unknown setting(s) colour"),
    ({"bot_patterns": ["("]}, "'bot_patterns' must be valid regular expressions"),
    ({"teams": ["a"]}, "'teams' must be a mapping"),
    ({"services": [{"name": "x"}]}, "'services[0]' must be a mapping with name"),
    ({"retention_days": -1}, "'retention_days' must be a positive whole number"),
    ({"person_deletion_mode": "shred"}, "'delete' or 'delink'"),
    ({"waiting_statuses": ["[blocked"]}, "'waiting_statuses' must be valid regular expressions"),
    ({"knowledge_window_days": 0}, "'knowledge_window_days' must be a positive whole number"),
    ({"holidays": ["6 March"]}, "'holidays' must be dates written YYYY-MM-DD ('6 March'"),
    ({"reporting_time_zone": "Mars/Olympus"}, "'reporting_time_zone' must be an IANA time zone"),
    ({"review_concentration_percent": 100}, "a whole percentage between 1 and 99"),
    ({"wip_limit_per_person": True}, "'wip_limit_per_person' must be a positive whole number"),
    ({"teams": {"payments": []}, "wip_limits_per_team": {"payments": 0}},
     "'wip_limits_per_team' must be a mapping of team name to a positive whole number"),
    ({"teams": {"payments": []}, "wip_limits_per_team": {"payment": 5}},
     "limits of teams listed under 'teams' (payment is not one)"),
])
def test_malformed_settings_name_the_file_and_key(data, complaint):
    with pytest.raises(OrgConfigError) as raised:
        parse_org_config(data, Path("/srv/sieve/config/acme.yaml"))
    assert complaint in str(raised.value) and "/srv/sieve/config/acme.yaml" in str(raised.value)


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "acme.yaml").write_text("teams:\n  a: [\n")
    with pytest.raises(OrgConfigError, match="not valid YAML at line"):
        load_org_config(tmp_path, "acme")


def test_longest_prefix_decides_the_service():
    assert service_of("services/payments/api/handler.py", RULES) == "payments-api"
    assert service_of("services/payments/ledger.py", RULES) == "payments"
    assert service_of("docs/readme.md", RULES) is None


def test_changed_files_become_counts_per_service_and_nothing_else():
    pages = [Page([{"filename": "web/app.ts", "additions": 3, "deletions": 1, "patch": "SECRET"},
                   {"filename": "services/payments/a.py", "additions": 5, "deletions": 0}],
                  "/p", 200, False, 10, None, 1),
             Page([{"filename": "services/payments/api/b.py",
                    "previous_filename": "web/old.ts", "additions": 1, "deletions": 2},
                   {"filename": "README.md", "additions": 9, "deletions": 9}],
                  "/p", 200, False, 10, None, 2)]
    rows = services_changed(pages, RULES)
    assert rows == [
        {"service": "payments", "files_changed": 1, "additions": 5, "deletions": 0},
        {"service": "payments-api", "files_changed": 1, "additions": 1, "deletions": 2},
        {"service": "web", "files_changed": 2, "additions": 4, "deletions": 3},
    ]
    assert "SECRET" not in repr(rows) and "README" not in repr(rows)


def test_every_metric_setting_reaches_dbt_with_the_projects_own_defaults():
    """The org settings feed every var of the dbt project, and their defaults are the
    project's, so a model never silently falls back to a value the user cannot change."""
    from resources.marts.runner import DBT_PROJECT_DIR, dbt_vars

    project_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    fed = dbt_vars(OrgConfig())
    assert set(fed) == set(project_vars)
    assert {name: value for name, value in fed.items() if name != "services"} == \
        {name: value for name, value in project_vars.items() if name != "services"}
    custom = parse_org_config({"waiting_statuses": ["^Parked$"], "knowledge_window_days": 30},
                              Path("acme.yaml"))
    assert dbt_vars(custom)["waiting_statuses"] == ["^Parked$"]
    assert dbt_vars(custom)["knowledge_window_days"] == 30


def test_the_reconcile_weekday_is_a_setting(tmp_path):
    path = tmp_path / "acme.yaml"
    assert parse_org_config(None, path).reconcile_weekday_number == 6  # Sunday by default
    assert parse_org_config({"reconcile_weekday": "Wednesday"}, path).reconcile_weekday_number == 2
    with pytest.raises(OrgConfigError, match="a day of the week"):
        parse_org_config({"reconcile_weekday": "someday"}, path)


def test_the_incident_source_may_name_one_incident_tool(tmp_path):
    path = tmp_path / "acme.yaml"
    assert parse_org_config({"incident_source": "opsgenie"}, path).incident_source == "opsgenie"
    with pytest.raises(OrgConfigError, match="one of auto, tools, issues, pagerduty, opsgenie"):
        parse_org_config({"incident_source": "servicenow"}, path)
