"""The PagerDuty part of the demo organization: one service per GitHub repository (named like
it) and one no repository deploys; an incident shortly after every failed production deployment
of the GitHub part, and a few unrelated ones; each with its trigger, acknowledge, note and
resolve log entries. Recent incidents may still be open at the org's now.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from emulators.model import ORG_NOW, ORG_START, TITLE_DECORATIONS, rng, stable_hex
from emulators.pagerduty.model import PdIncident, PdLogEntry, PdService

if TYPE_CHECKING:
    from emulators.org import Org

UNRELATED_SERVICE = "Corporate VPN"
UNRELATED_EVERY_DAYS = 17


def pd_id(*parts: object) -> str:
    """A PagerDuty-looking object id (``P`` and six upper-case characters)."""
    return "P" + stable_hex(6, "pagerduty", *parts).upper()


class PagerDutyData:
    """PagerDuty services, incidents and users, generated when asked for."""

    def __init__(self, org: Org):
        self.org = org
        self.seed = org.seed
        self.mutations = org.mutations
        repos = org.github.repos
        services = [PdService(pd_id("service", repo.index), repo.name, repo,
                              pd_id("team", repo.team), repo.created_at,
                              f"Runbook: {org.canary('pagerduty-service', repo.index)}")
                    for repo in repos]
        services.append(PdService(pd_id("service", "vpn"), UNRELATED_SERVICE, None,
                                  pd_id("team", "it"), org.created_at,
                                  f"Runbook: {org.canary('pagerduty-service', 'vpn')}"))
        self.services: tuple[PdService, ...] = tuple(services)
        self._services_by_id = {s.service_id: s for s in services}

    def service(self, service_id: str) -> PdService | None:
        return self._services_by_id.get(service_id)

    def users(self):
        return self.org.humans

    # -- incidents -------------------------------------------------------------------------------

    def _causes(self) -> list[tuple[datetime, PdService]]:
        """(started, service) of every base incident, oldest first."""
        by_repo = {s.repo.index: s for s in self.services if s.repo is not None}
        causes = [(d.updated_at + timedelta(minutes=5 + d.train % 20), by_repo[d.repo.index])
                  for d in self.org.github.failed_production_deployments()]
        unrelated = self.services[-1]
        day = UNRELATED_EVERY_DAYS
        while ORG_START + timedelta(days=day) < ORG_NOW:
            causes.append((ORG_START + timedelta(days=day, hours=3), unrelated))
            day += UNRELATED_EVERY_DAYS
        return sorted(causes, key=lambda cause: (cause[0], cause[1].service_id))

    @functools.cached_property
    def _base(self) -> tuple[tuple[datetime, PdService], ...]:
        return tuple(self._causes())

    def incident_count(self) -> int:
        return len(self._base) + self.mutations.added_count("pagerduty", 0)

    def incidents(self) -> list[PdIncident]:
        """Every incident, oldest first."""
        return [self.incident(n) for n in range(1, self.incident_count() + 1)]

    def incident(self, number: int) -> PdIncident:
        added = self.mutations.added_at("pagerduty", 0, number)
        resolved_by_mutation = self.mutations.touched.get(("pagerduty", 0, number))
        return self._incident(number, added, resolved_by_mutation)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - bounded, and the org outlives it
    def _incident(self, number: int, added: datetime | None,
                  resolved_by_mutation: datetime | None) -> PdIncident:
        gen = rng(self.seed, "pagerduty-incident", number)
        if added is None:
            created, service = self._base[number - 1]
        else:
            created, service = added, self.services[number % len(self.services)]
        responder = self.org.random_human(gen)
        log = [PdLogEntry(pd_id("log", number, "trigger"), "trigger", created, None)]
        acknowledged = created + timedelta(seconds=gen.randrange(120, 900))
        resolved = acknowledged + timedelta(seconds=gen.randrange(1800, 21600))
        if added is not None:
            acknowledged = resolved = ORG_NOW + timedelta(days=999)  # open until resolved
        if resolved_by_mutation is not None:
            acknowledged = min(acknowledged, resolved_by_mutation)
            resolved = resolved_by_mutation
        for kind, at in (("acknowledge", acknowledged), ("annotate", acknowledged),
                         ("resolve", resolved)):
            if at <= (resolved_by_mutation or ORG_NOW):
                note = (f"Rolled back; see {self.org.canary('pagerduty-note', number)}"
                        if kind == "annotate" else None)
                log.append(PdLogEntry(pd_id("log", number, kind), kind, at, responder, note))
        decoration = TITLE_DECORATIONS[number % len(TITLE_DECORATIONS)]
        title = self.org.decorated_title(f"{service.name} error rate above threshold",
                                         decoration, responder, "pagerduty", number)
        urgent = service.repo is not None
        return PdIncident(
            pd_id("incident", number), number, service, title,
            f"Alert details: {self.org.canary('pagerduty-description', number)}",
            "high" if urgent else "low", "P1" if urgent and number % 3 == 0 else "P3",
            created, tuple(log))

    def add_incident(self) -> int:
        """A new triggered incident at the org's now; returns its number."""
        return self.mutations.add("pagerduty", 0, len(self._base))

    def resolve_incident(self, number: int) -> datetime:
        """Acknowledge and resolve an open incident now."""
        return self.mutations.touch(("pagerduty", 0, number))

    def canary_texts(self) -> Iterator[str]:
        """Every text holding a canary: service and incident descriptions, notes, users'
        descriptions."""
        yield from (service.description for service in self.services)
        for incident in self.incidents():
            yield incident.description
            yield from (entry.note for entry in incident.log if entry.note)
        yield from (self.user_description(person) for person in self.users())

    def user_description(self, person) -> str:
        return f"On call for {person.team}; {self.org.canary('pagerduty-user', person.index)}"
