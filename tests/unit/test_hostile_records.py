"""Hostile records for every allow-listed field of every source (issue #21, item 3).

Each example takes a well-formed record of one entity (tests/unit/test_extraction.py) and puts
hostile values in some of its declared fields: lone surrogates, NUL characters, text past the
cap, numbers past their column's range, objects where text is declared. Whatever arrives, the
record is stored with each field normalised or refused — never an exception — every change is
counted by field and reason without the value, and the rows write to the org's DuckDB.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resources.security.pii import PiiScrubber
from resources.security.vault import Secret
from resources.sources import ENTITIES
from resources.sources.allow_list import INTEGER_RANGES, MAX_LIST_ITEMS, MAX_TEXT_CHARS, Entity
from resources.storage.metadata_store import open_store
from resources.sync.engine import table_spec
from resources.sync.extraction import project
from tests.unit.test_extraction import RAW

MARK = "HOSTILE-5e1d"
HOSTILE = st.one_of(
    st.just(MARK + "\ud800"),  # a lone surrogate, as json.loads makes of "\ud800"
    st.just(MARK + "\x00in a title\x00"),
    st.just(MARK * (MAX_TEXT_CHARS // len(MARK) + 2)),
    st.just({"x": MARK}),
    st.just([MARK, {"y": 1}]),
    st.just(list(range(MAX_LIST_ITEMS + 5))),
    st.sampled_from([10**30, -(10**30), 2**63, 2**31, True, float("nan"), float("inf"), 1.5]),
    st.text(st.characters(codec=None, blacklist_categories=()), max_size=20).map(
        lambda text: MARK + text),
)


def with_value(raw: dict, source: str, value) -> dict:
    """A copy of ``raw`` with ``value`` at the dotted ``source`` path."""
    record = dict(raw)
    *outer, last = source.split(".")
    target = record
    for key in outer:
        inner = target.get(key)
        target[key] = dict(inner) if isinstance(inner, dict) else {}
        target = target[key]
    target[last] = value
    return record


def assert_fits(entity: Entity, row: dict) -> None:
    for column in entity.columns:
        value = row[column.name]
        items = value if column.type.endswith("[]") and value is not None else [value]
        assert len(items) <= MAX_LIST_ITEMS
        for item in items:
            if isinstance(item, str):
                assert "\x00" not in item and len(item) <= MAX_TEXT_CHARS
                item.encode("utf-8")
            base = column.type.removesuffix("[]")
            if base in INTEGER_RANGES and item is not None:
                low, high = INTEGER_RANGES[base]
                assert type(item) is int and low <= item <= high
            if base == "TIMESTAMP" and item is not None:
                assert isinstance(item, datetime)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with open_store(tmp_path_factory.mktemp("hostile") / "org.duckdb", Secret("h" * 64)) as opened:
        opened.ensure_tables(table_spec(entity) for entity in ENTITIES.values())
        yield opened


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber()


@pytest.mark.parametrize("name", sorted(ENTITIES))
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_fields_are_normalised_or_refused_and_counted(name, data, store, scrubber):
    entity = ENTITIES[name]
    raw, parent = RAW[name]
    own = [column for column in entity.columns if column.parent_key is None]
    chosen = data.draw(st.lists(st.sampled_from(own), min_size=1, max_size=4, unique=True))
    record = raw
    for column in chosen:
        record = with_value(record, column.source, data.draw(HOSTILE))
    refusals: Counter = Counter()

    row = project(entity, record, "conn-h", scrubber, parent=parent, refusals=refusals)

    assert all(MARK not in reason and entity.name in reason for reason in refusals)
    if row is None:
        assert any("record refused" in reason for reason in refusals)
        return
    assert_fits(entity, row)
    with store.transaction():
        store.upsert(table_spec(entity), [row])


# Each kind of hostile value, for the test that puts every one in every declared field.
EVERY_KIND = {
    "lone surrogate": MARK + "\ud800",
    "NUL characters": MARK + "\x00in a title\x00",
    "text past the cap": MARK * (MAX_TEXT_CHARS // len(MARK) + 2),
    "object": {"x": MARK},
    "list of mixed items": [MARK, {"y": 1}],
    "list past the cap": list(range(MAX_LIST_ITEMS + 5)),
    "number past every range": 10**30,
    "negative number past every range": -(10**30),
    "NaN": float("nan"),
    "infinity": float("inf"),
    "boolean": True,
}


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_every_declared_field_survives_every_kind_of_hostile_value(name, store, scrubber):
    entity = ENTITIES[name]
    raw, parent = RAW[name]
    rows = []
    for column in (c for c in entity.columns if c.parent_key is None):
        for kind, value in EVERY_KIND.items():
            refusals: Counter = Counter()
            # A connection of its own per case, so every row is kept apart by its key.
            row = project(entity, with_value(raw, column.source, value), f"conn-{len(rows)}",
                          scrubber, parent=parent, refusals=refusals)
            assert all(MARK not in reason for reason in refusals), (column.name, kind)
            if row is None:
                assert any("record refused" in reason for reason in refusals), (column.name, kind)
                continue
            assert_fits(entity, row)
            assert MARK not in repr(row[column.name]) or column.type.startswith("VARCHAR")
            rows.append(row)
    with store.transaction():
        store.upsert(table_spec(entity), rows)


def test_text_is_cleaned_and_capped_with_reasons(scrubber):
    title = "Fix\x00 login \ud800" + "x" * (MAX_TEXT_CHARS + 10)
    refusals: Counter = Counter()
    row = project("github_pull_requests", {**RAW["github_pull_requests"][0], "title": title},
                  "c", scrubber, refusals=refusals)

    assert row["title"].startswith("Fix login ") and len(row["title"]) == MAX_TEXT_CHARS
    [reason] = refusals
    assert reason.startswith("github_pull_requests.title: ")
    for part in ("invalid Unicode removed", "NUL characters removed", "cut"):
        assert part in reason


def test_a_number_past_its_range_and_a_missing_key_are_counted(scrubber):
    refusals: Counter = Counter()
    raw = {**RAW["github_pull_requests"][0], "additions": 10**30, "comments": {"x": 1}}
    row = project("github_pull_requests", raw, "c", scrubber, refusals=refusals)
    assert row["additions"] is None and row["comments"] is None
    assert refusals == Counter({"github_pull_requests.additions: out of range for INTEGER": 1,
                                "github_pull_requests.comments: wrong type (dict)": 1})

    keyless = {k: v for k, v in RAW["github_pull_requests"][0].items() if k != "id"}
    assert project("github_pull_requests", keyless, "c", scrubber, refusals=refusals) is None
    assert refusals["github_pull_requests.id: no usable key value, record refused"] == 1
