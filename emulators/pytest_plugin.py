"""pytest fixtures for the source emulators.

Register with ``pytest_plugins = ["emulators.pytest_plugin"]``.

- ``emulator``: a running tiny-scale ``EmulatorServer`` (seed 7). One server is shared by the
  session (the org is generated lazily and cheaply); before each test its faults, rate-limit
  budgets, request log and org mutations are reset, so every test sees a fresh emulator.
- ``emulator_factory``: ``emulator_factory(scale="tiny", seed=7) -> EmulatorServer``, started,
  stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from emulators.server import EmulatorServer


@pytest.fixture(scope="session")
def _shared_tiny_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(scale="tiny", seed=7) as server:
        yield server


@pytest.fixture
def emulator(_shared_tiny_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    _shared_tiny_emulator.reset()
    yield _shared_tiny_emulator
    _shared_tiny_emulator.reset()


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    started: list[EmulatorServer] = []

    def start(scale: str = "tiny", seed: int = 7) -> EmulatorServer:
        server = EmulatorServer(scale=scale, seed=seed).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
