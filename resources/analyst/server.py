"""``sieve serve``: each organization's marts over the PostgreSQL wire protocol, for analysts'
BI tools (psql, Metabase, Superset, pandas).

The protocol is Buena Vista's; this module adds who may connect and what they see. The
database name is the organization's slug; the user is the person's email and the password
their personal access token, checked against its argon2id hash (so the password travels in
the clear inside TLS, which is required off loopback). Analysts get a cursor on the org's
marts copied into memory with the org's file detached and the session locked down exactly as
``sieve query`` does (``resources.analyst.sessions``); operators of that org get the
metadata schema too. Only reads run, each under a timeout and a row cap.
"""

from __future__ import annotations

import ipaddress
import logging
import socketserver
import ssl
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from buenavista import bv_dialects, rewrite
from buenavista.backends.duckdb import DuckDBQueryResult, DuckDBSession
from buenavista.postgres import BuenaVistaHandler, BuenaVistaServer, BVBuffer, BVContext

from resources.analyst.sessions import ANALYST_SCHEMA, analyst_session, refuse_writes
from resources.errors import SieveError
from resources.runtime import Sieve
from resources.security.access import AccessDenied, AddressLimiter, role_allows
from resources.storage.control_plane import Organization
from resources.storage.metadata_store import StoreError, org_database_path

SSL_REQUEST, PROTOCOL_3 = 80877103, 196608
CLEARTEXT_PASSWORD = 3
SERVER_PARAMETERS = {"server_version": "14.0 (Sieve; DuckDB)", "client_encoding": "UTF8",
                     "DateStyle": "ISO", "integer_datetimes": "on",
                     "standard_conforming_strings": "on"}


class ServeError(SieveError):
    pass


@dataclass(frozen=True)
class ServeLimits:
    statement_timeout_s: float = 30.0
    max_rows: int = 100_000
    connections_per_person: int = 5


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(cert: Path | None, key: Path | None, host: str) -> ssl.SSLContext | None:
    """TLS when a certificate is configured; refusing to listen off loopback without one."""
    if cert is None:
        if not is_loopback(host):
            raise ServeError(f"Listening on {host} needs TLS: pass --tls-cert and --tls-key "
                             "(tokens are passwords; they must not cross a network in clear).")
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class GuardedSession(DuckDBSession):
    """Buena Vista's DuckDB session, with Sieve's read-only rule, a timeout and a row cap."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, limits: ServeLimits):
        super().__init__(cursor)
        self.limits = limits

    def execute_sql(self, sql: str, params=None):
        """Buena Vista's own version classifies statements by substring ("load ", "update "
        anywhere in the text), so ``select * from review_load`` answered no rows at all; here
        DuckDB's parser decides, and only reads run."""
        if not sql.strip().rstrip(";").strip():
            return DuckDBQueryResult(status="")
        if _only_transaction_control(sql):
            return self._transaction_control(sql)
        refuse_writes(sql)
        statement = self.rewrite_sql(sql)
        timer = threading.Timer(self.limits.statement_timeout_s, self._cursor.interrupt)
        timer.start()
        try:
            if params:
                self._cursor.execute(statement, params)
            else:
                self._cursor.execute(statement)
            if not self._cursor.description:
                return DuckDBQueryResult(status="")
            return _capped(DuckDBQueryResult(self._cursor.fetch_record_batch()),
                           self.limits.max_rows)
        except duckdb.InterruptException:
            raise ServeError(f"statement timeout: the query ran longer than "
                             f"{self.limits.statement_timeout_s:g} s") from None
        finally:
            timer.cancel()

    def _transaction_control(self, sql: str) -> DuckDBQueryResult:
        """BEGIN/COMMIT/ROLLBACK as drivers send them: a session reads an in-memory copy that
        nothing changes, so there is no transaction to run, only the state to report."""
        word = sql.strip().split()[0].rstrip(";").upper()
        if word in ("BEGIN", "START"):
            self.in_txn = True
            return DuckDBQueryResult(status="BEGIN")
        self.in_txn = False
        return DuckDBQueryResult(status="ROLLBACK" if word in ("ROLLBACK", "ABORT") else "COMMIT")


def _only_transaction_control(sql: str) -> bool:
    """BEGIN/COMMIT/ROLLBACK, which drivers such as psycopg2 send around every read."""
    try:
        kinds = {s.type for s in duckdb.extract_statements(sql)}
    except duckdb.Error:
        return False
    return kinds == {duckdb.StatementType.TRANSACTION}


def _capped(result: DuckDBQueryResult, max_rows: int) -> DuckDBQueryResult:
    """Read at most ``max_rows`` rows; more is an error, not a silently cut answer."""
    batches, rows = [], 0
    for batch in result.rbr:
        rows += batch.num_rows
        if rows > max_rows:
            raise ServeError(f"the result has more than {max_rows} rows, the server's cap: add "
                             "a LIMIT or aggregate")
        batches.append(batch)
    return DuckDBQueryResult(pa.RecordBatchReader.from_batches(result.rbr.schema, batches))


class MartsCatalogue:
    """One in-memory copy of each org's marts, shared by its analysts' connections and taken
    again when a sync has rewritten the org's file."""

    def __init__(self, sieve: Sieve):
        self.sieve = sieve
        self._copies: dict[str, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._lock = threading.Lock()

    def cursor(self, org: Organization) -> duckdb.DuckDBPyConnection:
        path = org_database_path(self.sieve.settings.orgs_dir, org.id)
        version = path.stat().st_mtime if path.exists() else 0.0
        with self._lock:
            known = self._copies.get(org.id)
            if known is None or known[0] != version:
                known = (version, analyst_session(self.sieve, org, operator=False))
                self._copies[org.id] = known
            return known[1].cursor()


class SieveHandler(BuenaVistaHandler):
    """Startup with TLS, token authentication and authorization before any statement."""

    server: SieveServer

    def handle_startup(self, conn) -> BVContext | None:
        length = self.r.read_uint32() - 4
        code = self.r.read_uint32()
        if code == SSL_REQUEST:
            if self.server.tls is None:
                self.wfile.write(b"N")
            else:
                self.wfile.write(b"S")
                self._start_tls()
            return self.handle_startup(conn)
        if code != PROTOCOL_3:
            raise ServeError("only PostgreSQL protocol 3 startups are served")
        if self.server.tls is not None and not isinstance(self.request, ssl.SSLSocket):
            raise ServeError("TLS is required: connect with sslmode=require")
        words = [w.decode() for w in self.r.read_bytes(length - 4).split(b"\x00")]
        params = dict(zip(words[::2], words[1::2]))
        session = self._authenticated_session(params)
        ctx = BVContext(session, self.server.rewriter, params)
        self.send_authentication_ok()
        self.handle_post_auth(ctx)
        return ctx

    def _start_tls(self) -> None:
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.rfile = self.request.makefile("rb")
        self.wfile = socketserver._SocketWriter(self.request)
        self.r = BVBuffer(self.rfile)

    def _read_password(self) -> str:
        self.wfile.write(struct.pack("!cii", b"R", 8, CLEARTEXT_PASSWORD))
        if self.r.read_byte() != b"p":
            raise ServeError("expected a password message")
        return self.r.read_bytes(self.r.read_uint32() - 4).rstrip(b"\x00").decode()

    def _authenticated_session(self, params: dict[str, str]) -> GuardedSession:
        server, address = self.server, self.client_address[0]
        email, slug = params.get("user", ""), params.get("database", "")
        person = server.sieve.access.authenticate(
            self._read_password(), interface="sieve serve", claimed_email=email,
            address_limiter=server.address_limiter, address=address)
        org = server.sieve.control_plane.organization(slug)
        role = server.sieve.access.authorize(person, org, "analyst")
        operator = role_allows(role, "operator")
        server.admit(person.id)
        self.person_id = person.id
        try:
            session = server.open_session(org, operator=operator)
        except BaseException:
            server.release(person.id)
            raise
        server.sieve.audit.append("data.queried", org_id=org.id, actor=person.actor,
                                  target="metadata" if operator else ANALYST_SCHEMA,
                                  details={"interface": "sieve serve", "operator": operator})
        return session

    def send_error(self, exception, ctx=None):
        # Only Sieve's own messages reach the client; anything else is a short, fixed text.
        people_facing = isinstance(exception, (SieveError, duckdb.Error))
        text = str(exception).splitlines()[0] if people_facing else "internal error"
        super().send_error(text, ctx)

    def finish(self) -> None:
        if getattr(self, "person_id", None):
            self.server.release(self.person_id)
        super().finish()


class SieveServer(BuenaVistaServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sieve: Sieve, *, limits: ServeLimits,
                 tls: ssl.SSLContext | None):
        rewriter = rewrite.Rewriter(bv_dialects.BVPostgres(), bv_dialects.BVDuckDB())
        super().__init__(address, _Parameters(), rewriter=rewriter)
        self.RequestHandlerClass = SieveHandler
        self.sieve, self.limits, self.tls = sieve, limits, tls
        self.catalogue = MartsCatalogue(sieve)
        self.address_limiter = AddressLimiter()
        self._connections: Counter[str] = Counter()
        self._lock = threading.Lock()

    def verify_request(self, request, client_address) -> bool:
        return True  # every connection authenticates; TLS guards non-loopback listeners

    def admit(self, person_id: str) -> None:
        with self._lock:
            if self._connections[person_id] >= self.limits.connections_per_person:
                raise AccessDenied(f"connection limit reached: at most "
                                   f"{self.limits.connections_per_person} connections a person")
            self._connections[person_id] += 1

    def release(self, person_id: str) -> None:
        with self._lock:
            self._connections[person_id] -= 1

    def open_session(self, org: Organization, *, operator: bool) -> GuardedSession:
        try:
            if operator:
                # Its own connection (search path set to both schemas), closed with the session.
                return GuardedSession(analyst_session(self.sieve, org, operator=True),
                                      self.limits)
            return GuardedSession(self.catalogue.cursor(org), self.limits)
        except StoreError:
            raise
        except duckdb.Error as error:
            raise ServeError(f"{org.slug}'s database cannot be opened now ("
                             f"{str(error).splitlines()[0]}); retry shortly") from None


class _Parameters:
    """What Buena Vista asks of a backend connection: the parameters sent after login."""

    def parameters(self) -> dict[str, str]:
        return SERVER_PARAMETERS

    def close_session(self, session) -> None:
        session.close()


def serve(sieve: Sieve, host: str, port: int, *, limits: ServeLimits,
          tls_cert: Path | None = None, tls_key: Path | None = None) -> SieveServer:
    """A server bound to ``host:port``, not yet serving (call ``serve_forever``)."""
    # Buena Vista logs every statement at INFO; statements stay out of Sieve's logs.
    logging.getLogger("buenavista").setLevel(logging.WARNING)
    return SieveServer((host, port), sieve, limits=limits,
                       tls=tls_context(tls_cert, tls_key, host))
