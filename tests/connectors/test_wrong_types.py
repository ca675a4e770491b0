"""No record value reaches an error, a log line or Dagster (issue #21, item 4).

Every allow-listed field of every entity of every source gets a canary of the wrong type (text
where a number is declared, an object where text is declared...), through the sync assets and
the real sync engine into the org's encrypted DuckDB; the sync goes on, and neither the Dagster
instance's storage nor the output holds the canary.
"""

from __future__ import annotations

import logging

import pytest
from dagster import DagsterInstance, materialize

from assets.ingestion import source_sync_asset
from resources.partitions import organization_partitions
from resources.sieve_resource import SieveResource
from resources.sources import ENTITIES, SOURCES, connector_class
from resources.sources.allow_list import INTEGER_RANGES
from resources.sources.connector import RawBatch
from resources.storage.metadata_store import TableSpec, open_store
from resources.sync.engine import StoreWriteError, upsert_without_values
from tests.unit.test_extraction import RAW
from tests.unit.test_hostile_records import with_value

CANARY = "WRONG-TYPE-CANARY-93c1"


def wrong_type(column_type: str):
    """A canary-carrying value of a kind the column does not take."""
    base = column_type.removesuffix("[]")
    if base in INTEGER_RANGES or base in ("DOUBLE", "BOOLEAN", "TIMESTAMP"):
        return f"{CANARY} is not a {base}"
    return {"value": CANARY}


def hostile_batches(source: str):
    """Each entity's sample record with every non-key field wrong-typed, beside the sample."""
    for entity in SOURCES[source].entities:
        raw, parent = RAW[entity.name]
        record = raw
        for column in entity.columns:
            if column.parent_key is None and column.name not in entity.natural_key:
                record = with_value(record, column.source, wrong_type(column.type))
        yield RawBatch(entity.name, [record, raw], parent=parent)


def test_wrong_typed_canaries_in_every_field_never_reach_dagster_or_the_output(
        sieve_org, monkeypatch, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    org = sieve_org()
    for source in SOURCES:
        org.connect(source, {"base_url": "http://127.0.0.1:9", "owner": "o", "group": "g",
                             "workspace": "w", "projects": ["p"], "path": "/nowhere"},
                    {"token": "t", "email": "e@example.com"})
        monkeypatch.setattr(connector_class(source), "fetch",
                            lambda self: hostile_batches(self.source))
        # Jira's issue schema depends on the site's custom fields, which would need its API.
        monkeypatch.setattr(connector_class(source), "declared_entity",
                            lambda self, name: ENTITIES[name])

    (tmp_path / "dagster").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance:
        instance.add_dynamic_partitions(organization_partitions.name, [org.org.id])
        result = materialize([source_sync_asset(source) for source in SOURCES],
                             instance=instance, partition_key=org.org.id,
                             resources={"sieve": SieveResource()}, raise_on_error=False)

    assert result.success
    metadata = [m for event in result.get_asset_materialization_events()
                for m in event.event_specific_data.materialization.metadata.values()]
    assert metadata and CANARY not in repr(metadata)
    output = capfd.readouterr()
    assert CANARY not in output.out + output.err + caplog.text
    for path in (tmp_path / "dagster").rglob("*"):
        assert not path.is_file() or CANARY.encode() not in path.read_bytes(), path
    assert org.count("github_pull_requests") == 1 and org.count("jira_issues") == 1


def test_a_store_error_keeps_the_value_out_of_its_message(sieve_org):
    org = sieve_org()
    spec = TableSpec("numbers", (("connection_id", "VARCHAR"), ("n", "INTEGER")),
                     ("connection_id",))
    with open_store(org.database_path, org.sieve.control_plane.org_data_key(org.org)) as store:
        store.ensure_tables([spec])
        with pytest.raises(StoreWriteError) as caught:
            upsert_without_values(store, spec, [{"connection_id": "c", "n": CANARY}], "conn 'c'")
    assert CANARY not in str(caught.value) and "numbers" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
