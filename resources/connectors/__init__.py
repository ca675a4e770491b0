"""Source connectors. Each module holds one connector class implementing ``base.Connector``."""

from __future__ import annotations

import importlib

from resources.connectors.base import Connector

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
