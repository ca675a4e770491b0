"""Rules 1–3 of docs/architecture.md end to end: a full sync of the emulated organization — every
source — then every byte Sieve could have written is scanned for the emulator's canaries (content
that must never be stored: bodies, diffs, patches, commit message bodies, comments, private
messages), and every stored value is read back through DuckDB with the org's key and checked for
canaries and forbidden PII (phone numbers, IPs, cards, national ids, dates of birth…).

Runs on the embedded default (SQLite) here, and on the production storage (PostgreSQL control
plane and Dagster instance from deploy/dagster.yaml, scanned through pg_dump) in
tests/e2e/test_canaries_postgres.py: a file of its own, so the two long runs (40 and 90 s) go to
different test workers.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from emulators.model import CANARY_PREFIX
from pipelines.cli.demo import prepare_demo_org
from pipelines.runs import run_org_job
from resources.security.vault import Secret
from resources.storage.control_plane.notifications import set_webhook, webhook_url
from resources.storage.metadata_store import open_store, org_database_path
from tests.harness import new_installation

pytestmark = pytest.mark.slow


def needles_in(data: bytes, needles: list[bytes]) -> list[bytes]:
    """The needles ``data`` contains. Every canary starts with CANARY_PREFIX, so data without
    the prefix holds none of them: the ~1,400 canaries are looked for one by one only where the
    prefix is (the same answer as looking for each everywhere, in a fraction of the time)."""
    prefix = CANARY_PREFIX.encode()
    may_hold_canaries = prefix in data
    return [n for n in needles
            if (may_hold_canaries or not n.startswith(prefix)) and n in data]


def files_containing(root: Path, needles: list[bytes]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found = [n.decode() for n in needles_in(path.read_bytes(), needles)]
            if found:
                hits[str(path)] = found
    return hits


def every_stored_string(sieve, org) -> list[str]:
    values = []
    key = sieve.control_plane.org_data_key(org)
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id), key, read_only=True) as store:
        tables = store.connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = 'org'").fetchall()
        for schema, table in tables:
            for row in store.connection.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                values.extend(repr(value) for value in row if value is not None)
    return values


def operator_token(sieve, org) -> str:
    """A personal access token of an operator of ``org``, as a person running the sync has."""
    admin = sieve.access.bootstrap_local_admin("canary-admin")
    person = sieve.access.add_person("olga@example.com")
    sieve.access.grant(person, org, "operator", actor=admin.actor)
    return sieve.access.issue_token(person, actor=admin.actor)


def record_child_process_arguments(monkeypatch) -> list[str]:
    """The command line of every process started from here on (dbt's, above all)."""
    started: list[str] = []
    real_init = subprocess.Popen.__init__

    def init(self, args, *rest, **kwargs):
        started.append(" ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args))
        real_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    return started


def secret_needles(sieve, org, personal_token: str) -> list[bytes]:
    """The org's data key in every spelling (hex, raw, base64), every credential and the
    notification webhook's URL (whose path is its secret)."""
    key_hex = sieve.control_plane.org_data_key(org).reveal()
    raw = bytes.fromhex(key_hex)
    needles = [key_hex.encode(), key_hex.upper().encode(), raw, base64.b64encode(raw),
               base64.urlsafe_b64encode(raw), personal_token.encode()]
    for connection in sieve.control_plane.connections(org):
        for secret in sieve.control_plane.credentials(connection).values():
            value = secret.reveal()
            if len(value) >= 8:  # a short value (a port, a flag) would match by chance
                needles.append(value.encode())
    url = webhook_url(sieve.control_plane, org).reveal()
    needles += [url.encode(), urlsplit(url).path.encode()]
    return needles


def people_identifiers(sieve, org) -> set[str]:
    """Every name, login, email and person_id the org's identities hold."""
    key = sieve.control_plane.org_data_key(org)
    with open_store(org_database_path(sieve.settings.orgs_dir, org.id), key, read_only=True) as store:
        rows = store.connection.execute(
            "select login, email, display_name, person_id from metadata.identity_accounts "
            "union all select null, email, display_name, person_id from metadata.people"
        ).fetchall()
    # A value this short could turn up in a payload by chance (a team or repository name).
    return {value for row in rows for value in row if value and len(value) >= 5}


def storage(kind: str, request, monkeypatch, sieve_home: Path):
    """Point the installation at the production PostgreSQL stores when asked."""
    if kind == "embedded":
        return None
    control_url = request.getfixturevalue("control_plane_pg_url")
    dagster_url = request.getfixturevalue("dagster_pg_url")
    from tests.postgres.test_postgres import reset_database, use_production_instance

    for url in (control_url, dagster_url):
        reset_database(url)
    monkeypatch.setenv("SIEVE_CONTROL_PLANE_URL", control_url)
    use_production_instance(monkeypatch, dagster_url, sieve_home / "dagster")
    return control_url, dagster_url


def check_insight_and_forecast_metadata(materializations: dict[str, dict]) -> None:
    """The run's own record of the signals and forecasts: counts, never a subject."""
    insights = materializations["marts/insights"]
    by_kind = {label: n for label, n in insights.items() if label.startswith("open.")}
    assert by_kind and insights["open_signals"] == sum(by_kind.values())
    assert all(label.removeprefix("open.").split("/")[1] in ("severe", "warning")
               for label in by_kind)
    forecasts = materializations["marts/delivery_forecasts"]
    assert (forecasts["open_epics"] + forecasts["open_fix_versions"]
            >= forecasts["forecasts"] >= 1)


def test_no_canary_reaches_any_store_and_no_forbidden_pii_is_kept(
        request, sieve_home, emulator, monkeypatch, caplog, capfd, tmp_path, webhook_receiver):
    assert_nothing_forbidden_is_kept("embedded", request, sieve_home, emulator, monkeypatch,
                                     caplog, capfd, tmp_path, webhook_receiver)


def assert_nothing_forbidden_is_kept(kind, request, sieve_home, emulator, monkeypatch, caplog,
                                     capfd, tmp_path, webhook_receiver) -> None:
    """A full sync of the demo org on ``kind`` storage, then every scan (the module's
    docstring); the PostgreSQL run is tests/e2e/test_canaries_postgres.py."""
    caplog.set_level(logging.DEBUG)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    pg = storage(kind, request, monkeypatch, sieve_home)

    sieve = new_installation()
    org = prepare_demo_org(sieve, emulator)
    personal_token = operator_token(sieve, org)
    set_webhook(sieve.control_plane, org, Secret(webhook_receiver.url), "slack", "user:canary")
    monkeypatch.setenv("SIEVE_TOKEN", personal_token)
    arguments = record_child_process_arguments(monkeypatch)
    outcome = run_org_job(sieve.settings, org, "sync_organization")
    assert outcome.success, outcome.failures
    assert arguments, "the sync started no process (dbt): the argv check below means nothing"
    check_insight_and_forecast_metadata(outcome.materializations)
    # The signals reached the webhook, naming nobody.
    assert outcome.materializations["insight_notifications"]["notifications_sent"] > 0
    payloads = json.dumps(webhook_receiver.received)
    people = people_identifiers(sieve, org)
    assert len(people) > 20 and [p for p in people if p in payloads] == []

    canaries = emulator.canaries()
    assert len(canaries) > 20
    needles = [c.encode() for c in canaries]
    stored = every_stored_string(sieve, org)
    assert len(stored) > 1000, "the sync stored too little for this test to mean anything"
    joined = "\n".join(stored)
    assert [c for c in canaries if c in joined] == []
    forbidden = emulator.forbidden_pii()
    assert forbidden and [p for p in forbidden if p in joined] == []

    # Secrets too: the org's data key, the sources' tokens, the person's access token.
    secrets = secret_needles(sieve, org, personal_token)
    needles += secrets
    assert files_containing(sieve_home, needles) == {}
    assert files_containing(scratch, needles) == {}
    assert files_containing(Path(__file__).resolve().parents[2] / "dbt_project", needles) == {}
    assert [argv for argv in arguments if any(n in argv.encode() for n in secrets)] == []
    out, err = capfd.readouterr()
    printed = (out + err + caplog.text).encode()
    assert needles_in(printed, needles) == []
    if pg is not None:
        from tests.postgres.test_postgres import pg_dump

        for url in pg:
            dump = pg_dump(url)
            assert b"CREATE TABLE" in dump
            assert needles_in(dump, needles) == []
    sieve.close()
