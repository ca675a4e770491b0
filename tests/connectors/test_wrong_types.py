"""No record value reaches an error, a log line or sync metadata (issue #21, item 4).

Every allow-listed field of every entity of every source gets a canary of the wrong type (text
where a number is declared, an object where text is declared...), through the real sync engine
into the org's encrypted DuckDB; the sync goes on and nothing it reports or logs quotes it.
"""

from __future__ import annotations

import logging

import pytest

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


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_wrong_typed_canaries_in_every_field_never_reach_errors_or_logs(
        source, sieve_org, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    org = sieve_org()
    org.connect(source, {"base_url": "http://127.0.0.1:9", "owner": "o", "group": "g",
                         "path": "/nowhere"},
                {"token": "t", "email": "e@example.com"})
    monkeypatch.setattr(connector_class(source), "fetch",
                        lambda self: hostile_batches(self.source))
    # Jira's issue schema depends on the site's custom fields, which would need its API.
    monkeypatch.setattr(connector_class(source), "declared_entity",
                        lambda self, name: ENTITIES[name])

    [summary] = org.sync(source)

    assert summary.failure is None and sum(summary.rows_upserted.values()) > 0
    assert summary.refusals and CANARY not in repr(summary.as_metadata())
    assert CANARY not in caplog.text


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
