"""The registry of sources is the one list: every place that names sources agrees with it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from resources.sources import ENTITIES, SOURCES, USER_DIRECTORIES, connector_class
from resources.sources.connector import Connector
from resources.sources.docs import allow_list_markdown

ROOT = Path(__file__).resolve().parents[2]
STAGING = ROOT / "dbt_project" / "models" / "staging"
# Tables the identity step writes beside the sources' metadata (staged under staging/sieve/).
IDENTITY_TABLES = {"identity_accounts", "people"}
# User directories feed the identity step (staged as people/identity_accounts), not dbt.
DIRECTORY_TABLES = {directory.table for directory in USER_DIRECTORIES}
# Stored but read by no model yet; listed so that a new table cannot go unmodeled silently.
NOT_YET_MODELED = {"github_issues", "jira_boards", "jira_projects"}


def test_every_registered_source_has_its_folder_and_parts():
    for name in SOURCES:
        folder = ROOT / "resources" / "sources" / name
        for part in ("__init__.py", "connector.py", "schema.py", "settings.py"):
            assert (folder / part).is_file(), f"{name}: missing resources/sources/{name}/{part}"


def test_source_folders_are_all_registered():
    folders = {p.name for p in (ROOT / "resources" / "sources").iterdir()
               if p.is_dir() and (p / "connector.py").exists()}
    assert folders == set(SOURCES)


def test_connectors_resolve_and_produce_only_their_own_entities():
    for name, source in SOURCES.items():
        connector = connector_class(name)
        assert issubclass(connector, Connector)
        own = {declared.name for declared in source.entities}
        assert set(connector.entities) <= own, name
        assert all(declared.system == name for declared in source.entities), name


def test_dbt_sources_list_exactly_the_registered_tables():
    sources = yaml.safe_load((STAGING / "_sources.yml").read_text())["sources"]
    tables = {table["name"] for source in sources for table in source["tables"]}
    assert tables == (set(ENTITIES) - DIRECTORY_TABLES - NOT_YET_MODELED) | IDENTITY_TABLES


def test_every_registered_table_is_staged_in_its_sources_folder():
    for name, source in SOURCES.items():
        folder = STAGING / name
        assert folder.is_dir(), f"no dbt staging folder for {name}: {folder}"
        staged = " ".join(path.read_text() for path in folder.glob("*.sql"))
        for declared in source.entities:
            if declared.table in DIRECTORY_TABLES | NOT_YET_MODELED:
                continue
            assert re.search(rf"source\(\s*'metadata'\s*,\s*'{declared.table}'\s*\)", staged), (
                f"{declared.table} is not read by any model in {folder.relative_to(ROOT)}")


def test_every_remote_source_has_an_emulator():
    for name, source in SOURCES.items():
        if source.remote:
            assert ((ROOT / "emulators" / name).is_dir()
                    or (ROOT / "emulators" / f"{name}.py").is_file()), f"no emulator for {name}"


def test_allow_list_doc_covers_every_registered_table():
    text = allow_list_markdown()
    for table in ENTITIES:
        assert f"## `{table}`" in text


def test_every_source_has_a_connect_command_with_examples():
    from pipelines.cli.connections import connect

    assert set(connect.commands) == set(SOURCES)
    for name, command in connect.commands.items():
        assert "Examples:" in (command.help or ""), name
        assert all(example.startswith(("sieve connect", f"{name.upper()}", "GH_", "GL_",
                                       "SLACK_"))
                   for example in SOURCES[name].connect.examples), name


def test_architecture_doc_names_only_paths_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for path in sorted(set(re.findall(r"`((?:tests|resources|assets|pipelines|sensors|deploy)"
                                      r"/[\w/.]+?)`", text))):
        if "<" in path:
            continue
        assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


def test_rule_references_point_at_the_architecture_doc():
    rules = set(re.findall(r"^(\d)\. \*\*", (ROOT / "docs" / "architecture.md").read_text(),
                           re.M))
    for package in ("pipelines", "assets", "sensors", "resources", "tests"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert "hard " + "rule" not in text.lower(), f"{path}: name docs/architecture.md"
            for number in re.findall(r"rules? (\d)(?:, \d)*(?: and \d)? of docs/architecture", text):
                assert number in rules, f"{path}: rule {number} is not in docs/architecture.md"
