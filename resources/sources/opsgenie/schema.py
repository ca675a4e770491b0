"""Opsgenie's allow-list (REST API): what Sieve keeps of teams, services, incidents, the alerts
that time them, and users. Messages, descriptions, notes, tags, details and extra properties
are dropped."""

from __future__ import annotations

from resources.sources.allow_list import Entity, PersonColumns, col, parent, ts


def id_list(value: list) -> list[str]:
    """Ids of a plain list of ids (an incident's impacted services)."""
    return [str(item) for item in value if isinstance(item, str | int) and str(item)]


OPSGENIE_TEAMS = Entity(
    "opsgenie_teams", "opsgenie", "GET /v2/teams",
    (col("id", "VARCHAR"), col("name", "VARCHAR", scrub=True)),
    ("id",),
    description="Teams; the description, members and links are dropped.",
)

OPSGENIE_SERVICES = Entity(
    "opsgenie_services", "opsgenie", "GET /v1/services",
    (col("id", "VARCHAR"), col("name", "VARCHAR", scrub=True),
     col("team_id", "VARCHAR", "teamId")),
    ("id",),
    description="Services; the description and tags are dropped. The name is what the org "
    "settings' incident_services map to repositories and services.",
)

OPSGENIE_INCIDENTS = Entity(
    "opsgenie_incidents", "opsgenie", "GET /v1/incidents (query updatedAt > cursor)",
    (
        col("id", "VARCHAR"), col("tiny_id", "VARCHAR", "tinyId"), col("status", "VARCHAR"),
        col("priority", "VARCHAR"), col("owner_team_id", "VARCHAR", "ownerTeam"),
        col("impacted_service_ids", "VARCHAR[]", "impactedServices", id_list),
        ts("created_at", "createdAt"), ts("updated_at", "updatedAt"),
    ),
    ("id",),
    description="Incidents; message, description, tags, extra properties, responders and "
    "status page entries are dropped.",
)

OPSGENIE_INCIDENT_ALERTS = Entity(
    "opsgenie_incident_alerts", "opsgenie",
    "GET /v1/incidents/{id}/associated-alert-ids",
    (parent("incident_id", "VARCHAR"), col("alert_id", "VARCHAR", "id")),
    ("incident_id", "alert_id"),
    description="Which alerts belong to which incident (ids only): their acknowledgement and "
    "close times time the incident.",
)

OPSGENIE_ALERTS = Entity(
    "opsgenie_alerts", "opsgenie", "GET /v2/alerts (query updatedAt > cursor)",
    (
        col("id", "VARCHAR"), col("tiny_id", "VARCHAR", "tinyId"), col("status", "VARCHAR"),
        col("is_acknowledged", "BOOLEAN", "acknowledged"), col("priority", "VARCHAR"),
        col("owner_team_id", "VARCHAR", "ownerTeamId"),
        ts("created_at", "createdAt"), ts("updated_at", "updatedAt"),
        col("ack_time_ms", "BIGINT", "report.ackTime"),
        col("close_time_ms", "BIGINT", "report.closeTime"),
    ),
    ("id",),
    description="Alerts, for the times that acknowledge and close them (milliseconds after "
    "creation, from the alert's report); message, description, alias, tags, source, entity, "
    "details, owner and who acknowledged or closed are dropped.",
)

OPSGENIE_USERS = Entity(
    "opsgenie_users", "opsgenie", "GET /v2/users",
    (
        col("id", "VARCHAR"), col("username", "VARCHAR"),
        col("full_name", "VARCHAR", "fullName", scrub=True), col("role", "VARCHAR", "role.name"),
    ),
    ("id",),
    description="Users (the username is their email); address, time zone, locale, tags and "
    "details are dropped.",
)

ENTITIES = (OPSGENIE_TEAMS, OPSGENIE_SERVICES, OPSGENIE_INCIDENTS, OPSGENIE_INCIDENT_ALERTS,
            OPSGENIE_ALERTS, OPSGENIE_USERS)

USER_DIRECTORY = PersonColumns("opsgenie_users", "opsgenie", "id", None, "username", "full_name")
