"""Who may manage what (issue 19): analysts read marts only; operators also manage their
orgs' connections, deletions, settings and syncs; admins of every organization add orgs,
rotate keys and read the audit log. Each refusal names the role it needs; each action is
audited as the authenticated person, whatever SIEVE_ACTOR says."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from resources.security.audit import current_os_user
from tests.unit.test_access import quick_hashes  # noqa: F401 (a fixture)


def sieve(*args: str, token: str | None = None, env: dict | None = None):
    environment = {"SIEVE_TOKEN": token} if token else {}
    return CliRunner().invoke(main, list(args), env={**environment, **(env or {})},
                              catch_exceptions=False)


def token_for(email: str, org: str, role: str) -> str:
    granted = sieve("access", "grant", email, "--org", org, "--role", role)
    assert granted.exit_code == 0, granted.output
    return next(line for line in granted.output.splitlines() if line.startswith("sieve_pat_"))


@pytest.fixture
def people(sieve_org, quick_hashes):  # noqa: F811
    acme = sieve_org("acme")
    sieve_org("globex")
    acme.sieve.access.bootstrap_local_admin(current_os_user())
    return {"analyst": token_for("ana@example.com", "acme", "analyst"),
            "operator": token_for("oscar@example.com", "acme", "operator"),
            "org admin": token_for("ada@example.com", "acme", "admin"),
            "access": acme.sieve.access, "acme": acme}


OPERATOR_COMMANDS = [
    ["connect", "acme", "git", "--path", ".", "--no-check"],
    ["connections", "acme"],
    ["disconnect", "acme", "conn_does_not_matter"],
    ["forget", "acme", "--login", "someone"],
    ["deletions", "acme"],
    ["config", "show", "acme"],
    ["config", "init", "acme"],
    ["sync", "acme", "--estimate"],
    ["retention", "run", "acme"],
]
ORG_ADMIN_COMMANDS = [["org", "terminate", "acme"], ["org", "delete", "acme", "--yes"]]
INSTALLATION_ADMIN_COMMANDS = [["org", "add", "initech"], ["keys", "rotate"],
                               ["audit", "log"], ["audit", "verify"],
                               ["audit", "report"], ["retention", "run"]]


@pytest.mark.parametrize("args", OPERATOR_COMMANDS + ORG_ADMIN_COMMANDS
                         + INSTALLATION_ADMIN_COMMANDS, ids=" ".join)
def test_an_analyst_manages_nothing(people, args):
    refused = sieve(*args, token=people["analyst"])
    assert refused.exit_code == 2, refused.output
    assert "may not do this" in refused.output and people["analyst"] not in refused.output


@pytest.mark.parametrize("args", ORG_ADMIN_COMMANDS + INSTALLATION_ADMIN_COMMANDS, ids=" ".join)
def test_an_operator_neither_ends_orgs_nor_administers_the_installation(people, args):
    refused = sieve(*args, token=people["operator"])
    assert refused.exit_code == 2 and "may not do this" in refused.output, refused.output


@pytest.mark.parametrize("args", INSTALLATION_ADMIN_COMMANDS, ids=" ".join)
def test_an_admin_of_one_org_does_not_administer_the_installation(people, args):
    refused = sieve(*args, token=people["org admin"])
    assert refused.exit_code == 2 and "admin of every organization" in refused.output


def test_an_operator_manages_their_org_and_is_the_audited_actor(people):
    operator = people["operator"]
    connected = sieve("connect", "acme", "git", "--path", ".", "--no-check", token=operator,
                      env={"SIEVE_ACTOR": "someone-else"})
    assert connected.exit_code == 0, connected.output
    assert "acme" in sieve("connections", token=operator).output
    forgotten = sieve("forget", "acme", "--login", "someone", token=operator)
    assert forgotten.exit_code == 0, forgotten.output

    oscar = people["access"].person("oscar@example.com")
    entries = {e.action: e for e in people["access"].audit.entries()}
    assert entries["connection.added"].actor == oscar.actor
    assert entries["deletion.requested"].actor == oscar.actor
    # Another org's connections and deletions are not theirs to see, listed or named.
    assert sieve("connections", "globex", token=operator).exit_code == 2
    assert sieve("deletions", "globex", token=operator).exit_code == 2
    assert "globex" not in sieve("org", "list", token=operator).output


def test_the_local_admin_keeps_working_without_a_token(people):
    for args in (["org", "add", "initech"], ["connections"], ["audit", "verify"],
                 ["config", "show", "acme"]):
        done = sieve(*args)
        assert done.exit_code == 0, (args, done.output)
    assert "initech" in sieve("org", "list").output
