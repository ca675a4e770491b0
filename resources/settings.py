"""Where Sieve keeps things, resolved from the environment when asked (never at import).

Everything local lives under ``SIEVE_HOME`` (default ``./.sieve``):

    SIEVE_HOME/
      control.db          control plane (SQLite) unless SIEVE_CONTROL_PLANE_URL points elsewhere
      keys/               key-encryption keyring, audit key and audit anchor (0700/0600), unless
                          SIEVE_KEY_FILE / SIEVE_MASTER_KEY / SIEVE_AUDIT_KEY say otherwise
      dagster/            the Dagster instance (DAGSTER_HOME), SQLite storage, no compute logs
      orgs/<org_id>/      one encrypted DuckDB file per organization, and its exports
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SieveSettings:
    home: Path
    control_plane_url: str
    key_file: Path
    audit_key_file: Path
    dagster_home: Path
    # The audit log's head, outside the database (resources/security/audit.py, AuditAnchor).
    audit_anchor_file: Path

    @property
    def orgs_dir(self) -> Path:
        return self.home / "orgs"

    @property
    def keys_dir(self) -> Path:
        return self.key_file.parent


def load_settings(environ: dict[str, str] | None = None) -> SieveSettings:
    env = os.environ if environ is None else environ
    home = Path(env.get("SIEVE_HOME") or ".sieve").expanduser().absolute()
    control_plane_url = env.get("SIEVE_CONTROL_PLANE_URL") or f"sqlite:///{home / 'control.db'}"
    key_file = Path(env.get("SIEVE_KEY_FILE") or home / "keys" / "master.keys").expanduser()
    audit_key_file = Path(env.get("SIEVE_AUDIT_KEY_FILE") or key_file.parent / "audit.key")
    dagster_home = Path(env.get("DAGSTER_HOME") or home / "dagster").expanduser().absolute()
    audit_anchor_file = Path(env.get("SIEVE_AUDIT_ANCHOR_FILE")
                             or audit_key_file.parent / "audit.anchor")
    return SieveSettings(
        home=home,
        control_plane_url=control_plane_url,
        key_file=key_file.absolute(),
        audit_key_file=audit_key_file.expanduser().absolute(),
        dagster_home=dagster_home,
        audit_anchor_file=audit_anchor_file.expanduser().absolute(),
    )
