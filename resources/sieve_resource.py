"""The Dagster resource through which assets and sensors reach the control plane and stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, Definitions, EnvVar

from resources.runtime import Sieve, open_sieve


class SieveResource(ConfigurableResource):
    """Opens Sieve's stores at run time. ``sieve_home`` and ``control_plane_url`` are typed
    settings, wired to ``SIEVE_HOME`` / ``SIEVE_CONTROL_PLANE_URL`` with ``EnvVar`` so that run
    config holds variable names, never values. Keys are not settings: the key-encryption and
    audit keys are read from the environment or key files when the stores open."""

    sieve_home: str | None = None
    control_plane_url: str | None = None

    @contextmanager
    def open(self) -> Iterator[Sieve]:
        environ = dict(os.environ)
        if self.sieve_home:
            environ["SIEVE_HOME"] = self.sieve_home
        if self.control_plane_url:
            environ["SIEVE_CONTROL_PLANE_URL"] = self.control_plane_url
        sieve = open_sieve(environ)
        try:
            yield sieve
        finally:
            sieve.close()


def defs() -> Definitions:
    return Definitions(resources={"sieve": SieveResource(sieve_home=EnvVar("SIEVE_HOME"))})
