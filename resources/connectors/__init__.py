"""Source connectors. Each module holds one connector class implementing ``base.Connector``."""

from __future__ import annotations

import importlib

from resources.connectors.base import Connector, ConnectorContext, SyncState
from resources.control_plane import ConnectionRecord, ControlPlane, Organization, utc_now
from resources.vault import Secret

CONNECTORS = {
    "github": "resources.connectors.github:GitHubConnector",
    "gitlab": "resources.connectors.gitlab:GitLabConnector",
    "jira": "resources.connectors.jira:JiraConnector",
    "slack": "resources.connectors.slack:SlackConnector",
    "git": "resources.connectors.git:GitConnector",
}


def connector_class(source: str) -> type[Connector]:
    module_name, class_name = CONNECTORS[source].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def check_credentials(control_plane: ControlPlane, org: Organization, source: str,
                      settings: dict, credentials: dict[str, Secret]) -> str:
    """One cheap request with credentials not stored yet: what was reached, or the HTTP
    layer's people-facing error (unreachable host, rejected token, missing scope)."""
    pending = ConnectionRecord(id="new-connection", org_id=org.id, source=source,
                               settings=settings, status="pending", created_at=utc_now(),
                               last_synced_at=None, removed_at=None,
                               credential_fields=tuple(sorted(credentials)))
    context = ConnectorContext(org.slug, pending, credentials,
                               SyncState(control_plane, pending.id))
    return connector_class(source)(context).check()
