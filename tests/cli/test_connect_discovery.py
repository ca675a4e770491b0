"""`sieve connect` without the option naming what to read lists what the credentials can see
and asks: GitHub owners, GitLab groups, Jira projects. With no terminal to ask, it says which
option to pass and with what; with nothing visible or a rejected token, it says why."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from resources.runtime import open_sieve

GROUPS = "GET /groups"
PROJECT_SEARCH = "GET /rest/api/3/project/search"


@pytest.fixture
def cli(sieve_home):
    runner = CliRunner()

    def run(*args, answer: str | None = None):
        return runner.invoke(main, list(args), input=answer, catch_exceptions=False)

    assert run("init").exit_code == 0
    assert run("org", "add", "acme").exit_code == 0
    return run


@pytest.fixture
def terminal(monkeypatch):
    """A person at a terminal (the CLI runner's stdin is a pipe)."""
    monkeypatch.setattr("pipelines.cli.connections.stdin_is_terminal", lambda: True)


def stored_settings() -> list[dict]:
    sieve = open_sieve()
    try:
        return [c.settings for c in sieve.control_plane.connections()]
    finally:
        sieve.close()


@pytest.fixture
def gitlab(cli, emulator, monkeypatch):
    monkeypatch.setenv("GL_TOKEN", emulator.credentials("gitlab")["token"])
    return lambda *extra, answer=None: cli("connect", "acme", "gitlab", "--token-env", "GL_TOKEN",
                                           "--base-url", emulator.base_url("gitlab"), *extra,
                                           answer=answer)


@pytest.fixture
def jira(cli, emulator, monkeypatch):
    email, token = emulator.credentials("jira").values()
    monkeypatch.setenv("JIRA_EMAIL", email)
    monkeypatch.setenv("JIRA_TOKEN", token)
    return lambda *extra, answer=None: cli("connect", "acme", "jira", "--base-url",
                                           emulator.base_url("jira"), "--email-env", "JIRA_EMAIL",
                                           "--token-env", "JIRA_TOKEN", *extra, answer=answer)


# -- GitLab groups -----------------------------------------------------------------------------

def test_gitlab_groups_where_the_user_reads_are_listed_and_the_choice_stored(
        gitlab, emulator, terminal):
    result = gitlab(answer="2\n")
    assert result.exit_code == 0, result.output
    group = emulator.org.gitlab_group
    assert f"1. {group}  (Sieve Demo Infra)" in result.output
    assert "2. sieve-demo-web  (Sieve Demo Web)" in result.output
    assert "handbook" not in result.output  # a Guest there cannot read merge requests
    assert "checked: GitLab group sieve-demo-web" in result.output
    [settings] = stored_settings()
    assert settings["group"] == "sieve-demo-web"
    assert emulator.count_requests("gitlab", GROUPS) == 1


def test_every_page_of_gitlab_groups_is_read(gitlab, emulator, terminal, monkeypatch):
    monkeypatch.setattr("resources.sources.gitlab.connector.PAGE_SIZE", 1)
    result = gitlab(answer="1\n")
    assert result.exit_code == 0, result.output
    assert "2. sieve-demo-web" in result.output
    assert emulator.count_requests("gitlab", GROUPS) == 2
    assert stored_settings()[0]["group"] == emulator.org.gitlab_group


def test_without_a_terminal_gitlab_names_the_option_and_the_groups(gitlab, emulator):
    result = gitlab()
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "No terminal to ask which to connect: pass --group with one of" in output
    assert f"{emulator.org.gitlab_group} (Sieve Demo Infra), sieve-demo-web" in output
    assert f"(e.g. --group {emulator.org.gitlab_group})" in output
    assert stored_settings() == []


def test_a_gitlab_token_that_sees_no_group_says_what_access_is_missing(gitlab, emulator):
    emulator.apps["gitlab"].memberships = ()
    result = gitlab()
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "see no group" in output and "Reporter role" in output
    assert "Traceback" not in output
    assert stored_settings() == []


def test_a_rejected_gitlab_token_is_explained_before_any_listing(gitlab, monkeypatch):
    monkeypatch.setenv("GL_TOKEN", "glpat-not-the-right-one")
    result = gitlab()
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "error: The token for connection 'new-connection' of organization 'acme'" in output
    assert "(401 Unauthorized)" in output and "`sieve connect acme gitlab`" in output
    assert "glpat-not-the-right-one" not in output and "Traceback" not in output
    assert stored_settings() == []


def test_an_unreachable_gitlab_says_what_to_check_or_pass(cli, monkeypatch):
    monkeypatch.setenv("GL_TOKEN", "glpat-x")
    result = cli("connect", "acme", "gitlab", "--token-env", "GL_TOKEN",
                 "--base-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "the gitlab listing of what the credentials can see failed" in output
    assert "reachable from this machine" in output and "sync later" not in output
    assert "pass --group and --no-check" in output


def test_a_real_terminal_is_asked(cli, emulator, monkeypatch):
    """No stand-in for the terminal: `sieve` runs on a pseudo-terminal and is answered there."""
    monkeypatch.setenv("GL_TOKEN", emulator.credentials("gitlab")["token"])
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("sieve")), "connect", "acme", "gitlab", "--token-env",
         "GL_TOKEN", "--base-url", emulator.base_url("gitlab")],
        stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    seen = _read_until(leader, b"Which one (--group)")
    os.write(leader, b"2\n")
    seen += _read_until(leader, b"added to acme")
    assert process.wait(timeout=30) == 0, seen
    os.close(leader)
    assert b"2. sieve-demo-web" in seen
    assert stored_settings()[0]["group"] == "sieve-demo-web"


def _read_until(fd: int, wanted: bytes, timeout: float = 60.0) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 1.0)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the process closed the terminal
                break
    return seen


def test_gitlab_oauth_lists_groups_with_the_token_just_issued(cli, emulator, monkeypatch,
                                                              terminal):
    from tests.cli.test_credential_kinds import browser_that_approves

    browser_that_approves(monkeypatch)
    monkeypatch.setenv("GL_CLIENT_ID", "sieve-demo-client")
    monkeypatch.setenv("GL_CLIENT_SECRET", "demo-client-secret")
    result = cli("connect", "acme", "gitlab", "--oauth", "--base-url", emulator.base_url("gitlab"),
                 "--client-id-env", "GL_CLIENT_ID", "--client-secret-env", "GL_CLIENT_SECRET",
                 answer="1\n")
    assert result.exit_code == 0, result.output
    assert "2. sieve-demo-web" in result.output
    [settings] = stored_settings()
    assert settings["group"] == emulator.org.gitlab_group and settings["auth"] == "oauth"


# -- Jira projects -----------------------------------------------------------------------------

def test_jira_projects_are_listed_and_the_chosen_ones_stored(jira, emulator, terminal):
    result = jira(answer="9\n2\n")  # out of range: asked again
    assert result.exit_code == 0, result.output
    assert "1. OPS  (Operations)" in result.output and "2. PAY  (Payments delivery)" in result.output
    assert "type numbers from 1 to 2" in result.output
    [settings] = stored_settings()
    assert settings["projects"] == ["PAY"] and settings["all_projects"] is False


def test_all_at_the_jira_prompt_means_every_project_now_and_later(jira, emulator, terminal):
    result = jira(answer="all\n")
    assert result.exit_code == 0, result.output
    [settings] = stored_settings()
    assert settings["projects"] == [] and settings["all_projects"] is True


def test_every_page_of_jira_projects_is_read(jira, emulator, terminal, monkeypatch):
    monkeypatch.setattr("resources.sources.jira.connector.PROJECT_PAGE_SIZE", 1)
    result = jira(answer="1,2\n")
    assert result.exit_code == 0, result.output
    assert emulator.count_requests("jira", PROJECT_SEARCH) == 2
    assert stored_settings()[0]["projects"] == ["OPS", "PAY"]


def test_without_a_terminal_jira_names_both_options_and_the_projects(jira, emulator):
    result = jira()
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "pass --projects with some of OPS (Operations), PAY (Payments delivery)" in output
    assert "(e.g. --projects OPS,PAY), or --all-projects for every one" in output
    assert stored_settings() == []
    assert jira("--all-projects").exit_code == 0
    assert emulator.count_requests("jira", PROJECT_SEARCH) == 1  # --all-projects lists nothing


def test_jira_projects_and_all_projects_exclude_each_other(jira):
    result = jira("--projects", "PAY", "--all-projects")
    assert result.exit_code == 2
    assert "Pass --projects or --all-projects, not both." in result.output


def test_a_jira_account_that_browses_no_project_says_which_permission(jira, emulator):
    emulator.apps["jira"].browsable = frozenset()
    result = jira()
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "can browse no Jira project" in output and "Browse Projects permission" in output
    assert stored_settings() == []


def test_jira_server_basic_credentials_list_projects_too(cli, emulator, monkeypatch, terminal):
    email, token = emulator.credentials("jira").values()
    monkeypatch.setenv("JIRA_USER", email)
    monkeypatch.setenv("JIRA_PASSWORD", "not-the-password")
    args = ("connect", "acme", "jira", "--base-url", emulator.base_url("jira"), "--basic",
            "--username-env", "JIRA_USER", "--password-env", "JIRA_PASSWORD")
    rejected = cli(*args)
    assert rejected.exit_code == 2 and "401" in rejected.output
    assert "not-the-password" not in rejected.output
    monkeypatch.setenv("JIRA_PASSWORD", token)
    result = cli(*args, answer="1\n")
    assert result.exit_code == 0, result.output
    assert stored_settings()[0]["projects"] == ["OPS"]


# -- GitHub owners (the shared prompt) ---------------------------------------------------------

def test_a_github_owner_is_chosen_at_the_prompt(cli, emulator, monkeypatch, terminal):
    monkeypatch.setenv("GH_TOKEN", emulator.credentials("github")["token"])
    result = cli("connect", "acme", "github", "--token-env", "GH_TOKEN",
                 "--base-url", emulator.base_url("github"), answer="1\n")
    assert result.exit_code == 0, result.output
    assert f"1. {emulator.org.login}  (organization)" in result.output
    assert stored_settings()[0]["owner"] == emulator.org.login


def test_a_github_token_without_read_org_finds_owners_through_repositories(cli, emulator,
                                                                           monkeypatch):
    emulator.apps["github"].token_scopes = ("repo",)  # GitHub refuses /user/orgs (403)
    monkeypatch.setenv("GH_TOKEN", emulator.credentials("github")["token"])
    result = cli("connect", "acme", "github", "--token-env", "GH_TOKEN",
                 "--base-url", emulator.base_url("github"))
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    repos = len(emulator.org.repos)
    assert f"{emulator.org.login} (organization, {repos} repositories you can read)" in output
    assert "sieve-reader (your user account)" in output and "--owner" in output
    assert emulator.count_requests("github", "GET /user/orgs", status=403) == 1
    assert emulator.count_requests("github", "GET /user/repos") == 1
