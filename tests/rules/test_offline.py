"""Rule 9 of docs/architecture.md: offline by default — no run-time downloads, only loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import NetworkBlocked

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_refuses_non_loopback_connections():
    with pytest.raises(NetworkBlocked, match="only loopback is allowed"):
        socket.create_connection(("192.0.2.10", 443), timeout=1)


def test_duckdb_sessions_never_autoinstall_extensions(tmp_path):
    from resources.security.vault import Secret
    from resources.storage.metadata_store import connect_encrypted

    connection = connect_encrypted(tmp_path / "x.duckdb", Secret("k" * 64))
    try:
        settings = dict(connection.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
        assert settings == {"autoinstall_known_extensions": "false",
                            "autoload_known_extensions": "false"}
        loaded = connection.execute("SELECT extension_name, install_mode FROM duckdb_extensions() "
                                    "WHERE loaded AND extension_name = 'httpfs'").fetchall()
        assert loaded, "httpfs must be loaded from the pip package's file"
    finally:
        connection.close()


def test_the_dbt_project_declares_no_hub_packages():
    assert not (ROOT / "dbt_project" / "packages.yml").exists()
    assert not (ROOT / "dbt_project" / "dependencies.yml").exists()
