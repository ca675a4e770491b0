"""The dbt-duckdb plugin named in dbt_project/profiles.yml: fills in the org file's key.

Loaded by dbt only. Before DuckDB connects, it reads the organization's data key from the
socket its parent serves (``resources.marts.org_key``) and puts it into the ATTACH options of
the ``org`` attachment. Without a handoff (``dbt parse``), it does nothing.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from resources.marts.org_key import fetch_org_key

ORG_ALIAS = "org"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.handoff = plugin_config.get("handoff") or ""

    def update_connection_config(self, creds, config: dict[str, Any]) -> None:
        if not self.handoff:
            return
        key = fetch_org_key(self.handoff)
        for attachment in creds.attach or ():
            if attachment.alias == ORG_ALIAS:
                attachment.options = {**(attachment.options or {}), "encryption_key": key}
