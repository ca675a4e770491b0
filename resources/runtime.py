"""Opening Sieve's stores from settings: the one place the CLI, resources and tests get a control
plane, a key provider and the audit log from."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from resources.security.audit import AuditLog, load_audit_key
from resources.security.keys import KeyProvider, key_provider
from resources.settings import SieveSettings, load_settings
from resources.storage.control_plane import ControlPlane

if TYPE_CHECKING:
    from resources.security.access import AccessControl


@dataclass
class Sieve:
    settings: SieveSettings
    environ: Mapping[str, str]

    def keys(self) -> KeyProvider:
        return key_provider(self.settings.key_file, self.environ)

    @cached_property
    def control_plane(self) -> ControlPlane:
        return ControlPlane.open(self.settings.control_plane_url, keys=self.keys)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.control_plane.engine,
                        load_audit_key(self.settings.audit_key_file, self.environ),
                        anchor_file=self.settings.audit_anchor_file)

    @cached_property
    def access(self) -> AccessControl:
        from resources.security.access import AccessControl

        return AccessControl(self.control_plane, self.audit)

    def close(self) -> None:
        if "control_plane" in self.__dict__:
            self.control_plane.close()


def open_sieve(environ: Mapping[str, str] | None = None) -> Sieve:
    env = dict(os.environ if environ is None else environ)
    return Sieve(load_settings(env), env)
