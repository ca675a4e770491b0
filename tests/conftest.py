"""Shared test fixtures. Source emulators come from their own pytest plugin."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

pytest_plugins = ["emulators.pytest_plugin"]

SIEVE_ENV_VARS = ("SIEVE_HOME", "SIEVE_CONTROL_PLANE_URL", "SIEVE_MASTER_KEY",
                  "SIEVE_PREVIOUS_MASTER_KEYS", "SIEVE_KEY_FILE", "SIEVE_AUDIT_KEY",
                  "SIEVE_AUDIT_KEY_FILE", "SIEVE_AUDIT_ANCHOR_FILE", "DAGSTER_HOME",
                  "SIEVE_ACTOR")

# The files that take longest (dbt builds, Dagster runs, whole syncs; each 12 s or more of the
# suite on this 2-core machine, bench/results/inner-loop.md), slowest first, collected first.
# `make test` hands files to the workers in collection order (--no-loadscope-reorder), so the
# long ones start first and the short ones fill in at the end, where pytest-xdist's own order
# (most tests first) left the one-test heavy files for last, one worker busy with them while
# the other had nothing left.
SLOWEST_FILES = (
    "dbt/test_unchanged_marts.py", "ui/test_ui_smoke.py", "dbt/test_golden.py",
    "dbt/test_dbt_project.py", "dbt/test_golden_insights.py",
    "connectors/test_azuredevops_connector.py", "e2e/test_killed_syncs.py",
    "dbt/test_golden_incidents.py", "retention/test_person_deletion.py",
    "dbt/test_demo_marts.py", "connectors/test_github_connector.py",
    "e2e/test_canaries_postgres.py", "e2e/test_canaries.py", "cli/test_help_examples.py",
    "connectors/test_jira_connector.py", "connectors/test_github_graphql.py",
    "retention/test_cli.py", "connectors/test_bitbucket_connector.py",
    "connectors/test_gitlab_connector.py", "dbt/test_golden_azuredevops.py",
    "e2e/test_connection_failures.py", "connectors/test_opsgenie_connector.py",
    "connectors/test_github_app.py", "dbt/test_golden_histories.py",
    "connectors/test_item_failures.py", "connectors/test_slack_connector.py",
    "unit/test_hostile_records.py",
)

# Files that read one session fixture's built organization run on one worker, which builds it
# once: on two, each worker's session would build it again (a dbt build each).
SHARED_BUILDS = dict.fromkeys(
    ("tests/dbt/test_golden.py", "tests/dbt/test_dbt_project.py",
     "tests/dbt/test_golden_insights.py"), "tests/dbt (the golden organization)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest files first (SLOWEST_FILES), every other file after them in its usual order."""
    tests_dir = Path(__file__).parent

    def rank(item: pytest.Item) -> int:
        try:
            name = Path(item.path).relative_to(tests_dir).as_posix()
        except ValueError:
            return len(SLOWEST_FILES)
        return SLOWEST_FILES.index(name) if name in SLOWEST_FILES else len(SLOWEST_FILES)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent with -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with the files of SHARED_BUILDS kept together on one worker."""
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedBuildScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SHARED_BUILDS.get(scope, scope)

    return SharedBuildScheduling(config, log)


# Directories where no test builds marts: the fast lane's (`make test-fast`) and deploy.
FAST_LANE = frozenset({"unit", "rules", "sensors", "emulators", "deploy"})


@pytest.fixture(scope="session", autouse=True)
def dbt_build_server(request: pytest.FixtureRequest):
    """One dbt build server per test process (resources/marts/warm_dbt.py, `serve_builds`):
    every dbt build the session starts, in-process, through Dagster or in a `sieve`
    subprocess, is forked from it rather than loading dbt in a process of its own. The build
    itself is the one `sieve-dbt` runs. Not started for a session of the fast lane alone,
    nor where ``SIEVE_DBT_SERVER`` is set already (``SIEVE_DBT_SERVER=`` turns it off)."""
    from resources.marts.dbt_command import DBT_PROJECT_DIR
    from resources.marts.warm_dbt import BUILD_SERVER_VARIABLE, dbt_build_server

    tests_dir = Path(__file__).parent
    builds = any(Path(item.path).relative_to(tests_dir).parts[0] not in FAST_LANE
                 for item in request.session.items if tests_dir in Path(item.path).parents)
    if not builds or BUILD_SERVER_VARIABLE in os.environ:
        yield None
        return
    with dbt_build_server(DBT_PROJECT_DIR) as socket_path:
        os.environ[BUILD_SERVER_VARIABLE] = str(socket_path)
        try:
            yield socket_path
        finally:
            os.environ.pop(BUILD_SERVER_VARIABLE, None)


class NetworkBlocked(RuntimeError):
    """Rule 9 of docs/architecture.md: tests (and the product under test) use loopback only."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch):
    """Every in-process connection attempt to anything but loopback fails loudly."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(address) -> None:
        if isinstance(address, tuple) and not is_loopback(str(address[0])):
            raise NetworkBlocked(f"attempted network access to {address[0]}: only loopback is "
                                 "allowed (rule 9 of docs/architecture.md)")

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


PG_URL_DEFAULT = "postgresql+psycopg2://sieve:sieve-test-only@127.0.0.1:5432/{db}"


@pytest.fixture
def sieve_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated SIEVE_HOME (and DAGSTER_HOME inside it) with no key configured yet."""
    for name in SIEVE_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "sieve-home"
    monkeypatch.setenv("SIEVE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


def postgres_url(db: str) -> str:
    """URL of a test database; skips when no server is reachable, except under CI=true.

    Under pytest-xdist each worker gets databases of its own (``<db>_gw0``…), created on first
    use from the role's CREATEDB right, so workers never share a control plane or an instance;
    SIEVE_TEST_PG_DB_SUFFIX does the same for suites run side by side (one per work tree).
    """
    import sqlalchemy

    template = os.environ.get("SIEVE_TEST_PG_URL_TEMPLATE", PG_URL_DEFAULT)
    url = template.format(db=db)
    worker = "_".join(part for part in (os.environ.get("SIEVE_TEST_PG_DB_SUFFIX"),
                                        os.environ.get("PYTEST_XDIST_WORKER")) if part)
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        if worker:
            url = template.format(db=f"{db}_{worker}")
            create_database_once(template.format(db=db), f"{db}_{worker}")
    except Exception as error:  # any failure to reach the server means "not available here"
        reason = (f"PostgreSQL not reachable at {url.split('@')[-1]} ({type(error).__name__}); "
                  "run `make postgres` (bash .ci/postgres) to start the machine's cluster")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


def create_database_once(admin_url: str, name: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(sqlalchemy.text(
                "select 1 from pg_database where datname = :name"), {"name": name}).first()
            if not exists:
                connection.execute(sqlalchemy.text(f'create database "{name}"'))
    finally:
        engine.dispose()


@pytest.fixture
def control_plane_pg_url() -> str:
    return postgres_url("sieve_control_test")


@pytest.fixture
def dagster_pg_url() -> str:
    return postgres_url("sieve_dagster_test")


@pytest.fixture
def sieve_org(sieve_home):
    """``sieve_org(slug)`` → a ``tests.harness.SieveOrg`` in a fresh installation."""
    from tests.harness import SieveOrg, new_installation

    sieve = new_installation()

    def make(slug: str = "acme") -> SieveOrg:
        sieve.control_plane.add_organization(slug)
        return SieveOrg(sieve, slug)

    yield make
    sieve.close()


@pytest.fixture
def webhook_receiver():
    """A notification webhook on loopback (tests/webhook_receiver.py)."""
    from tests.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(autouse=True)
def forget_disposed_dagster_instances():
    """``with DagsterInstance…`` leaves the instance's defs-state storage in a context variable
    after the instance is disposed (dagster 1.13); a later test building Definitions would then
    reach a dead instance. Each test starts without it."""
    from dagster._core.storage.defs_state.base import _current_storage

    _current_storage.set(None)
    yield
    _current_storage.set(None)
