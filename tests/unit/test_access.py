"""Personal access: grants per organization, tokens kept only as argon2id hashes, refusals
audited once each and rate-limited per person and per address, the access review."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import select

from pipelines.cli import main
from resources.security import access as access_module
from resources.security.access import (
    FAILURE_LIMIT,
    LOGIN_FAILED,
    AccessDenied,
    AddressLimiter,
)
from resources.security.audit import current_os_user
from resources.storage.control_plane.schema import access_tokens


@pytest.fixture
def quick_hashes(monkeypatch):
    """argon2id at its cheapest: the production cost (~0.5 s a hash here) would make each
    login in these tests slow; what is checked — salted argon2id, verified — is the same."""
    monkeypatch.setattr(access_module, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def two_orgs(sieve_org, quick_hashes):
    acme, globex = sieve_org("acme"), sieve_org("globex")
    access = acme.sieve.access
    admin = access.bootstrap_local_admin(current_os_user())
    return access, admin, acme.org, globex.org


def failures(access) -> list:
    return [e for e in access.audit.entries() if e.action == LOGIN_FAILED]


def test_roles_are_per_organization_and_nest(two_orgs):
    access, admin, acme, globex = two_orgs
    ana = access.add_person("Ana@Example.com")
    access.grant(ana, acme, "analyst", actor=admin.actor)

    assert access.authorize(ana, acme, "analyst") == "analyst"
    with pytest.raises(AccessDenied, match="needs the operator role and you hold analyst"):
        access.authorize(ana, acme, "operator")
    with pytest.raises(AccessDenied, match="no grant on it"):
        access.authorize(ana, globex, "analyst")
    assert access.authorize(admin, globex, "operator") == "admin"

    access.grant(ana, acme, "operator", actor=admin.actor)  # replaces the analyst grant
    assert [g.role for g in access.grants(ana) if g.revoked_at is None] == ["operator"]
    access.revoke(ana, acme, actor=admin.actor)
    with pytest.raises(AccessDenied):
        access.authorize(ana, acme, "analyst")
    with pytest.raises(Exception, match="nobody an admin"):
        access.revoke(admin, None, actor=admin.actor)


def test_a_grant_past_its_expiry_gives_nothing(two_orgs):
    access, admin, acme, _ = two_orgs
    bo = access.add_person("bo@example.com")
    access.grant(bo, acme, "analyst", actor=admin.actor, expires_in=timedelta(seconds=-1))
    with pytest.raises(AccessDenied):
        access.authorize(bo, acme, "analyst")


def test_only_the_current_token_logs_in_and_each_refusal_is_audited_once(two_orgs):
    access, admin, acme, _ = two_orgs
    ana = access.add_person("ana@example.com")
    first = access.issue_token(ana, actor=admin.actor)
    assert access.authenticate(first, interface="test") == ana

    second = access.rotate(ana, actor=admin.actor)
    expired = access.issue_token(ana, actor=admin.actor, lifetime=timedelta(seconds=-1))
    token_id = second.split("_")[2] + "_" + second.split("_")[3]
    wrong_secret = f"sieve_pat_{token_id}_{'A' * 43}"
    refused = [first, expired, wrong_secret, "sieve_pat_tok_000000000000_" + "B" * 43, "nonsense"]
    for token in refused:
        with pytest.raises(AccessDenied) as error:
            access.authenticate(token, interface="test")
        assert token not in str(error.value)
    reasons = [e.details["reason"] for e in failures(access)]
    assert reasons == ["revoked", "expired", "wrong_token", "wrong_token", "wrong_token"]
    assert all(e.actor == "unauthenticated" for e in failures(access))
    assert access.authenticate(second, interface="test", claimed_email="ana@example.com") == ana

    bo = access.add_person("bo@example.com")
    with pytest.raises(AccessDenied):  # Ana's token is not Bo's password
        access.authenticate(second, interface="test", claimed_email=bo.email)
    assert failures(access)[-1].details["reason"] == "wrong_person"


def test_only_an_argon2id_hash_of_the_token_is_stored(two_orgs, monkeypatch):
    access, admin, _, _ = two_orgs
    monkeypatch.setattr(access_module, "_hasher", PasswordHasher())  # the production cost
    token = access.issue_token(access.add_person("ana@example.com"), actor=admin.actor)
    # sieve_pat_tok_<12 hex>_<secret>; the secret is URL-safe base64 and may hold "_" itself.
    secret = token.removeprefix(access_module.TOKEN_PREFIX).split("_", 2)[2]
    assert len(secret) == 43
    with access.engine.connect() as conn:
        stored = conn.execute(select(access_tokens.c.secret_hash)).scalars().all()
    assert len(stored) == 1 and stored[0].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert secret not in stored[0]
    assert not [e for e in access.audit.entries() if secret in json.dumps(e.details)]


def test_failures_are_rate_limited_per_person_and_per_address(two_orgs):
    access, admin, _, _ = two_orgs
    ana, bo = access.add_person("ana@example.com"), access.add_person("bo@example.com")
    ana_token = access.issue_token(ana, actor=admin.actor)
    guess = ana_token[:-1] + ("A" if ana_token[-1] != "A" else "B")
    for _ in range(FAILURE_LIMIT):
        with pytest.raises(AccessDenied, match="wrong, expired"):
            access.authenticate(guess, interface="test")
    with pytest.raises(AccessDenied, match="too many failed logins"):
        access.authenticate(ana_token, interface="test")  # right token, person locked out
    assert len(failures(access)) == FAILURE_LIMIT + 1

    limiter, bo_token = AddressLimiter(limit=2), access.issue_token(bo, actor=admin.actor)
    for _ in range(2):
        with pytest.raises(AccessDenied):
            access.authenticate("sieve_pat_nope", interface="test",
                                address_limiter=limiter, address="192.0.2.7")
    with pytest.raises(AccessDenied, match="too many failed logins"):
        access.authenticate(bo_token, interface="test", address_limiter=limiter,
                            address="192.0.2.7")
    assert access.authenticate(bo_token, interface="test", address_limiter=limiter,
                               address="192.0.2.8") == bo
    assert "192.0.2" not in json.dumps([e.details for e in access.audit.entries()])


def sieve(*args: str, token: str | None = None):
    env = {"SIEVE_TOKEN": token} if token else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_cli_grants_show_the_token_once_and_enforce_roles(two_orgs):
    access, admin, acme, globex = two_orgs
    granted = sieve("access", "grant", "ana@example.com", "--org", "acme", "--role", "analyst",
                    "--expires", "90d")
    assert granted.exit_code == 0, granted.output
    token = next(line for line in granted.output.splitlines() if line.startswith("sieve_pat_"))
    ana = access.person("ana@example.com")
    assert access.authenticate(token, interface="test") == ana

    # An analyst of acme reads neither globex nor acme's metadata, and manages no access.
    for args in (["export-key", "globex", "--operator"], ["export-key", "acme", "--operator"],
                 ["query", "globex", "select 1"], ["query", "acme", "select 1", "--operator"],
                 ["shell", "acme", "--operator"], ["report", "globex"], ["export", "globex"],
                 ["access", "grant", "bo@example.com", "--org", "acme", "--role", "admin"]):
        refused = sieve(*args, token=token)
        assert refused.exit_code == 2, (args, refused.output)
        assert "may not do this" in refused.output and token not in refused.output

    sieve("access", "grant", "ana@example.com", "--org", "acme", "--role", "operator")
    revealed = sieve("export-key", "acme", "--operator", token=token)
    assert revealed.exit_code == 0, revealed.output
    [reveal] = [e for e in access.audit.entries() if e.action == "export.key_revealed"]
    assert reveal.actor == ana.actor

    rotated = sieve("access", "rotate", token=token)
    assert sieve("export-key", "acme", "--operator", token=token).exit_code == 2
    new_token = next(line for line in rotated.output.splitlines() if line.startswith("sieve_"))
    assert sieve("export-key", "acme", "--operator", token=new_token).exit_code == 0

    listed = sieve("access", "list")
    assert "ana@example.com  acme  operator" in listed.output
    assert sieve("access", "revoke", "ana@example.com").exit_code == 0
    assert sieve("export-key", "acme", "--operator", token=new_token).exit_code == 2


def test_access_review_lists_unused_grants_idle_tokens_and_operator_reads(two_orgs):
    access, admin, acme, globex = two_orgs
    ana, bo = access.add_person("ana@example.com"), access.add_person("bo@example.com")
    access.grant(ana, acme, "operator", actor=admin.actor, expires_in=timedelta(days=3))
    access.grant(bo, globex, "analyst", actor=admin.actor)
    access.issue_token(bo, actor=admin.actor)
    access.audit.append("data.queried", org_id=acme.id, target="metadata", actor=ana.actor,
                        details={"interface": "sieve query", "operator": True})

    result = sieve("access", "review", "--format", "json")

    assert result.exit_code == 0, result.output
    review = json.loads(result.output)
    assert {(g["email"], g["org"], g["role"]) for g in review["grants"]} == {
        ("ana@example.com", "acme", "operator"), ("bo@example.com", "globex", "analyst"),
        (admin.email, "*", "admin")}
    assert [g["email"] for g in review["expiring_soon"]] == ["ana@example.com"]
    assert review["unused_grants"] == []  # all granted today
    assert [t["email"] for t in review["tokens_never_used"]] == ["bo@example.com"]
    assert review["operator_reads"] == [{"person": "ana@example.com", "org": "acme",
                                         "interface": "sieve query",
                                         "at": review["operator_reads"][0]["at"]}]
    [entry] = [e for e in access.audit.entries() if e.action == "access.reviewed"]
    assert entry.actor == admin.actor
