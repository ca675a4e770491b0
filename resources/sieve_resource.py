"""The Dagster resource through which assets and sensors reach the control plane and stores."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from dagster import ConfigurableResource, Definitions

from resources.runtime import Sieve, open_sieve


class SieveResource(ConfigurableResource):
    """Opens Sieve's stores at run time. Paths and URLs come from the environment (SIEVE_HOME,
    SIEVE_CONTROL_PLANE_URL); the key-encryption key too, and never through run config."""

    sieve_home: str | None = None

    @contextmanager
    def open(self) -> Iterator[Sieve]:
        environ = dict(os.environ)
        if self.sieve_home:
            environ["SIEVE_HOME"] = self.sieve_home
        sieve = open_sieve(environ)
        try:
            yield sieve
        finally:
            sieve.close()


def defs() -> Definitions:
    return Definitions(resources={"sieve": SieveResource()})
