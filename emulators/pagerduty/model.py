"""The entities the PagerDuty emulator serves: services, incidents and their log entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from emulators.model import Person, Repo


@dataclass(frozen=True)
class PdService:
    service_id: str
    name: str
    repo: Repo | None  # the repository it runs; None for services no repository deploys
    team_id: str
    created_at: datetime
    description: str


@dataclass(frozen=True)
class PdLogEntry:
    entry_id: str
    kind: str  # trigger, acknowledge, annotate (a note) or resolve
    at: datetime
    agent: Person | None  # None: the service's integration triggered it
    note: str | None = None


@dataclass(frozen=True)
class PdIncident:
    incident_id: str
    number: int
    service: PdService
    title: str
    description: str
    urgency: str
    priority: str
    created_at: datetime
    log: tuple[PdLogEntry, ...]  # oldest first, up to the org's now

    def entry(self, kind: str) -> PdLogEntry | None:
        return next((e for e in self.log if e.kind == kind), None)

    @property
    def status(self) -> str:
        if self.entry("resolve"):
            return "resolved"
        return "acknowledged" if self.entry("acknowledge") else "triggered"

    @property
    def updated_at(self) -> datetime:
        return self.log[-1].at
