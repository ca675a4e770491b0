"""`dagster dev` on this project, started in its own session so it (webserver, daemon and code
server alike) can be stopped as one process group, and queried through its GraphQL API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from pipelines.cli.platform import path_with_this_python
from tests.ui.processes import start_in_own_session, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 240


class DagsterDevError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DagsterDev:
    """``with DagsterDev(sieve_home, dagster_home) as dev: dev.graphql(...)``; the server's
    output goes to ``log_path`` (next to DAGSTER_HOME) for a failure message."""

    def __init__(self, sieve_home: Path, dagster_home: Path, port: int | None = None):
        self.sieve_home = Path(sieve_home)
        self.dagster_home = Path(dagster_home)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.dagster_home.parent / "dagster-dev.log"
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> DagsterDev:
        env = {**os.environ, "SIEVE_HOME": str(self.sieve_home),
               "DAGSTER_HOME": str(self.dagster_home), "PATH": path_with_this_python()}
        command = [str(Path(sys.executable).with_name("dagster")), "dev", "-w",
                   str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("wb") as log:
            self._process = start_in_own_session(command, cwd=ROOT, env=env, stdout=log,
                                                 stderr=subprocess.STDOUT)
        try:
            self._wait_until_loaded()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._process is not None:
            stop_process_group(self._process, grace_seconds=30)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query,
                                                             "variables": variables or {}},
                                 timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise DagsterDevError(f"GraphQL errors from {self.url}: {body['errors']}")
        return body["data"]

    def _wait_until_loaded(self) -> None:
        """Until the webserver answers and the code location has loaded (or failed to)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DagsterDevError(f"dagster dev exited with {self._process.returncode}:\n"
                                      f"{self.log_tail()}")
            status = self._location_status()
            if status == "LOADED":
                return
            time.sleep(1)
        raise DagsterDevError(f"dagster dev did not load the code location within "
                              f"{STARTUP_SECONDS}s:\n{self.log_tail()}")

    def _location_status(self) -> str | None:
        try:
            data = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { "
                                "loadStatus locationOrLoadError { __typename "
                                "... on PythonError { message } } } } } }")
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError):
            return None
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            error = entry.get("locationOrLoadError") or {}
            if error.get("__typename") == "PythonError":
                raise DagsterDevError(f"the code location failed to load: {error['message']}")
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            return "LOADED"
        return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
