"""PagerDuty's allow-list (REST API v2): what Sieve keeps of services, incidents, the log
entries that time them, and users. Titles, descriptions, notes and alert bodies are dropped."""

from __future__ import annotations

from collections.abc import Mapping

from resources.sources.allow_list import Entity, PersonColumns, col, ts

# The overview log entries that time an incident; the connector hands on no other type.
TIMING_LOG_ENTRY_TYPES = ("trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry")


def reference_ids(value: list) -> list[str]:
    """Ids of a list of PagerDuty references ({"id": ..., "type": "team_reference"})."""
    return [item["id"] for item in value if isinstance(item, dict) and item.get("id")]


def user_reference_id(value: Mapping) -> str | None:
    """The agent's id when the agent is a person (not a service, an integration or the API)."""
    return value.get("id") if value.get("type") in ("user", "user_reference") else None


PAGERDUTY_SERVICES = Entity(
    "pagerduty_services", "pagerduty", "GET /services",
    (
        col("id", "VARCHAR"), col("name", "VARCHAR", scrub=True), col("status", "VARCHAR"),
        col("escalation_policy_id", "VARCHAR", "escalation_policy.id"),
        col("team_ids", "VARCHAR[]", "teams", reference_ids),
        ts("created_at"),
    ),
    ("id",),
    description="Services; the description and integrations are dropped. The name is what "
    "the org settings' incident_services map to repositories and services.",
)

PAGERDUTY_INCIDENTS = Entity(
    "pagerduty_incidents", "pagerduty", "GET /incidents (since/until windows)",
    (
        col("id", "VARCHAR"), col("incident_number", "BIGINT"), col("status", "VARCHAR"),
        col("urgency", "VARCHAR"), col("priority", "VARCHAR", "priority.summary"),
        col("service_id", "VARCHAR", "service.id"),
        col("escalation_policy_id", "VARCHAR", "escalation_policy.id"),
        ts("created_at"), ts("updated_at"), ts("resolved_at"),
        ts("last_status_change_at"),
    ),
    ("id",),
    description="Incidents; title, description, incident key, body, assignments and alerts "
    "are dropped.",
)

PAGERDUTY_LOG_ENTRIES = Entity(
    "pagerduty_log_entries", "pagerduty", "GET /log_entries?is_overview=true (since/until)",
    (
        col("id", "VARCHAR"), col("type", "VARCHAR"),
        col("incident_id", "VARCHAR", "incident.id"),
        col("agent_user_id", "VARCHAR", "agent", user_reference_id),
        ts("created_at"),
    ),
    ("id",),
    description="Only trigger, acknowledge and resolve entries (they time an incident: the "
    "connector hands on no other type); notes (annotate entries), notifications and every "
    "summary or channel text are dropped.",
)

PAGERDUTY_USERS = Entity(
    "pagerduty_users", "pagerduty", "GET /users",
    (
        col("id", "VARCHAR"), col("name", "VARCHAR", scrub=True), col("email", "VARCHAR"),
        col("role", "VARCHAR"),
    ),
    ("id",),
    description="Users; contact methods (phone numbers), job title, time zone, avatar and "
    "description are dropped.",
)

ENTITIES = (PAGERDUTY_SERVICES, PAGERDUTY_INCIDENTS, PAGERDUTY_LOG_ENTRIES, PAGERDUTY_USERS)

USER_DIRECTORY = PersonColumns("pagerduty_users", "pagerduty", "id", None, "email", "name")
# Who acknowledged or resolved: a PagerDuty user id the naming conventions cannot show.
PERSON_REFERENCES = (PersonColumns("pagerduty_log_entries", "pagerduty", "agent_user_id"),)
