"""`sieve serve` with real PostgreSQL clients: psycopg2, pandas and psql against the server."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pandas as pd
import psycopg2
import pytest
from argon2 import PasswordHasher

from resources.analyst.server import ServeError, ServeLimits, serve, tls_context
from resources.security import access as access_module
from resources.security.audit import current_os_user
from tests.analyst.marts import CANARY_EMAIL, build_marts


def start_server(sieve_org, monkeypatch, **tls):
    monkeypatch.setattr(access_module, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    acme, globex = sieve_org("acme"), sieve_org("globex")
    build_marts(acme)
    build_marts(globex)
    access = acme.sieve.access
    admin = access.bootstrap_local_admin(current_os_user())
    people = {}
    for email, org, role in (("ana@example.com", acme.org, "analyst"),
                             ("olga@example.com", acme.org, "operator")):
        person = access.add_person(email)
        access.grant(person, org, role, actor=admin.actor)
        people[email] = access.issue_token(person, actor=admin.actor)
    limits = ServeLimits(statement_timeout_s=2, max_rows=50, connections_per_person=2)
    running = serve(acme.sieve, "127.0.0.1", 0, limits=limits, **tls)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    return running, people, access


@pytest.fixture
def server(sieve_org, monkeypatch):
    running, people, access = start_server(sieve_org, monkeypatch)
    yield running, people, access
    running.shutdown()
    running.server_close()


def connect(server, email, token, db="acme"):
    return psycopg2.connect(host="127.0.0.1", port=server.server_address[1], dbname=db,
                            user=email, password=token, connect_timeout=5)


def query(conn, sql):
    with conn.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_an_analyst_reads_the_marts_of_their_org_and_nothing_else(server):
    running, people, access = server
    ana = people["ana@example.com"]
    with connect(running, "ana@example.com", ana) as conn:
        assert query(conn, "select count(*) from dora_weekly") == [(12,)]
        tables = {t for (t,) in query(conn, "select table_name from information_schema.tables")}
        assert "dora_weekly" in tables and "people" not in tables
        columns = query(conn, "select column_name from information_schema.columns "
                              "where table_name = 'dora_weekly'")
        assert ("deployments_per_day",) in columns
        assert query(conn, "select relname from pg_catalog.pg_class "
                           "where relname = 'dora_weekly'") == [("dora_weekly",)]
        frame = pd.read_sql("select period_start, deployment_count from dora_weekly", conn)
        assert len(frame) == 12
        for sql, refusal in (
                ("select * from metadata.people", "metadata"),
                ("attach 'x.duckdb' as x", "refused"),
                ("copy dora_weekly to 'out.csv'", "refused"),
                ("install httpfs", "refused"), ("load httpfs", "refused"),
                ("set enable_external_access = true", "refused"),
                ("select * from read_csv('/etc/passwd')", "file system operations are disabled"),
                ("select * from range(1000)", "more than 50 rows"),
                ("select count(*) from range(100000000000) a", "statement timeout")):
            conn.rollback()
            with pytest.raises(psycopg2.Error, match=f"(?i){refusal}"):
                query(conn, sql)
    with pytest.raises(psycopg2.OperationalError, match="may not do this on 'globex'"):
        connect(running, "ana@example.com", ana, db="globex")


def test_an_operator_also_sees_the_metadata_and_every_session_is_audited(server):
    running, people, access = server
    with connect(running, "olga@example.com", people["olga@example.com"]) as conn:
        assert query(conn, "select email from metadata.people") == [(CANARY_EMAIL,)]
    olga = access.person("olga@example.com")
    [entry] = [e for e in access.audit.entries() if e.details.get("interface") == "sieve serve"]
    assert (entry.actor, entry.target, entry.details["operator"]) == (olga.actor, "metadata",
                                                                      True)


def test_wrong_tokens_and_too_many_connections_are_refused(server):
    running, people, access = server
    ana = people["ana@example.com"]
    for email, token in (("ana@example.com", ana[:-2] + "xx"), ("olga@example.com", ana)):
        with pytest.raises(psycopg2.OperationalError, match="login refused") as error:
            connect(running, email, token)
        assert ana not in str(error.value)
    held = [connect(running, "ana@example.com", ana) for _ in range(2)]
    with pytest.raises(psycopg2.OperationalError, match="connection limit"):
        connect(running, "ana@example.com", ana)
    for conn in held:
        conn.close()


@pytest.mark.skipif(shutil.which("psql") is None and os.environ.get("CI") != "true",
                    reason="psql missing: apt-get install postgresql-client (.ci/run does)")
def test_psql_lists_and_reads_the_marts(server):
    running, people, _ = server
    env = {**os.environ, "PGPASSWORD": people["ana@example.com"], "PGCONNECT_TIMEOUT": "5"}
    command = ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(running.server_address[1]),
               "-U", "ana@example.com", "-d", "acme", "-c",
               "select sum(deployment_count) from dora_weekly"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sum(5 + n for n in range(12)))


def test_a_network_listener_needs_tls():
    with pytest.raises(ServeError, match="needs TLS"):
        tls_context(None, None, "0.0.0.0")
    assert tls_context(None, None, "127.0.0.1") is None


def self_signed_certificate(directory) -> tuple:
    """A certificate for 127.0.0.1 and its key, as an admin would configure them."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "serve.crt", directory / "serve.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_with_a_certificate_clients_handshake_tls_and_plaintext_is_refused(
        sieve_org, monkeypatch, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    running, people, _ = start_server(sieve_org, monkeypatch, tls_cert=cert, tls_key=key)
    try:
        port, token = running.server_address[1], people["ana@example.com"]
        # verify-full: the client checks the server's certificate and its name, then talks TLS.
        with psycopg2.connect(host="127.0.0.1", port=port, dbname="acme",
                              user="ana@example.com", password=token, connect_timeout=5,
                              sslmode="verify-full", sslrootcert=str(cert)) as conn:
            assert conn.info.ssl_in_use and conn.info.ssl_attribute("protocol") in (
                "TLSv1.2", "TLSv1.3")
            assert query(conn, "select count(*) from dora_weekly") == [(12,)]
        with pytest.raises(psycopg2.OperationalError) as refused:
            psycopg2.connect(host="127.0.0.1", port=port, dbname="acme",
                             user="ana@example.com", password=token, connect_timeout=5,
                             sslmode="disable")
        assert "TLS is required" in str(refused.value)
        assert token not in str(refused.value)
    finally:
        running.shutdown()
        running.server_close()


def test_every_mart_answers_whatever_words_its_name_holds(server):
    """Buena Vista took any statement with "load " or "update " in it for a command and
    answered no rows: `review_load` could not be read at all."""
    running, people, _ = server
    with connect(running, "ana@example.com", people["ana@example.com"]) as conn:
        assert query(conn, "select count(*) from review_load")[0][0] > 0
        rows = query(conn, "select * from review_load limit 3")
        assert len(rows) == 3
        assert query(conn, "select 'insert ' || 'update ' as \"load \"") == [("insert update ",)]
