"""The org key reaches dbt through a socket served for one run: never env, argv or a file."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

from resources.marts.org_key import SERVING_THREAD, fetch_org_key, serve_org_key
from resources.marts.runner import DbtRun
from resources.security.vault import Secret

KEY = "k3y-" + "x" * 40


def test_the_key_is_served_to_this_user_until_the_run_ends():
    with serve_org_key(Secret(KEY)) as socket_path:
        assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
        assert len(str(socket_path).encode()) < 108  # AF_UNIX's limit, whatever SIEVE_HOME is
        assert fetch_org_key(str(socket_path)) == KEY
        assert fetch_org_key(str(socket_path)) == KEY  # dbt may open several connections
    assert not socket_path.parent.exists()


def test_the_serving_thread_ends_with_the_run():
    """Closing the socket alone left the thread blocked in accept(), and every dbt build then
    waited 5 s for it to join."""
    with serve_org_key(Secret(KEY)) as socket_path:
        assert fetch_org_key(str(socket_path)) == KEY
        assert any(thread.name == SERVING_THREAD for thread in threading.enumerate())
    assert not any(thread.name == SERVING_THREAD and thread.is_alive()
                   for thread in threading.enumerate())


def test_a_run_puts_paths_in_vars_and_nothing_secret_in_env_or_argv(tmp_path: Path):
    run = DbtRun(org_id="org_1", database_path=tmp_path / "org.duckdb",
                 extensions_dir=tmp_path / "ext", run_dir=tmp_path / "dbt",
                 vars={"stale_pr_days": 14})
    before = dict(os.environ)
    with serve_org_key(Secret(KEY)) as socket_path:
        argv_vars = json.dumps(run.cli_vars(socket_path))
        environment = run.environment()
    assert KEY not in argv_vars and KEY not in json.dumps(environment)
    assert json.loads(argv_vars)["sieve_database"] == str(tmp_path / "org.duckdb")
    assert json.loads(argv_vars)["sieve_key_handoff"] == str(socket_path)
    assert dict(os.environ) == before
