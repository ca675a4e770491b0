"""The registry of sources: the one list of what Sieve can connect to.

Each source is a folder beside this file holding its connector, its allow-list schema, its
people directory and its connection settings; this module lists them once. Assets, the control
plane, the CLI's ``connect`` subcommands, identities and deletion read this registry, so adding
a source is its folder, its emulator, its dbt staging folder, its tests and one line in
``SOURCES`` (docs/architecture.md has the recipe). Connectors are imported only when a sync
needs one, which keeps the command line fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from resources.sources import (
    azuredevops,
    bitbucket,
    git,
    github,
    gitlab,
    jira,
    opsgenie,
    pagerduty,
    slack,
)
from resources.sources.allow_list import Entity, PersonColumns
from resources.sources.azuredevops import schema as azuredevops_schema
from resources.sources.azuredevops import settings as azuredevops_settings
from resources.sources.bitbucket import schema as bitbucket_schema
from resources.sources.bitbucket import settings as bitbucket_settings
from resources.sources.connect import ConnectSpec
from resources.sources.git import schema as git_schema
from resources.sources.git import settings as git_settings
from resources.sources.github import schema as github_schema
from resources.sources.github import settings as github_settings
from resources.sources.gitlab import schema as gitlab_schema
from resources.sources.gitlab import settings as gitlab_settings
from resources.sources.jira import schema as jira_schema
from resources.sources.jira import settings as jira_settings
from resources.sources.opsgenie import schema as opsgenie_schema
from resources.sources.opsgenie import settings as opsgenie_settings
from resources.sources.pagerduty import schema as pagerduty_schema
from resources.sources.pagerduty import settings as pagerduty_settings
from resources.sources.slack import schema as slack_schema
from resources.sources.slack import settings as slack_settings


@dataclass(frozen=True)
class Source:
    name: str
    label: str
    # "module:Class" of the connector, imported on first use.
    connector: str
    entities: tuple[Entity, ...]
    connect: ConnectSpec
    # The source's user directory, and references to people its naming conventions can't show.
    user_directory: PersonColumns | None = None
    person_references: tuple[PersonColumns, ...] = ()
    # Whether it calls a remote API (retries and a concurrency pool) or reads local files.
    remote: bool = True
    # Concurrent sync steps across every organization (the Dagster pool `<name>_api`).
    concurrent_syncs: int = 4


def _source(package, label: str, connector_class: str, schema, settings, **extra) -> Source:
    name = package.__name__.rsplit(".", 1)[-1]
    return Source(name, label, f"{package.__name__}.connector:{connector_class}",
                  schema.ENTITIES, settings.CONNECT,
                  user_directory=getattr(schema, "USER_DIRECTORY", None),
                  person_references=getattr(schema, "PERSON_REFERENCES", ()), **extra)


SOURCES: dict[str, Source] = {source.name: source for source in (
    _source(github, "GitHub", "GitHubConnector", github_schema, github_settings),
    _source(gitlab, "GitLab", "GitLabConnector", gitlab_schema, gitlab_settings),
    _source(jira, "Jira", "JiraConnector", jira_schema, jira_settings),
    _source(slack, "Slack", "SlackConnector", slack_schema, slack_settings, concurrent_syncs=2),
    _source(pagerduty, "PagerDuty", "PagerDutyConnector", pagerduty_schema, pagerduty_settings,
            concurrent_syncs=2),
    _source(opsgenie, "Opsgenie", "OpsgenieConnector", opsgenie_schema, opsgenie_settings,
            concurrent_syncs=2),
    _source(bitbucket, "Bitbucket Cloud", "BitbucketConnector", bitbucket_schema,
            bitbucket_settings, concurrent_syncs=2),
    _source(azuredevops, "Azure DevOps", "AzureDevOpsConnector", azuredevops_schema,
            azuredevops_settings),
    _source(git, "local git clones", "GitConnector", git_schema, git_settings, remote=False,
            concurrent_syncs=2),
)}

ENTITIES: dict[str, Entity] = {
    declared.name: declared for source in SOURCES.values() for declared in source.entities
}
USER_DIRECTORIES: tuple[PersonColumns, ...] = tuple(
    source.user_directory for source in SOURCES.values() if source.user_directory)


def source_named(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; choose one of {', '.join(SOURCES)}") from None


def connector_class(name: str):
    module_name, class_name = source_named(name).connector.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def entity(name: str) -> Entity:
    """The declared entity called `name` (also its table name), e.g. "github_pull_requests"."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(
            f"no allow-listed entity {name!r}; declared entities: {', '.join(ENTITIES)}"
        ) from None


def entities_for(system: str) -> list[Entity]:
    """Entities of one source, e.g. "github"."""
    return list(source_named(system).entities)


def scrubbed_columns() -> dict[str, tuple[str, ...]]:
    """Table name → free-text columns that pass the PII scrubber, for every entity."""
    return {name: e.scrubbed_columns for name, e in ENTITIES.items() if e.scrubbed_columns}
