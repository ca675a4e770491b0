"""The organization's HTML report: a self-contained dashboard built from its marts.

``build_report`` renders from any DuckDB connection on which ``marts.<table>`` resolves (pure
but for the reads); ``write_report`` opens the org's encrypted database read-only and writes
the page atomically. The page holds aggregate numbers only: no names, emails or person ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from resources.analyst.exports import publish_atomically
from resources.analyst.report.data import load_report_data
from resources.analyst.report.html import render_page
from resources.runtime import Sieve
from resources.storage.control_plane import Organization
from resources.storage.metadata_store import connect_encrypted, org_database_path

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    weeks: int
    charts: int
    bytes: int


def report_path(orgs_dir: Path, org_id: str) -> Path:
    """Where the sync keeps the org's latest report: ``SIEVE_HOME/orgs/<org_id>/report.html``."""
    return Path(orgs_dir) / org_id / REPORT_FILE


def build_report(connection: duckdb.DuckDBPyConnection, slug: str,
                 generated_at: datetime | None = None) -> tuple[str, int]:
    """The page's HTML and the number of weeks it covers."""
    data = load_report_data(connection)
    return render_page(data, slug, generated_at or datetime.now(UTC)), len(data.weeks)


def write_report(sieve: Sieve, org: Organization, path: Path,
                 generated_at: datetime | None = None) -> ReportSummary:
    connection = connect_encrypted(org_database_path(sieve.settings.orgs_dir, org.id),
                                   sieve.control_plane.org_data_key(org), read_only=True)
    try:
        page, weeks = build_report(connection, org.slug, generated_at)
    finally:
        connection.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    publish_atomically(path, lambda partial: partial.write_text(page, encoding="utf-8"))
    return ReportSummary(path=path, weeks=weeks, charts=page.count("<svg "),
                         bytes=len(page.encode("utf-8")))
