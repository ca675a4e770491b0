"""`make demo` ends by saying what to try next, including how a BI tool connects (issue 19)."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from emulators.server import EmulatorServer
from pipelines.cli import main
from pipelines.cli.demo import demo_connections, next_steps, served_sources
from resources.sources import SOURCES


def test_the_demo_ends_with_a_psql_line_that_matches_sieve_serve():
    lines = next_steps("demo", Path("/tmp/report.html"))
    psql = next(line for line in lines if "psql \"" in line)
    connection = shlex.split(psql.split("psql", 1)[1])[0]
    fields = dict(pair.split("=") for pair in connection.split())
    serve_help = CliRunner().invoke(main, ["serve", "--help"]).output

    assert fields["dbname"] == "demo" and fields["host"] == "127.0.0.1"
    assert f"[default: {fields['port']}]" in serve_help
    grant = next(line for line in lines if "access grant" in line)
    assert f"{fields['user']} --org demo --role analyst" in grant


def test_the_demo_names_every_source_it_emulates():
    with EmulatorServer(scale="tiny", seed=1) as emulator:
        named = served_sources(emulator)
        connected = demo_connections(emulator)
    assert len(connected) >= 8
    assert all(SOURCES[source].label in named for source in connected)
    assert named.endswith(" and " + SOURCES[list(connected)[-1]].label)
