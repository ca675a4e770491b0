"""GitHub as a GitHub App: `sieve connect --app-id --private-key-file`, installation tokens
minted per run and renewed when they expire mid-sync, and each wrong input's one-line error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.github.app import APP_ID, INSTALLATION_ID
from pipelines.cli import main
from tests.harness import SieveOrg, waits_in_emulated_time

ONE_REPO = "web-app"


@pytest.fixture
def cli(sieve_home):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert run("init").exit_code == 0
    assert run("org", "add", "acme").exit_code == 0
    return run


@pytest.fixture
def key_file(tmp_path, emulator):
    path = tmp_path / "app.private-key.pem"
    path.write_text(emulator.apps["github"].app_installations.private_key_pem)
    return path


def connect_app(cli, emulator, key_path, *extra):
    return cli("connect", "acme", "github", "--owner", emulator.org.login, "--repos", ONE_REPO,
               "--base-url", emulator.base_url("github"), "--app-id", str(APP_ID),
               "--private-key-file", str(key_path), *extra)


def test_app_connection_finds_its_installation_and_seals_the_key(cli, emulator, key_file):
    result = connect_app(cli, emulator, key_file)
    assert result.exit_code == 0, result.output
    assert "may delete the .pem file" in result.output
    listing = cli("connections", "acme").output
    assert f'"installation_id": "{INSTALLATION_ID}"' in listing and "github_app" in listing
    assert emulator.count_requests("github", "GET /orgs/{org}/installation") == 1


def app_org(by_token: SieveOrg, emulator, **settings) -> SieveOrg:
    """A second organization beside ``by_token``'s, reading the same repository as the demo
    GitHub App."""
    by_token.sieve.control_plane.add_organization("by-app")
    by_app = SieveOrg(by_token.sieve, "by-app")
    by_app.connect("github", {"base_url": emulator.base_url("github"), "auth": "github_app",
                              "app_id": str(APP_ID), "installation_id": str(INSTALLATION_ID),
                              "owner": emulator.org.login, "repos": [ONE_REPO], **settings},
                   {"private_key": emulator.apps["github"].app_installations.private_key_pem})
    return by_app


def test_a_token_expiring_mid_sync_is_renewed_and_no_page_is_lost(sieve_org, emulator):
    by_token = sieve_org("by-token")
    by_token.connect_emulator(emulator, "github", owner=emulator.org.login, repos=[ONE_REPO])
    [expected] = by_token.sync("github")
    assert expected.failure is None
    by_app = app_org(by_token, emulator)
    installations = emulator.apps["github"].app_installations
    installations.tokens.expire_after_uses(5)
    [summary] = by_app.sync("github")
    assert summary.failure is None
    assert installations.mint_requests == 2  # the first token, and one renewal mid-sync
    assert by_app.content() == by_token.content()


def test_the_sync_waits_for_its_installations_budget_and_ends_identical(sieve_org, emulator):
    from emulators.github.app import installation_budget

    by_token = sieve_org("by-token")
    by_token.connect_emulator(emulator, "github", owner=emulator.org.login, repos=[ONE_REPO],
                              api="rest")
    [expected] = by_token.sync("github")
    assert expected.failure is None
    by_app = app_org(by_token, emulator, api="rest")
    installations = emulator.apps["github"].app_installations
    # The installation's budget is tiny, used up twice by the sync's 122 requests; the personal
    # token's, used above, is not.
    emulator.faults.rate_limit(installation_budget(INSTALLATION_ID), limit=50, window_seconds=1.0)
    personal_used = emulator.rate_limits.state("github").used
    emulator.clear_requests()

    [summary] = by_app.sync("github", **waits_in_emulated_time(emulator))

    assert summary.failure is None
    # x-ratelimit-remaining: 0 on the installation's answers said when to stop: no refusal.
    assert len(emulator.requests) > 100 and summary.http["wait_seconds"] > 0
    assert [r for r in emulator.requests if r.status == 403] == []
    # Of the personal token's budget, only the app's own (JWT) request to mint a token.
    assert emulator.rate_limits.state("github").used == personal_used + installations.mint_requests
    assert by_app.content() == by_token.content()


def other_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("mistake, expected", [
    ("app_id", "rejected the JWT of app 999"),
    ("private_key", "rejected the JWT of app"),
    ("not_a_key", "not a PEM private key"),
    ("uninstalled", "not installed on"),
    ("wrong_installation", "could not get a token for installation 77"),
])
def test_each_wrong_input_is_one_line_and_nothing_is_stored(cli, emulator, key_file, tmp_path,
                                                            mistake, expected):
    extra: list[str] = []
    app_id = str(APP_ID)
    if mistake == "app_id":
        app_id = "999"
    elif mistake == "private_key":
        key_file.write_text(other_key_pem())
    elif mistake == "not_a_key":
        key_file.write_text("ghp_this-is-a-token-not-a-key")
    elif mistake == "uninstalled":
        emulator.apps["github"].app_installations.uninstall()
    elif mistake == "wrong_installation":
        extra = ["--installation-id", "77"]
    result = cli("connect", "acme", "github", "--owner", emulator.org.login,
                 "--base-url", emulator.base_url("github"), "--app-id", app_id,
                 "--private-key-file", str(key_file), *extra)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "BEGIN PRIVATE KEY" not in result.output and "ghp_this" not in result.output
    assert "no connections" in cli("connections", "acme").output
