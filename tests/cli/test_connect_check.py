"""`sieve connect` checks the credentials with one cheap request before storing them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli import main


@pytest.fixture
def sieve(sieve_home, monkeypatch):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert run("init").exit_code == 0
    assert run("org", "add", "acme").exit_code == 0
    return run


def test_good_credentials_are_checked_then_stored(sieve, emulator, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", emulator.credentials("github")["token"])
    result = sieve("connect", "acme", "github", "--owner", emulator.org.login,
                   "--token-env", "GH_TOKEN", "--base-url", emulator.base_url("github"))
    assert result.exit_code == 0, result.output
    assert "checked: GitHub organization" in result.output
    assert "github connection conn_" in result.output
    assert emulator.count_requests("github") <= 2


def test_a_rejected_token_is_explained_and_nothing_is_stored(sieve, emulator, monkeypatch):
    monkeypatch.setenv("BAD_TOKEN", "xoxb-not-the-right-one")
    result = sieve("connect", "acme", "slack", "--token-env", "BAD_TOKEN",
                   "--base-url", emulator.base_url("slack"))
    assert result.exit_code == 2
    assert "error:" in result.output and "re-connect" in result.output.lower()
    assert "xoxb-not-the-right-one" not in result.output
    assert "no connections" in sieve("connections", "acme").output


def test_an_unreachable_host_is_named(sieve, monkeypatch):
    monkeypatch.setenv("TOKEN", "glpat-x")
    result = sieve("connect", "acme", "gitlab", "--group", "g", "--token-env", "TOKEN",
                   "--base-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "127.0.0.1:9" in result.output
    assert "Traceback" not in result.output
    # Nothing is stored yet, so there is no sync to re-run: say what to check, and --no-check.
    assert "sync later" not in result.output
    assert "reachable from this machine" in result.output and "--no-check" in result.output


def test_opsgenie_key_is_checked_then_stored_and_a_bad_one_is_one_error(sieve, emulator,
                                                                       monkeypatch):
    monkeypatch.setenv("OPSGENIE_API_KEY", "not-the-genie-key")
    refused = sieve("connect", "acme", "opsgenie", "--api-key-env", "OPSGENIE_API_KEY",
                    "--base-url", emulator.base_url("opsgenie"))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert [line for line in refused.output.splitlines() if line.startswith("error:")] != []
    assert "re-connect" in refused.output.lower() and "not-the-genie-key" not in refused.output
    assert "no connections" in sieve("connections", "acme").output

    monkeypatch.setenv("OPSGENIE_API_KEY", emulator.credentials("opsgenie")["api_key"])
    accepted = sieve("connect", "acme", "opsgenie", "--api-key-env", "OPSGENIE_API_KEY",
                     "--base-url", emulator.base_url("opsgenie"))
    assert accepted.exit_code == 0, accepted.output
    assert "accepted the API key" in accepted.output
    assert "opsgenie connection conn_" in accepted.output


def test_bitbucket_token_is_checked_then_stored_and_a_bad_one_is_one_error(sieve, emulator,
                                                                         monkeypatch):
    workspace = emulator.org.bitbucket.workspace
    command = ("connect", "acme", "bitbucket", "--workspace", workspace, "--token-env",
               "BITBUCKET_TOKEN", "--base-url", emulator.base_url("bitbucket"))
    monkeypatch.setenv("BITBUCKET_TOKEN", "not-a-bitbucket-token")
    refused = sieve(*command)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "re-connect" in refused.output.lower() and "not-a-bitbucket-token" not in refused.output
    assert "no connections" in sieve("connections", "acme").output

    monkeypatch.setenv("BITBUCKET_TOKEN", emulator.credentials("bitbucket")["token"])
    accepted = sieve(*command)
    assert accepted.exit_code == 0, accepted.output
    assert f"Bitbucket workspace {workspace}" in accepted.output
    assert "2 repositories visible" in accepted.output
    assert "bitbucket connection conn_" in accepted.output


def test_azuredevops_token_and_projects_are_checked_before_anything_is_stored(sieve, emulator,
                                                                             monkeypatch):
    def connect(token: str, projects: str):
        monkeypatch.setenv("AZUREDEVOPS_PAT", token)
        return sieve("connect", "acme", "azuredevops", "--projects", projects,
                     "--token-env", "AZUREDEVOPS_PAT", "--base-url",
                     emulator.base_url("azuredevops"))

    project = emulator.org.azuredevops.project_name
    refused = connect("not-the-pat", project)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "re-connect" in refused.output.lower() and "not-the-pat" not in refused.output
    gone = connect(emulator.credentials("azuredevops")["token"], "Retired")
    assert gone.exit_code == 2 and "'Retired'" in gone.output and "TF200016" in gone.output
    assert "no connections" in sieve("connections", "acme").output

    accepted = connect(emulator.credentials("azuredevops")["token"], project)
    assert accepted.exit_code == 0, accepted.output
    assert "accepted the token (2 repositories visible" in accepted.output
    assert "azuredevops connection conn_" in accepted.output
