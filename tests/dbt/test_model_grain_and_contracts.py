"""The dbt project's promises, read from its files (no build): every staging model tests its
grain on the natural key of the metadata table it selects from, and every mart analysts read
has an enforced contract. dbt itself checks the data and the types when it builds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from resources.sources import ENTITIES
from resources.sync.identities import IDENTITY_ACCOUNTS, PEOPLE

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
STAGING = sorted((DBT_PROJECT / "models" / "staging").glob("*/stg_*.sql"))
MARTS = sorted((DBT_PROJECT / "models" / "marts").glob("*.sql"))
SOURCE = re.compile(r"\{\{\s*source\('metadata',\s*'(\w+)'\)\s*\}\}")
# A select line that keeps or renames a column: `name,` or `name as new_name,`.
PLAIN_COLUMN = re.compile(r"^\s*(\w+)(?:\s+as\s+(\w+))?,?\s*$", re.MULTILINE)


def store_key(table: str) -> tuple[str, ...]:
    """The natural key the metadata store keeps unique and not null for `table`."""
    if table in ENTITIES:
        return ENTITIES[table].primary_key
    return {spec.name: spec.key for spec in (IDENTITY_ACCOUNTS, PEOPLE)}[table]


def staging_key(sql: str) -> tuple[str, ...]:
    """The metadata table's natural key under the names the staging model gives it."""
    table = SOURCE.search(sql).group(1)
    renamed = {column: alias or column for column, alias in PLAIN_COLUMN.findall(sql)}
    return tuple(renamed.get(column, f"<{column} not selected as is>")
                 for column in store_key(table))


def model_yml(sql_path: Path) -> dict:
    yml_path = sql_path.with_suffix(".yml")
    assert yml_path.exists(), f"{sql_path.name} has no yml beside it"
    models = yaml.safe_load(yml_path.read_text())["models"]
    assert [model["name"] for model in models] == [sql_path.stem]
    return models[0]


def natural_key_tests(model: dict) -> list[list[str]]:
    return [test["natural_key"]["arguments"]["columns"] for test in model.get("data_tests", [])
            if isinstance(test, dict) and "natural_key" in test]


def test_staging_models_are_found():
    # The globs find the project (so the parametrized checks below cannot be silently empty).
    assert len(STAGING) >= 26 and len(MARTS) >= 12


@pytest.mark.parametrize("sql_path", STAGING, ids=lambda path: path.stem)
def test_every_staging_model_tests_its_grain_on_the_stores_natural_key(sql_path):
    model = model_yml(sql_path)
    key = staging_key(sql_path.read_text())
    assert natural_key_tests(model) == [list(key)]
    documented = {column["name"] for column in model["columns"]}
    assert set(key) <= documented
    assert "PRIMARY KEY" not in model["description"]


@pytest.mark.parametrize("sql_path", MARTS, ids=lambda path: path.stem)
def test_every_mart_has_an_enforced_contract_with_every_column_typed(sql_path):
    model = model_yml(sql_path)
    assert model.get("config", {}).get("contract", {}).get("enforced") is True
    untyped = [column["name"] for column in model["columns"] if not column.get("data_type")]
    assert untyped == []


def test_the_key_of_a_renamed_column_is_found_under_its_new_name():
    sql = ("select\n    connection_id,\n    channel_id,\n    ts as message_ts,\n    posted_at\n"
           "from {{ source('metadata', 'slack_messages') }}\n")
    assert staging_key(sql) == ("connection_id", "channel_id", "message_ts")
    dropped = sql.replace("    ts as message_ts,\n", "")
    assert staging_key(dropped)[-1] == "<ts not selected as is>"
