"""Reading the insights mart: the open signals, counted by kind and severity, for the Dagster
check and the CLI (the signals themselves are built by dbt, dbt_project/models/marts/insights)."""

from __future__ import annotations

import duckdb

# The signal kinds of the insights mart, as its accepted_values test lists them.
SIGNAL_KINDS = ("pr_awaiting_first_review", "pr_idle", "pr_too_large", "wip_above_limit",
                "review_concentration", "bus_factor_one", "sprint_at_risk", "metric_out_of_band")

# Open signals, most severe first, then the newest.
OPEN_SIGNALS_SQL = """
select kind, severity, subject, team, person_id, observed_value, threshold_value,
    baseline_value, direction, first_seen_at, last_seen_at
from insights
where is_open {kind_filter}
order by severity = 'severe' desc, first_seen_at desc, kind, subject
"""


def open_signals_sql(kind: str | None = None) -> str:
    """The analysts' query of open signals, of one kind (one of SIGNAL_KINDS) or all."""
    if kind is not None and kind not in SIGNAL_KINDS:
        raise ValueError(f"unknown signal kind {kind!r}; kinds are {', '.join(SIGNAL_KINDS)}")
    return OPEN_SIGNALS_SQL.format(kind_filter=f"and kind = '{kind}'" if kind else "")


def open_signal_counts(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Open signals per "kind/severity", e.g. {"pr_idle/warning": 3}."""
    rows = connection.execute(
        "select kind || '/' || severity, count(*) from marts.insights where is_open "
        "group by all order by 1").fetchall()
    return {label: count for label, count in rows}


def severe_open_count(counts: dict[str, int]) -> int:
    return sum(count for label, count in counts.items() if label.endswith("/severe"))
