"""The entities the Opsgenie emulator serves: teams, services, incidents and their alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from emulators.model import Person, Repo


@dataclass(frozen=True)
class OgTeam:
    team_id: str
    name: str
    description: str


@dataclass(frozen=True)
class OgService:
    service_id: str
    name: str
    repo: Repo | None  # the GitLab project it runs; None for services nothing deploys
    team: OgTeam
    description: str


@dataclass(frozen=True)
class OgAlert:
    alert_id: str
    tiny_id: str
    incident_number: int
    message: str
    created_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    responder: Person

    @property
    def updated_at(self) -> datetime:
        return self.closed_at or self.acknowledged_at or self.created_at


@dataclass(frozen=True)
class OgIncident:
    incident_id: str
    number: int  # the tinyId
    service: OgService
    message: str
    description: str
    priority: str
    created_at: datetime
    resolved_at: datetime | None
    alerts: tuple[OgAlert, ...]  # the alerts associated with it, oldest first

    @property
    def status(self) -> str:
        return "resolved" if self.resolved_at is not None else "open"

    @property
    def updated_at(self) -> datetime:
        return max([self.resolved_at or self.created_at,
                    *(alert.updated_at for alert in self.alerts)])
