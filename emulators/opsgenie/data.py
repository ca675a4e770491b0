"""The Opsgenie part of the demo organization: one team per org team, one service per GitLab
project (named like it, owned by the project's team) and one no project deploys; incidents on
each service every few days, each raised by one or two alerts that are acknowledged and closed
when the incident is resolved. Recent incidents may still be open at the org's now.

Canaries sit in every free text Sieve must drop (team, service and incident descriptions,
incident extra properties and tags, alert tags, user details); forbidden PII
in incident and alert messages and in users' addresses.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from emulators.model import TITLE_DECORATIONS, rng, stable_hex, stable_int
from emulators.opsgenie.model import OgAlert, OgIncident, OgService, OgTeam

if TYPE_CHECKING:
    from emulators.model import Person
    from emulators.org import Org

UNRELATED_SERVICE = "Office Network"
EVERY_DAYS = 9
UNRELATED_EVERY_DAYS = 23
PRIORITIES = ("P1", "P2", "P3", "P3", "P4")


def og_id(*parts: object) -> str:
    """An Opsgenie-looking id (a UUID), stable for ``parts``."""
    return str(uuid.UUID(stable_hex(32, "opsgenie", *parts)))


class OpsgenieData:
    """Opsgenie teams, services, incidents, alerts and users, generated when asked for."""

    def __init__(self, org: Org):
        self.org = org
        self.seed = org.seed
        self.mutations = org.mutations
        self.teams: tuple[OgTeam, ...] = tuple(
            OgTeam(og_id("team", team.slug), team.name,
                   f"Escalations: {org.canary('opsgenie-team', team.slug)}")
            for team in org.teams)
        by_name = {team.name: team for team in self.teams}
        services = [OgService(og_id("service", repo.index), repo.name, repo,
                              by_name.get(repo.team, self.teams[0]),
                              f"Runbook: {org.canary('opsgenie-service', repo.index)}")
                    for repo in org.github.gitlab_projects]
        services.append(OgService(og_id("service", "office"), UNRELATED_SERVICE, None,
                                  self.teams[0],
                                  f"Runbook: {org.canary('opsgenie-service', 'office')}"))
        self.services: tuple[OgService, ...] = tuple(services)

    def users(self):
        return self.org.humans

    def user_id(self, person: Person) -> str:
        return og_id("user", person.index)

    # -- incidents -------------------------------------------------------------------------------

    def _causes(self) -> list[tuple[datetime, OgService]]:
        """(created, service) of every base incident, oldest first."""
        causes = []
        for position, service in enumerate(self.services):
            every = UNRELATED_EVERY_DAYS if service.repo is None else EVERY_DAYS
            day = 3 + position
            while self.org.start_at + timedelta(days=day) < self.org.anchor_at:
                causes.append((self.org.start_at + timedelta(days=day, hours=2 + position),
                               service))
                day += every
        return sorted(causes, key=lambda cause: (cause[0], cause[1].service_id))

    @functools.cached_property
    def _base(self) -> tuple[tuple[datetime, OgService], ...]:
        return tuple(self._causes())

    def incident_count(self) -> int:
        return len(self._base) + self.mutations.added_count("opsgenie", 0)

    def incidents(self) -> list[OgIncident]:
        """Every incident, oldest first."""
        return [self.incident(n) for n in range(1, self.incident_count() + 1)]

    def incident(self, number: int) -> OgIncident:
        added = self.mutations.added_at("opsgenie", 0, number)
        resolved_by_mutation = self.mutations.touched.get(("opsgenie", 0, number))
        return self._incident(number, added, resolved_by_mutation, self.org.now)

    def alerts(self) -> list[OgAlert]:
        """Every alert, oldest first."""
        return sorted((alert for incident in self.incidents() for alert in incident.alerts),
                      key=lambda alert: (alert.created_at, alert.alert_id))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - bounded, and the org outlives it
    def _incident(self, number: int, added: datetime | None,
                  resolved_by_mutation: datetime | None, now: datetime) -> OgIncident:
        gen = rng(self.seed, "opsgenie-incident", number)
        if added is None:
            created, service = self._base[number - 1]
            resolved: datetime | None = created + timedelta(seconds=gen.randrange(1800, 21600))
        else:
            created, service = added, self.services[number % len(self.services)]
            resolved = None  # open until a test resolves it
        if resolved_by_mutation is not None:
            resolved = resolved_by_mutation
        if resolved is not None and resolved > now:
            resolved = None
        responder = self.org.random_human(gen)
        decoration = TITLE_DECORATIONS[number % len(TITLE_DECORATIONS)]
        message = self.org.decorated_title(f"{service.name} is failing health checks",
                                           decoration, responder, "opsgenie", number)
        alerts = tuple(self._alert(number, k, created, resolved, responder, message, gen, now)
                       for k in range(1 + (number % 3 == 0)))
        return OgIncident(
            og_id("incident", number), number, service, message,
            f"Impact: {self.org.canary('opsgenie-description', number)}",
            PRIORITIES[stable_int(self.seed, "opsgenie-priority", number) % len(PRIORITIES)],
            created, resolved, alerts)

    def _alert(self, number: int, k: int, incident_created: datetime,
               resolved: datetime | None, responder: Person, message: str, gen,
               now: datetime) -> OgAlert:
        created = incident_created - timedelta(minutes=2) + timedelta(minutes=10 * k)
        acknowledged = created + timedelta(seconds=gen.randrange(60, 900))
        if resolved is not None:
            acknowledged = min(acknowledged, resolved)
        elif acknowledged > now:
            acknowledged = None
        return OgAlert(og_id("alert", number, k), f"{number * 10 + k}", number, message,
                       created, acknowledged, resolved, responder)

    def add_incident(self) -> int:
        """A new open incident at the org's now; returns its tiny id."""
        return self.mutations.add("opsgenie", 0, len(self._base))

    def resolve_incident(self, number: int) -> datetime:
        """Resolve an open incident now (its alerts are acknowledged and closed with it)."""
        return self.mutations.touch(("opsgenie", 0, number))

    # -- texts --------------------------------------------------------------------------------

    def extra_properties(self, incident: OgIncident) -> dict[str, str]:
        return {"runbook": self.org.canary("opsgenie-extra", incident.number)}

    def tags(self, incident: OgIncident) -> list[str]:
        return ["production", self.org.canary("opsgenie-tag", incident.number)]

    def alert_tags(self, alert: OgAlert) -> list[str]:
        return ["production", self.org.canary("opsgenie-alert", alert.alert_id)]

    def user_details(self, person: Person) -> dict[str, list[str]]:
        return {"on-call notes": [self.org.canary("opsgenie-user", person.index)]}

    def user_address(self, person: Person) -> dict[str, str]:
        value = self.org.pii_catalogue[-1][1]  # the street address
        return {"country": "US", "state": "IL", "city": "Springfield", "line": value,
                "zipCode": "62704"}

    def canary_texts(self) -> Iterator[str]:
        """Every text holding a canary."""
        yield from (team.description for team in self.teams)
        yield from (service.description for service in self.services)
        for incident in self.incidents():
            yield incident.description
            yield from self.extra_properties(incident).values()
            yield from self.tags(incident)
            for alert in incident.alerts:
                yield from self.alert_tags(alert)
        for person in self.users():
            yield from (text for texts in self.user_details(person).values() for text in texts)
