"""The foundation commands end to end: init, orgs, connections, rotation, audit — and secrets
never reaching disk in clear, output, logs or argv."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import main

CANARY_TOKEN = "ghp_CANARYfoundationCLI7f3a9c21"


def every_file_holds(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture
def sieve(sieve_home, monkeypatch):
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    monkeypatch.setenv("CANARY_TOKEN_VAR", CANARY_TOKEN)
    run("init")
    return run


def test_canary_token_is_stored_encrypted_only(sieve, sieve_home, caplog):
    caplog.set_level(logging.DEBUG)
    sieve("org", "add", "acme")
    added = sieve("connect", "acme", "github", "--no-check", "--owner", "acme",
                  "--token-env", "CANARY_TOKEN_VAR")
    listed = sieve("connections", "acme")
    rotated = sieve("keys", "rotate")
    for output in (added.output, listed.output, rotated.output, caplog.text):
        assert CANARY_TOKEN not in output
    assert "token" in listed.output  # the field name is shown, never its value
    assert every_file_holds(sieve_home, CANARY_TOKEN.encode()) == []
    assert (sieve_home / "control.db").stat().st_size > 0


def test_token_is_never_taken_from_the_command_line(sieve):
    sieve("org", "add", "acme")
    result = sieve("connect", "acme", "github", "--no-check", "--owner", "acme",
                   "--token", CANARY_TOKEN, ok=False)
    assert result.exit_code != 0 and "No such option" in result.output
    assert CANARY_TOKEN not in result.output


def test_missing_environment_variable_is_named(sieve):
    sieve("org", "add", "acme")
    result = sieve("connect", "acme", "slack", "--no-check", "--token-env", "NOT_SET_ANYWHERE", ok=False)
    assert result.exit_code == 2
    assert "NOT_SET_ANYWHERE is not set or empty" in result.output


def test_missing_key_fails_closed_without_traceback(sieve, sieve_home):
    sieve("org", "add", "acme")
    sieve("connect", "acme", "github", "--no-check", "--owner", "acme",
          "--token-env", "CANARY_TOKEN_VAR")
    (sieve_home / "keys" / "master.keys").unlink()
    before = control_plane_rows(sieve_home)
    result = sieve("connect", "acme", "github", "--no-check", "--owner", "x",
                   "--token-env", "CANARY_TOKEN_VAR",
                   ok=False)
    assert result.exit_code == 2
    assert "No key-encryption key found" in result.output and "sieve init" in result.output
    assert "Traceback" not in result.output
    rotate = sieve("keys", "rotate", ok=False)
    assert rotate.exit_code == 2 and "Traceback" not in rotate.output
    assert control_plane_rows(sieve_home) == before


def control_plane_rows(sieve_home) -> dict[str, list[tuple]]:
    """Every row of the control plane, but when a grant was last used (the role check that
    precedes the key error records it, as any use of a grant)."""
    with sqlite3.connect(sieve_home / "control.db") as db:
        tables = [name for (name,) in db.execute(
            "select name from sqlite_master where type = 'table' order by name")]
        rows = {}
        for table in tables:
            columns = [c[1] for c in db.execute(f"pragma table_info('{table}')")
                       if not (table == "grants" and c[1] == "last_used_at")]
            rows[table] = sorted(db.execute(f"select {', '.join(columns)} from {table}"),
                                 key=repr)
    return rows


def test_rotation_retires_the_old_key_and_everything_still_opens(sieve, sieve_home):
    sieve("org", "add", "acme")
    sieve("connect", "acme", "jira", "--no-check", "--base-url", "https://acme.atlassian.net",
          "--email-env", "CANARY_TOKEN_VAR", "--token-env", "CANARY_TOKEN_VAR", "--all-projects")
    old_ring = (sieve_home / "keys" / "master.keys").read_text()
    sieve("keys", "rotate")
    new_ring = (sieve_home / "keys" / "master.keys").read_text()
    old_ids = {line.split()[0] for line in old_ring.splitlines() if not line.startswith("#")}
    new_ids = {line.split()[0] for line in new_ring.splitlines() if not line.startswith("#")}
    assert len(new_ids) == 1 and not (old_ids & new_ids)
    from resources.runtime import open_sieve

    opened = open_sieve()
    connection = opened.control_plane.connections()[0]
    assert opened.control_plane.credentials(connection)["token"].reveal() == CANARY_TOKEN
    opened.close()
    verified = sieve("audit", "verify")
    assert "entries verified" in verified.output


def test_audit_verify_reports_deleted_newest_entries_and_a_wrong_key(sieve, sieve_home,
                                                                     monkeypatch):
    for slug in ("acme", "globex", "initech"):
        sieve("org", "add", slug)
    with sqlite3.connect(sieve_home / "control.db") as db:
        db.execute("delete from audit_log where seq >= 3")
    broken = sieve("audit", "verify", ok=False)
    assert broken.exit_code == 1
    # init wrote entries 1-2 (initialized, the local admin's grant), the orgs 3-5.
    assert "BROKEN at entry 3: entries 3–5 were deleted" in broken.output
    monkeypatch.setenv("SIEVE_AUDIT_KEY", "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=")
    wrong = sieve("audit", "verify", ok=False)
    assert wrong.exit_code == 2 and "error: wrong audit key" in wrong.output
    assert "BROKEN" not in wrong.output


def test_plain_http_is_refused_for_remote_hosts(sieve):
    sieve("org", "add", "acme")
    result = sieve("connect", "acme", "gitlab", "--no-check", "--group", "g",
                   "--token-env", "CANARY_TOKEN_VAR",
                   "--base-url", "http://gitlab.example.com", ok=False)
    assert result.exit_code == 2 and "https" in result.output


def test_disconnect_wipes_credentials_and_requests_deletion(sieve):
    sieve("org", "add", "acme")
    added = sieve("connect", "acme", "slack", "--no-check", "--token-env", "CANARY_TOKEN_VAR")
    connection_id = added.output.split()[2]
    result = sieve("disconnect", "acme", connection_id)
    assert "credentials wiped" in result.output and "deletion request del_" in result.output
    from resources.runtime import open_sieve

    opened = open_sieve()
    assert opened.control_plane.credentials(opened.control_plane.connection(connection_id)) == {}
    [request] = opened.control_plane.deletion_requests()
    assert request["scope"] == "connection" and request["subject_ref"] == connection_id
    opened.close()


def test_console_script_runs_in_its_own_process(sieve_home):
    env = {**os.environ, "CANARY_TOKEN_VAR": CANARY_TOKEN}
    sieve_bin = Path(sys.executable).with_name("sieve")
    for args in (["init"], ["org", "add", "acme"],
                 ["connect", "acme", "slack", "--no-check", "--token-env", "CANARY_TOKEN_VAR"]):
        done = subprocess.run([str(sieve_bin), *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert CANARY_TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize("command", [[], ["org"], ["connect", "x"], ["keys"], ["audit"],
                                     ["init"], ["disconnect"], ["connections"], ["emulate"]])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output or "Start here" in result.output


def test_notify_seals_the_webhook_url_and_shows_it_nowhere(sieve, sieve_home, caplog,
                                                           monkeypatch, webhook_receiver):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HOOK_VAR", webhook_receiver.url)
    sieve("org", "add", "acme")
    off = sieve("notify", "acme")
    assert "are off" in off.output
    refused = sieve("notify", "acme", "--test", ok=False)
    assert refused.exit_code == 2 and "are off" in refused.output
    on = sieve("notify", "acme", "--webhook-url-env", "HOOK_VAR", "--test")
    assert "are on (json payloads)" in on.output and "Test message delivered" in on.output
    assert webhook_receiver.received[0]["test"] is True
    webhook_receiver.fail_with = 404
    failed = sieve("notify", "acme", "--test", ok=False)
    assert failed.exit_code == 2 and "refused the message (404)" in failed.output
    status = sieve("notify", "acme")
    rotated = sieve("keys", "rotate")
    audit = sieve("audit", "log")
    for output in (on.output, failed.output, status.output, rotated.output, audit.output,
                   caplog.text):
        assert webhook_receiver.secret not in output
    assert "notifications.on" in audit.output
    assert every_file_holds(sieve_home, webhook_receiver.secret.encode()) == []
    gone = sieve("notify", "acme", "--off")
    assert "wiped" in gone.output and "are off" in sieve("notify", "acme").output
    monkeypatch.setenv("HOOK_VAR", "http://hooks.example.com/services/T/B/plainhttp")
    insecure = sieve("notify", "acme", "--webhook-url-env", "HOOK_VAR", ok=False)
    assert insecure.exit_code == 2 and "plain http://" in insecure.output
    assert "plainhttp" not in insecure.output
