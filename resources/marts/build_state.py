"""Whether an organization's marts, and what is made from them, must be rebuilt.

The marts are a function of the org's metadata rows, its settings (the dbt vars), the dbt
project and the day they are computed as of. ``marts_inputs`` fingerprints those inputs: per
metadata table its row count and the sum of its rows' hashes, the vars, the project's files
and the as-of day (the exact instant when one was asked for). After a full build the
fingerprint is recorded beside the org's dbt files; a sync that finds the same fingerprint
verifies the marts instead of building them again.

What is made from the marts (the forecasts, the exports, the report) records which build of
the marts it was made from, and is skipped only when the marts were built or verified in the
same run and its own record names that very build. A failed or partial build forgets the
record first, so a skip never stands on marts that a build left half done.

Records hold hashes, times and run ids: no row, no name, no key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from resources.storage.metadata_store import DATABASE_ALIAS

MARTS = "marts"
RECORD_FILE = "builds.json"
# What the marts and the products made from them are computed by: a change to any of these
# files rebuilds them, as a change to the rows does.
CODE_FILES = ("dbt_project/dbt_project.yml", "dbt_project/models", "dbt_project/macros",
              "resources/marts/forecast_mart.py", "resources/marts/forecasts.py",
              "resources/analyst/exports.py", "resources/analyst/report")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def metadata_fingerprint(connection: duckdb.DuckDBPyConnection) -> str:
    """A digest of every metadata table's rows: name, count and the sum of the rows' hashes
    (order-independent, so the same rows give the same digest however they were written)."""
    # A literal, not a bound parameter: DuckDB loads pandas (~1 s) to bind a process's first.
    tables = [row[0] for row in connection.execute(
        f"select table_name from information_schema.tables where table_catalog = "
        f"'{DATABASE_ALIAS}' and table_schema = 'metadata' order by table_name").fetchall()]
    digest = hashlib.sha256()
    for table in tables:
        count, total = connection.execute(
            f'select count(*), coalesce(sum(hash(t)::hugeint), 0) '
            f'from {DATABASE_ALIAS}.metadata."{table}" t').fetchone()
        digest.update(f"{table}\t{count}\t{total}\n".encode())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """A digest of the files that compute the marts and their products."""
    digest = hashlib.sha256()
    for entry in CODE_FILES:
        path = PROJECT_ROOT / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(PROJECT_ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def as_of_day(as_of_text: str, explicit: bool) -> str:
    """What the marts are computed as of, for comparing builds: the day of a build as of now
    (the marts stay correct for that day), or the exact instant a build was asked for."""
    return as_of_text if explicit else as_of_text[:10]


def marts_inputs(connection: duckdb.DuckDBPyConnection, dbt_vars: Mapping[str, Any],
                 explicit_as_of: bool) -> str:
    """The fingerprint of everything a build of the marts depends on."""
    settings = {name: value for name, value in dbt_vars.items() if name != "as_of"}
    digest = hashlib.sha256()
    for part in (metadata_fingerprint(connection), json.dumps(settings, sort_keys=True),
                 code_fingerprint(), as_of_day(dbt_vars["as_of"], explicit_as_of)):
        digest.update(part.encode() + b"\n")
    return digest.hexdigest()


# --- the records ---------------------------------------------------------------------------

def _records(run_dir: Path) -> dict[str, dict]:
    path = Path(run_dir) / RECORD_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _write_records(run_dir: Path, records: dict[str, dict]) -> None:
    path = Path(run_dir) / RECORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    incoming = path.with_suffix(".incoming")
    incoming.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    os.replace(incoming, path)


def recorded(run_dir: Path, product: str) -> dict | None:
    return _records(run_dir).get(product)


def forget_build(run_dir: Path, product: str) -> None:
    """Before a build: whatever happens to it, no later run may skip on the old record."""
    records = _records(run_dir)
    if records.pop(product, None) is not None:
        _write_records(run_dir, records)


def record_marts_build(run_dir: Path, fingerprint: str, as_of: str,
                       run_id: str | None = None) -> dict:
    """After a full, successful build of the marts."""
    entry = {"fingerprint": fingerprint, "as_of": as_of, "built_at": _now(),
             "checked_in_run": run_id}
    _write_records(run_dir, {**_records(run_dir), MARTS: entry})
    return entry


def unchanged_marts(run_dir: Path, fingerprint: str, run_id: str) -> dict | None:
    """The record of the marts' last build when its inputs had this fingerprint (marking
    them checked in this run), else None: the marts must be built."""
    records = _records(run_dir)
    entry = records.get(MARTS)
    if entry is None or entry.get("fingerprint") != fingerprint:
        return None
    records[MARTS] = {**entry, "checked_in_run": run_id}
    _write_records(run_dir, records)
    return records[MARTS]


def made_from_current_marts(run_dir: Path, product: str, run_id: str) -> dict | None:
    """The marts' record when ``product`` was made from the build that this run built or
    verified, else None: the product must be made again."""
    records = _records(run_dir)
    marts, made = records.get(MARTS), records.get(product)
    if marts is None or made is None or marts.get("checked_in_run") != run_id:
        return None
    return marts if made.get("marts_built_at") == marts.get("built_at") else None


def record_made_from_marts(run_dir: Path, product: str) -> None:
    """After ``product`` was made from the marts as they are recorded now."""
    records = _records(run_dir)
    marts = records.get(MARTS)
    if marts is None:
        records.pop(product, None)
    else:
        records[product] = {"marts_built_at": marts["built_at"], "made_at": _now()}
    _write_records(run_dir, records)


def make_unless_marts_unchanged(run_dir: Path, product: str, run_id: str,
                                make: Callable[[], dict], *, output_exists: bool = True) -> dict:
    """Make ``product`` from the marts (``make`` returns its metadata), unless it was made from
    the marts this run built or verified and is still there; then its metadata says so."""
    marts = made_from_current_marts(run_dir, product, run_id) if output_exists else None
    if marts is not None:
        return {"rebuilt": False, "marts_unchanged_since": marts["built_at"]}
    metadata = make()
    record_made_from_marts(run_dir, product)
    return metadata


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
