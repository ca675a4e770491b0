"""The HTML report: every section from the marts, accessible charts, no identities, no
outside resources, graceful when marts are empty or missing; and its chart helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import duckdb
import pytest

from resources.analyst.report import build_report, report_path, write_report
from resources.analyst.report.charts import (
    Band,
    Chart,
    Series,
    format_hours,
    format_percent,
    linear_trend,
    render_chart,
    trend_values,
)
from resources.analyst.report.html import review_spread, top_share
from resources.storage.metadata_store import connect_encrypted, open_store
from tests.analyst.marts import CANARY_EMAIL, CANARY_NAME, PERSON_IDS, build_marts

GENERATED = datetime(2026, 3, 30, 2, 0, tzinfo=UTC)
CHART_IDS = ["dora-deployments-per-day", "dora-lead-time-median-hours",
             "dora-change-fail-rate", "dora-failed-deployment-recovery-median-hours",
             "dora-deployment-rework-rate", "pr-cycle-breakdown", "throughput-wip",
             "issue-flow-weekly", "sprint-points", "sprint-predictability", "review-by-team",
             "review-spread", "delivery-forecasts"]


def page_of(org) -> str:
    connection = connect_encrypted(org.database_path,
                                   org.sieve.control_plane.org_data_key(org.org), read_only=True)
    try:
        return build_report(connection, org.slug, GENERATED)[0]
    finally:
        connection.close()


def svg_elements(page: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", page, flags=re.S)


def test_the_report_has_every_section_and_chart(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    page = page_of(org)
    assert "<title>acme — engineering metrics</title>" in page and "<h1>acme</h1>" in page
    sections = re.findall(r'<section id="([^"]+)">', page)
    assert sections == ["needs-attention", "dora", "cycle-time", "throughput", "issue-flow",
                        "sprints", "review-load", "forecasts"]
    assert re.findall(r'<figure class="chart-figure" id="([^"]+)"', page) == CHART_IDS
    # The monthly tiles come from dora_monthly, bands as the mart states them.
    assert "Month of March 2026" in page and page.count('class="tile-band band-high"') == 4


def test_the_headline_is_the_latest_complete_month_with_deployments(sieve_org):
    # April has just begun and holds no deployment yet: the tiles would read "0 / day, no DORA
    # level". They show March instead, and say why.
    org = sieve_org("acme")
    build_marts(org)
    with open_store(org.database_path, org.sieve.control_plane.org_data_key(org.org)) as store:
        store.connection.execute(
            "INSERT INTO marts.dora_monthly BY NAME SELECT * REPLACE (date '2026-04-01' AS "
            "period_start, 0 AS deployment_count, 0.0 AS deployments_per_day, true AS "
            "is_partial_period, 3 AS elapsed_days) FROM marts.dora_monthly")
    page = page_of(org)
    assert "Month of March 2026, the latest complete month with deployments" in page
    assert "April 2026" not in page


def test_every_chart_has_axes_units_and_a_text_alternative(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    page = page_of(org)
    charts = svg_elements(page)
    assert len(charts) == len(CHART_IDS)
    for svg in charts:
        chart_id = re.search(r'aria-labelledby="([^ "]+)-title \1-desc"', svg).group(1)
        assert 'role="img"' in svg
        assert re.search(rf'<title id="{chart_id}-title">[^<]+</title>', svg)
        assert re.search(rf'<desc id="{chart_id}-desc">[^<]{{40,}}</desc>', svg)
        assert svg.count('class="axis"') == 2 and 'class="axis-label"' in svg
        assert len(re.findall(r'class="tick"', svg)) >= 4
        assert "<rect class=\"bar\"" in svg or "<path class=\"line\"" in svg
    assert page.count("<details><summary>Data table:") == len(CHART_IDS)
    lead_time = page[page.index('id="dora-lead-time-median-hours"'):]
    assert "Time (log scale)" in lead_time[:20000]
    assert "elite (&lt; 1 day)" in lead_time[:20000]  # band in the legend
    assert 'class="trend"' in lead_time[:20000]


def test_the_report_names_nobody_and_loads_nothing(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    page = page_of(org)
    for identity in [CANARY_NAME, CANARY_EMAIL, *PERSON_IDS]:
        assert identity not in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", page)
    assert not re.search(r"url\(|@import|@font-face", page)
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * 13
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page


def test_an_org_without_jira_has_no_sprint_charts_but_a_note(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    with duckdb_store(org) as connection:
        connection.execute("DELETE FROM marts.sprint_outcomes")
        connection.execute("DELETE FROM marts.issue_flow_weekly")
    page = page_of(org)
    assert 'id="sprint-points"' not in page and 'id="issue-flow-weekly"' not in page
    assert "No sprints: this organization has no Jira connection" in page
    assert "No issues in the period" in page
    assert 'id="dora-change-fail-rate"' in page


def test_a_report_renders_when_no_marts_exist_yet():
    connection = duckdb.connect()
    page, weeks = build_report(connection, "newco", GENERATED)
    assert weeks == 0 and svg_elements(page) == []
    assert "Metric tables not built yet: dora_weekly" in page
    assert "no weekly data yet" in page and "sieve sync newco" in page


def test_write_report_replaces_the_page_atomically(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    path = report_path(org.sieve.settings.orgs_dir, org.org.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("old")
    summary = write_report(org.sieve, org.org, path, GENERATED)
    assert summary.charts == len(CHART_IDS) and summary.weeks == 12
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


class duckdb_store:
    """The org's database opened for writing, to change a mart in a test."""

    def __init__(self, org):
        self.org = org

    def __enter__(self):
        key = self.org.sieve.control_plane.org_data_key(self.org.org)
        self.connection = connect_encrypted(self.org.database_path, key)
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()


# --- chart helpers ------------------------------------------------------------------------

def test_linear_trend_fits_a_line_and_needs_three_points():
    assert linear_trend([1, 2, None, 4]) == pytest.approx((1.0, 1.0))
    assert linear_trend([5, None, 5]) is None
    assert trend_values([1, 10, 100], log=True) == pytest.approx([1, 10, 100])


def test_hours_and_percent_read_naturally():
    assert [format_hours(h) for h in (0.5, 5, 30, 72, 400)] == [
        "30 min", "5 h", "30 h", "3 d", "2.38 wk"]
    assert format_percent(0.125) == "12.5 %"


def test_bands_are_drawn_inside_the_plot_and_values_scale_with_the_axis():
    chart = Chart(chart_id="t", title="T", description="D", categories=["a", "b", "c"],
                  series=[Series("s", [1.0, 10.0, 100.0], "#000")], y_label="hours",
                  formatter=format_hours, log=True, y_min=0.5,
                  bands=[Band("fast (< 1 day)", 0, 24, "#0f0")])
    svg = render_chart(chart)
    heights = [float(h) for h in re.findall(r'<rect class="band"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == 1 and heights[0] > 0
    ys = [float(y) for y in re.findall(r'<circle class="point" cx="[\d.]+" cy="([\d.]+)"', svg)]
    # On a log axis, 1 → 10 and 10 → 100 are the same distance.
    assert ys[0] > ys[1] > ys[2] and ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.2)
    assert ">fast</text>" in svg  # short band label inside the chart


def test_review_spread_counts_reviewers_per_bin_and_the_top_share():
    labels, counts = review_spread([1, 2, 3, 12, 30])
    assert labels == ["1–2", "3–5", "6–10", "11–20", "21+"]
    assert counts == [2, 1, 0, 1, 1]
    assert top_share([30, 12, 3, 2, 1]) == pytest.approx(30 / 48)
    assert top_share([]) == 0.0


def test_needs_attention_lists_open_signals_most_severe_and_newest_first(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    page = page_of(org)
    section = page[page.index('<section id="needs-attention">'):page.index('<section id="dora">')]
    rows = re.findall(r'<tr class="signal-(\w+)"><td>\w+</td><th scope="row">([^<]+)</th>'
                      r"<td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", section)
    # Severe first; then the warnings newest first (28 March before 27 March); the resolved
    # large PR is not listed; the person is shown by team only.
    assert rows == [
        ("severe", "Work in progress above limit", "a person in team platform",
         "9 items in progress (threshold 4)", "2026-03-20"),
        ("warning", "Metric outside its trailing band", "pr_cycle_median_hours",
         "pr_cycle_median_hours: 3.75 d last week (threshold 3.33 d); trailing median 2.5 d, up",
         "2026-03-28"),
        ("warning", "PR idle", "acme/api#41", "17 days idle (threshold 14 days)", "2026-03-27"),
    ]


def test_forecasts_fan_chart_and_backtest(sieve_org):
    org = sieve_org("acme")
    build_marts(org)
    page = page_of(org)
    section = page[page.index('<section id="forecasts">'):]
    assert ("Backtest: 2 of 3 closed epics and released versions (66.7 %) finished by the P85 "
            "date") in section
    chart = svg_elements(section)[0]
    # Only the dated epic is drawn: three bands from 30 March to its P50, P85 and P95 dates,
    # and its due date.
    assert re.findall(r"<title>PAY-1 ([^:]+): (\S+) to (\S+)</title>", chart) == [
        ("as of → P50", "2026-03-30", "2026-04-13"), ("P50 → P85", "2026-04-13", "2026-04-27"),
        ("P85 → P95", "2026-04-27", "2026-05-04")]
    assert chart.count('class="due"') == 1 and "OPS-3" not in chart
    table = section[section.index("<table>"):]
    assert '<th scope="row">OPS-3</th><td>no_throughput</td><td>4</td>' in table
    # A fix version shows by its name.
    assert '<th scope="row">OPS 2.0</th><td>no_throughput</td><td>5</td>' in table
    assert "<td>2026-04-20</td><td>60" in table
