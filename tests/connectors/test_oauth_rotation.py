"""Rotating OAuth refresh tokens on the GitLab and Jira (Atlassian 3LO) emulators: renewal
mid-sync, a reused refresh token, two syncs at once, and a process killed between the token
answer and its commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from resources.http.errors import ReauthRequiredError
from resources.sources.oauth_refresh import fresh_access_token
from resources.storage.control_plane.credentials import credential_health, record_expiry

GROUP = "sieve-demo-infra"


def oauth_settings(emulator, source: str) -> dict:
    """A connection's settings as `sieve connect ORG <source> --oauth` stores them."""
    if source == "jira":
        site, cloud_id = emulator.base_url("jira"), emulator.apps["jira"].cloud_id
        return {"base_url": f"{site}/ex/jira/{cloud_id}", "auth": "oauth", "oauth_url": site,
                "site_url": site, "cloud_id": cloud_id}
    return {"base_url": emulator.base_url("gitlab"), "auth": "oauth", "group": GROUP}


TOKEN_SETTINGS = {"gitlab": {"group": GROUP}, "jira": {}}


def connect_oauth(org, emulator, grant=None, source="gitlab"):
    authority = emulator.apps[source].oauth
    connection = org.connect(source, oauth_settings(emulator, source),
                             grant or authority.grant())
    return connection, authority


def spend_refresh_token(emulator, source, refresh_token):
    """Someone else redeems the stored refresh token first (a copy of the database, say)."""
    from resources.http.oauth import PROVIDERS, refresh

    refresh(PROVIDERS[source], emulator.base_url(source), "sieve-demo-client",
            "demo-client-secret", refresh_token)


@pytest.fixture(params=["gitlab", "jira"])
def oauth_source(request) -> str:
    return request.param


def test_an_access_token_expiring_mid_sync_is_refreshed_and_no_page_is_lost(
        oauth_source, sieve_org, emulator):
    by_token = sieve_org("by-token")
    by_token.connect_emulator(emulator, oauth_source, **TOKEN_SETTINGS[oauth_source])
    [expected] = by_token.sync(oauth_source)
    assert expected.failure is None
    by_oauth = sieve_org("by-oauth")
    connection, authority = connect_oauth(by_oauth, emulator, source=oauth_source)
    first_refresh = by_oauth.sieve.control_plane.credentials(connection)["refresh_token"]
    authority.tokens.expire_after_uses(6)
    [summary] = by_oauth.sync(oauth_source)
    assert summary.failure is None
    assert authority.refresh_grants == 1 and authority.refused_grants == 0
    stored = by_oauth.sieve.control_plane.credentials(connection)
    assert stored["refresh_token"] != first_refresh  # the rotated token was sealed
    assert by_oauth.content() == by_token.content()


def test_a_reused_refresh_token_needs_reauth_once_and_the_org_syncs_on(oauth_source, sieve_org,
                                                                       emulator):
    org = sieve_org("acme")
    grant = emulator.apps[oauth_source].oauth.grant()
    connection, authority = connect_oauth(org, emulator, grant, oauth_source)
    # A second, healthy connection of the same source.
    org.connect_emulator(emulator, oauth_source, **TOKEN_SETTINGS[oauth_source])
    spend_refresh_token(emulator, oauth_source, grant["refresh_token"])
    authority.tokens.expire_after_uses(0)
    first = {s.connection_id: s for s in org.sync(oauth_source)}
    assert "needs to be connected again" in first[connection.id].failure
    fix = {"gitlab": "sieve connect acme gitlab --oauth",
           "jira": f"sieve connect acme jira --base-url {emulator.base_url('jira')} --oauth"}
    assert fix[oauth_source] in first[connection.id].failure
    assert grant["refresh_token"] not in first[connection.id].failure
    healthy = [s for cid, s in first.items() if cid != connection.id]
    assert [s.failure for s in healthy] == [None]
    refused = authority.refused_grants
    second = {s.connection_id: s for s in org.sync(oauth_source)}
    assert second[connection.id].failure is None
    assert "needs to be connected again" in second[connection.id].skipped
    assert authority.refused_grants == refused == 1  # no retry storm
    assert "invalid_grant" in credential_health(org.sieve.control_plane, connection.id).needs_reauth


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def control_plane_kind(request, sieve_home, monkeypatch) -> str:
    """The embedded control plane (SQLite), or the production one on PostgreSQL, where the
    lease's compare-and-set runs under real row locking and concurrent transactions."""
    if request.param == "postgres":
        from tests.postgres.test_postgres import reset_database

        url = request.getfixturevalue("control_plane_pg_url")
        reset_database(url)
        monkeypatch.setenv("SIEVE_CONTROL_PLANE_URL", url)
    return request.param


def test_two_syncs_of_one_connection_refresh_exactly_once(control_plane_kind, sieve_org,
                                                          emulator):
    org = sieve_org("acme")
    assert org.sieve.control_plane.engine.dialect.name == {
        "embedded": "sqlite", "postgres": "postgresql"}[control_plane_kind]
    connection, authority = connect_oauth(org, emulator)
    stale = org.sieve.control_plane.credentials(connection)["access_token"].reveal()
    contexts = [org.connector_context("gitlab") for _ in range(4)]
    start = threading.Barrier(len(contexts))
    tokens: list[str] = []

    def renew(context):
        start.wait()
        tokens.append(fresh_access_token(context, stale).value)

    threads = [threading.Thread(target=renew, args=(c,)) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert authority.refresh_grants == 1
    assert len(tokens) == len(contexts)
    assert len(set(tokens)) == 1 and stale not in tokens


@pytest.mark.postgres
def test_rotated_tokens_are_in_no_plaintext_byte_of_a_postgresql_control_plane(
        sieve_home, control_plane_pg_url, monkeypatch, emulator):
    """The SQLite control plane is a file under SIEVE_HOME, scanned with everything else in
    tests/cli/test_credential_kinds.py; this is the production one, as pg_dump writes it."""
    from tests.postgres.test_postgres import pg_dump, reset_database

    reset_database(control_plane_pg_url)
    monkeypatch.setenv("SIEVE_CONTROL_PLANE_URL", control_plane_pg_url)
    from tests.harness import SieveOrg, new_installation

    sieve = new_installation()
    sieve.control_plane.add_organization("acme")
    org = SieveOrg(sieve, "acme")
    grant = emulator.apps["jira"].oauth.grant()
    connection, authority = connect_oauth(org, emulator, grant, "jira")
    authority.tokens.expire_after_uses(3)
    [summary] = org.sync("jira")
    assert summary.failure is None and authority.refresh_grants == 1
    rotated = sieve.control_plane.credentials(connection)
    secrets = [grant["client_secret"], grant["access_token"], grant["refresh_token"],
               rotated["access_token"].reveal(), rotated["refresh_token"].reveal()]
    dump = pg_dump(control_plane_pg_url)
    sieve.close()
    # The dump holds the connection's row and its plain settings (the site's cloud id).
    assert connection.id.encode() in dump and b"credential_state" in dump
    assert emulator.apps["jira"].cloud_id.encode() in dump
    assert [secret[:6] for secret in secrets if secret.encode() in dump] == []


KILLED_REFRESH = textwrap.dedent("""
    import os, sys, time
    from resources.runtime import open_sieve
    from resources.storage.control_plane import credentials as state
    from resources.sources import oauth_refresh
    from resources.sources.connector import ConnectorContext, SyncState

    def stop_before_commit(*args, **kwargs):
        print("answered", flush=True)
        time.sleep(60)

    oauth_refresh.store_refreshed = stop_before_commit
    sieve = open_sieve()
    connection = sieve.control_plane.connection(sys.argv[1])
    context = ConnectorContext("acme", connection, sieve.control_plane.credentials(connection),
                               SyncState(sieve.control_plane, connection.id))
    oauth_refresh.fresh_access_token(context, sys.argv[2])
""")


def test_a_kill_between_the_token_answer_and_its_commit_asks_for_reauth(sieve_org, emulator,
                                                                        monkeypatch):
    org = sieve_org("acme")
    connection, authority = connect_oauth(org, emulator)
    stale = org.sieve.control_plane.credentials(connection)["access_token"].reveal()
    child = subprocess.Popen([sys.executable, "-c", KILLED_REFRESH, connection.id, stale],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout.readline().strip() == "answered"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert authority.refresh_grants == 1  # the provider rotated the token; nobody stored it
    monkeypatch.setattr("resources.sources.oauth_refresh.LEASE_SECONDS", 0.0)
    record_expiry(org.sieve.control_plane, connection.id, None)
    with pytest.raises(ReauthRequiredError, match="never stored its answer"):
        # The dead process's lease has to lapse first; it was taken for LEASE_SECONDS.
        _expire_lease(org, connection.id)
        fresh_access_token(org.connector_context("gitlab"), stale)
    assert authority.refresh_grants == 1  # the spent refresh token was not tried again
    [summary] = org.sync("gitlab")
    assert summary.failure is None and "never stored its answer" in summary.skipped


def _expire_lease(org, connection_id):
    from sqlalchemy import update

    from resources.storage.control_plane.schema import credential_state
    with org.sieve.control_plane.transaction() as conn:
        conn.execute(update(credential_state).where(
            credential_state.c.connection_id == connection_id).values(
            lease_until=credential_state.c.refresh_started_at))
