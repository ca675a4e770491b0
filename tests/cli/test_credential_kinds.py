"""`sieve connect` with each kind of credential, `sieve connections` health, revocation on
`sieve disconnect`, and no credential in any plaintext byte Sieve leaves behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from emulators.github.app import APP_ID
from pipelines.cli import main
from resources.runtime import open_sieve
from resources.security.vault import Secret
from resources.storage.control_plane.credentials import record_expiry


@pytest.fixture
def cli(sieve_home):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert run("init").exit_code == 0
    assert run("org", "add", "acme").exit_code == 0
    return run


def test_without_owner_the_visible_accounts_are_listed(cli, emulator, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", emulator.credentials("github")["token"])
    result = cli("connect", "acme", "github", "--token-env", "GH_TOKEN",
                 "--base-url", emulator.base_url("github"))
    assert result.exit_code == 2
    assert f"{emulator.org.login} (organization)" in result.output
    assert "sieve-reader (your user account)" in result.output
    assert emulator.count_requests("github", "GET /user/orgs") == 1


def test_jira_server_basic_auth_is_sealed_and_checked(cli, emulator, monkeypatch):
    email, token = emulator.credentials("jira").values()
    monkeypatch.setenv("JIRA_USER", email)
    monkeypatch.setenv("JIRA_PASSWORD", token)
    result = cli("connect", "acme", "jira", "--base-url", emulator.base_url("jira"), "--basic",
                 "--username-env", "JIRA_USER", "--password-env", "JIRA_PASSWORD",
                 "--all-projects")
    assert result.exit_code == 0, result.output
    assert "accepted the credentials" in result.output
    listing = cli("connections", "acme").output
    assert " basic " in listing and "password,username" in listing and token not in listing


def oauth_connection(emulator, source="gitlab"):
    from tests.connectors.test_oauth_rotation import oauth_settings

    sieve = open_sieve()
    org = sieve.control_plane.organization("acme")
    grant = emulator.apps[source].oauth.grant()
    connection = sieve.control_plane.add_connection(
        org, source, oauth_settings(emulator, source),
        {name: Secret(value) for name, value in grant.items()})
    return sieve, connection, grant


@pytest.mark.parametrize("source", ["gitlab", "jira"])
def test_health_then_disconnect_revokes_at_the_provider(cli, emulator, source):
    sieve, connection, grant = oauth_connection(emulator, source)
    record_expiry(sieve.control_plane, connection.id, None)
    listing = cli("connections", "acme").output
    assert " oauth " in listing and "never" in listing
    from tests.harness import SieveOrg
    [summary] = SieveOrg(sieve, "acme").sync(source)
    assert summary.failure is None
    assert "never" not in cli("connections", "acme").output.split(connection.id)[1].split("{")[0]
    result = cli("disconnect", "acme", connection.id)
    assert result.exit_code == 0, result.output
    assert "revoked: the OAuth grant's refresh token" in result.output
    authority = emulator.apps[source].oauth
    with pytest.raises(Exception, match="invalid_grant"):
        from resources.http.oauth import PROVIDERS, refresh
        refresh(PROVIDERS[source], emulator.base_url(source), grant["client_id"],
                grant["client_secret"], grant["refresh_token"])
    assert authority.refused_grants == 1
    with sieve.control_plane.engine.connect() as conn:
        details = conn.exec_driver_sql("select details from audit_log where action = "
                                       "'connection.removed'").scalar_one()
    assert json.loads(details)["revocation"].startswith("revoked:")
    # The deletion that removes the connection's data certifies what happened at the source.
    from resources.retention.execute import execute_request

    [request] = [r for r in sieve.control_plane.deletion_requests()
                 if r["subject_ref"] == connection.id]
    certificate = execute_request(sieve, request["id"], rebuild_marts=None)
    assert certificate["verified"] is True
    assert certificate["details"]["credential_revocation"].startswith(
        "revoked: the OAuth grant's refresh token")


@pytest.mark.parametrize("oauth_source", ["gitlab", "jira"])
def test_no_credential_in_any_plaintext_byte(cli, emulator, tmp_path, monkeypatch, oauth_source):
    # The run's temp files go under tmp_path, which also holds SIEVE_HOME and DAGSTER_HOME.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    key_file = tmp_path / "app.pem"
    private_key = emulator.apps["github"].app_installations.private_key_pem
    key_file.write_text(private_key)
    result = cli("connect", "acme", "github", "--owner", emulator.org.login, "--repos", "web-app",
                 "--base-url", emulator.base_url("github"), "--app-id", str(APP_ID),
                 "--private-key-file", str(key_file))
    assert result.exit_code == 0, result.output
    key_file.unlink()
    sieve, connection, grant = oauth_connection(emulator, oauth_source)
    emulator.apps[oauth_source].oauth.tokens.expire_after_uses(3)
    from tests.harness import SieveOrg
    org = SieveOrg(sieve, "acme")
    org.sync("github")
    [synced] = org.sync(oauth_source)
    assert synced.failure is None and emulator.apps[oauth_source].oauth.refresh_grants == 1
    secrets = [grant["client_secret"], grant["refresh_token"], grant["access_token"],
               *[line for line in private_key.splitlines() if "PRIVATE KEY" not in line][:3]]
    secrets += list(sieve.control_plane.credentials(connection)[name].reveal()
                    for name in ("access_token", "refresh_token"))
    hits = [(path, s[:6]) for path in tmp_path.rglob("*") if path.is_file()
            and not path.is_symlink() for s in secrets if _contains(path, s)]
    assert hits == []


def _contains(path: Path, secret: str) -> bool:
    try:
        return secret.encode() in path.read_bytes()
    except OSError:
        return False


def oauth_connect(cli, emulator, monkeypatch, *extra, secret="demo-client-secret",
                  source="gitlab"):
    monkeypatch.setenv("OAUTH_CLIENT_ID", "sieve-demo-client")
    monkeypatch.setenv("OAUTH_CLIENT_SECRET", secret)
    return cli("connect", "acme", source, *OAUTH_CONNECT_ARGS[source](emulator), "--oauth",
               "--base-url", emulator.base_url(source), "--client-id-env", "OAUTH_CLIENT_ID",
               "--client-secret-env", "OAUTH_CLIENT_SECRET", *extra)


# Each source's own options; Jira's authorization server and API gateway are the emulator's.
OAUTH_CONNECT_ARGS = {
    "gitlab": lambda emulator: ("--group", "sieve-demo-infra"),
    "jira": lambda emulator: ("--all-projects", "--oauth-url", emulator.base_url("jira"),
                              "--api-gateway", emulator.base_url("jira")),
}


def browser_that_approves(monkeypatch):
    """The person's browser: opens the authorization URL, which redirects to the listener."""
    import threading

    import requests

    def open_url(url):
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}).start()
        return True

    monkeypatch.setattr("webbrowser.open", open_url)


@pytest.mark.parametrize("source, asked", [
    ("gitlab", ["read_api"]),
    ("jira", ["audience=api.atlassian.com", "prompt=consent", "offline_access"]),
])
def test_oauth_connect_through_the_loopback_redirect(cli, emulator, monkeypatch, source, asked):
    browser_that_approves(monkeypatch)
    result = oauth_connect(cli, emulator, monkeypatch, source=source)
    assert result.exit_code == 0, result.output
    assert "code_challenge_method=S256" in result.output
    assert all(part in result.output for part in asked), result.output
    listing = cli("connections", "acme").output
    assert " oauth " in listing
    assert "access_token,client_id,client_secret,refresh_token" in listing
    assert "demo-client-secret" not in listing


def test_jira_oauth_reaches_the_site_through_the_gateway(cli, emulator, monkeypatch):
    browser_that_approves(monkeypatch)
    result = oauth_connect(cli, emulator, monkeypatch, source="jira")
    assert result.exit_code == 0, result.output
    [connection] = open_sieve().control_plane.connections(
        open_sieve().control_plane.organization("acme"))
    cloud_id = emulator.apps["jira"].cloud_id
    site = emulator.base_url("jira")
    assert connection.settings["base_url"] == f"{site}/ex/jira/{cloud_id}"
    assert (connection.settings["site_url"], connection.settings["cloud_id"]) == (site, cloud_id)
    assert f"checked: Jira site {site}/ex/jira/{cloud_id} accepted" in result.output
    assert emulator.count_requests("jira", "GET /oauth/token/accessible-resources") == 1


@pytest.mark.parametrize("source, mistake, expected", [
    ("gitlab", "wrong_state", "state does not match"),
    ("gitlab", "wrong_secret", "refused the authorization code (invalid_client)"),
    ("jira", "wrong_state", "state does not match"),
    ("jira", "wrong_secret", "refused the authorization code (invalid_client)"),
    ("jira", "other_site", "does not reach the Jira site https://other.atlassian.net"),
])
def test_oauth_mistakes_are_one_line_and_nothing_is_stored(cli, emulator, monkeypatch, source,
                                                          mistake, expected):
    if mistake == "wrong_state":
        monkeypatch.setenv("OAUTH_CLIENT_ID", "sieve-demo-client")
        monkeypatch.setenv("OAUTH_CLIENT_SECRET", "demo-client-secret")
        # CliRunner feeds the prompt before the URL is known: a redirect from another attempt.
        result = CliRunner().invoke(main, [
            "connect", "acme", source, *OAUTH_CONNECT_ARGS[source](emulator), "--oauth",
            "--auth-code", "--base-url", emulator.base_url(source),
            "--client-id-env", "OAUTH_CLIENT_ID", "--client-secret-env", "OAUTH_CLIENT_SECRET"],
            input="http://127.0.0.1:1/callback?code=abc&state=from-another-attempt\n")
    elif mistake == "other_site":
        browser_that_approves(monkeypatch)
        # The last --base-url wins: a site the authorization does not reach.
        result = oauth_connect(cli, emulator, monkeypatch, "--base-url",
                               "https://other.atlassian.net", source=source)
    else:
        browser_that_approves(monkeypatch)
        result = oauth_connect(cli, emulator, monkeypatch, secret="not-the-secret", source=source)
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and expected in errors[0], result.output
    assert "not-the-secret" not in result.output and "code=abc" not in errors[0]
    assert "no connections" in cli("connections", "acme").output
