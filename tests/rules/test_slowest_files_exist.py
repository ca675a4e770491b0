"""The slowest-first ordering of the suite (tests/conftest.py) names files that exist: a file
renamed or removed would silently fall back to the end of the run."""

from pathlib import Path

from tests.conftest import SLOWEST_FILES

TESTS = Path(__file__).resolve().parents[1]


def test_every_slowest_file_exists_once():
    assert [name for name in SLOWEST_FILES if not (TESTS / name).is_file()] == []
    assert len(set(SLOWEST_FILES)) == len(SLOWEST_FILES)
