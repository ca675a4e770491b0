"""The report page: sections of charts built from ReportData, with inline CSS only.

A Content-Security-Policy forbids every script, font, image or style from anywhere: the page
renders offline, and anything that tried to load from outside would be refused (and show as a
console error in the browser test).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape

from resources.analyst.report.attention import forecasts_section, needs_attention_section
from resources.analyst.report.charts import (
    Band,
    Chart,
    Formatter,
    Series,
    figure,
    format_hours,
    format_number,
    format_percent,
    trend_values,
)
from resources.analyst.report.data import REPORT_SPRINTS, REVIEW_SPREAD_WEEKS, ReportData

BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILION, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#6b7280")
TEAM_COLORS = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILION, "#8c6d31", "#393b79", GREY)
ELITE, HIGH, MEDIUM, LOW = "#1b7837", "#5aae61", "#d49a00", "#c0392b"
HOURS_PER_DAY, HOURS_PER_WEEK, HOURS_PER_MONTH = 24, 168, 720
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; "
       "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")

DORA_BANDS = {
    "deployments_per_day": (Band("low (< 1/month)", 0, 1 / 30, LOW),
                            Band("medium (≥ 1/month)", 1 / 30, 1 / 7, MEDIUM),
                            Band("high (≥ 1/week)", 1 / 7, 1, HIGH),
                            Band("elite (≥ 1/day)", 1, float("inf"), ELITE)),
    "lead_time_median_hours": (Band("elite (< 1 day)", 0, HOURS_PER_DAY, ELITE),
                               Band("high (< 1 week)", HOURS_PER_DAY, HOURS_PER_WEEK, HIGH),
                               Band("medium (< 1 month)", HOURS_PER_WEEK, HOURS_PER_MONTH,
                                    MEDIUM),
                               Band("low (≥ 1 month)", HOURS_PER_MONTH, float("inf"), LOW)),
    "change_fail_rate": (Band("elite (≤ 5 %)", 0, 0.05, ELITE),
                         Band("high (≤ 10 %)", 0.05, 0.10, HIGH),
                         Band("medium (≤ 15 %)", 0.10, 0.15, MEDIUM),
                         Band("low (> 15 %)", 0.15, float("inf"), LOW)),
    "failed_deployment_recovery_median_hours": (
        Band("elite (< 1 hour)", 0, 1, ELITE), Band("high (< 1 day)", 1, HOURS_PER_DAY, HIGH),
        Band("medium (< 1 week)", HOURS_PER_DAY, HOURS_PER_WEEK, MEDIUM),
        Band("low (≥ 1 week)", HOURS_PER_WEEK, float("inf"), LOW)),
}


def week_label(week: date) -> str:
    return f"{week:%b} {week.day}"


def _series_for(weeks: Sequence[date], by_week: dict[date, dict], column: str) -> list:
    values = []
    for week in weeks:
        value = by_week.get(week, {}).get(column)
        values.append(None if value is None else float(value))
    return values


def _present(values: Sequence[float | None]) -> bool:
    return any(v is not None for v in values)


def describe_trend(name: str, values: Sequence[float | None], weeks: Sequence[date],
                   formatter: Formatter, *, log: bool = False) -> str:
    """One sentence a screen reader can say instead of the chart."""
    present = [(w, v) for w, v in zip(weeks, values) if v is not None]
    if not present:
        return f"No {name} in the period."
    latest_week, latest = present[-1]
    text = (f"{name.capitalize()}, weekly, {week_label(weeks[0])} to {week_label(weeks[-1])}: "
            f"{len(present)} weeks with data, latest {formatter(latest)} "
            f"(week of {week_label(latest_week)}), lowest "
            f"{formatter(min(v for _, v in present))}, highest "
            f"{formatter(max(v for _, v in present))}.")
    fitted = trend_values(values, log=log)
    if fitted:
        first_i = next(i for i, v in enumerate(values) if v is not None)
        last_i = max(i for i, v in enumerate(values) if v is not None)
        start, end = fitted[first_i], fitted[last_i]
        change = (end - start) / abs(start) if start else 0.0
        direction = ("roughly flat" if abs(change) < 0.05
                     else "rising" if change > 0 else "falling")
        text += (f" Trend: {direction}, from about {formatter(max(start, 0))} to "
                 f"{formatter(max(end, 0))}.")
    return text


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


DORA_METRICS = (
    ("deployments_per_day", "Deployment frequency", "Deployments per day", format_number,
     False, None),
    ("lead_time_median_hours", "Change lead time (median)", "Time (log scale)", format_hours,
     True, 0.25),
    ("change_fail_rate", "Change fail rate", "% of deployments failed", format_percent, False,
     None),
    ("failed_deployment_recovery_median_hours", "Failed deployment recovery time (median)",
     "Time (log scale)", format_hours, True, 0.1),
    ("deployment_rework_rate", "Deployment rework rate", "% of deployments rework",
     format_percent,
     False, None),
)


def dora_section(data: ReportData) -> str:
    labels = [week_label(w) for w in data.weeks]
    parts = ['<section id="dora"><h2>DORA metrics</h2><p>Production deployments of the whole '
             'organization, per ISO week. Shaded bands are the DORA performance levels; the '
             'dashed line is the least-squares trend. DORA publishes no levels for the '
             'rework rate, so it shows its trend only.</p>', _dora_tiles(data)]
    charts = []
    for column, title, unit, formatter, log, floor in DORA_METRICS:
        values = _series_for(data.weeks, data.dora_weekly, column)
        if not _present(values):
            empty = _note(f"{title}: no deployments in the period.")
            charts.append(f'<div class="chart-figure">{empty}</div>')
            continue
        bands = DORA_BANDS.get(column, ())
        chart = Chart(chart_id=f"dora-{column.replace('_', '-')}", title=title,
                      description=describe_trend(title.lower(), values, data.weeks, formatter,
                                                 log=log),
                      categories=labels, series=[Series(title, values, BLUE)],
                      y_label=unit, formatter=formatter,
                      log=log, bands=bands, trend_of=title, y_min=floor,
                      y_max=0.2 if column == "change_fail_rate" else None)
        charts.append(figure(chart))
    parts.append(f'<div class="grid">{"".join(charts)}</div></section>')
    return "".join(parts)


def _dora_tiles(data: ReportData) -> str:
    month = data.dora_latest_month
    if not month:
        return _note("No monthly DORA figures yet.")
    tiles = [("Deployment frequency", format_number(month["deployments_per_day"] or 0)
              + " / day", month["deployment_frequency_band"]),
             ("Change lead time", _maybe(month["lead_time_median_hours"], format_hours),
              month["lead_time_band"]),
             ("Change fail rate", _maybe(month["change_fail_rate"], format_percent),
              month["change_fail_rate_band"]),
             ("Recovery time", _maybe(month["failed_deployment_recovery_median_hours"],
                                      format_hours), month["recovery_time_band"]),
             ("Rework rate", _maybe(month["deployment_rework_rate"], format_percent), None)]
    period = month["period_start"]
    so_far = f" (first {month['elapsed_days']} days)" if month["is_partial_period"] else ""
    which = ", the latest complete month with deployments" if month["is_headline_complete"] else ""
    cells = "".join(
        f'<div class="tile"><div class="tile-name">{escape(name)}</div>'
        f'<div class="tile-value">{escape(value)}</div>'
        f'<div class="tile-band band-{escape(str(band or "none"))}">'
        f'{escape(str(band)) if band else "no DORA level"}</div></div>'
        for name, value, band in tiles)
    return (f'<p class="tiles-caption">Month of {period:%B %Y}{so_far}{which}</p>'
            '<div class="tiles" '
            f'role="group" aria-label="DORA metrics of {period:%B %Y}">{cells}</div>')


def _maybe(value, formatter: Formatter) -> str:
    return "–" if value is None else formatter(float(value))


def cycle_time_section(data: ReportData) -> str:
    stages = (("coding_median_hours", "coding", BLUE), ("pickup_median_hours", "pickup", ORANGE),
              ("review_median_hours", "review", GREEN), ("deploy_median_hours", "deploy", PURPLE))
    series = [Series(name, _series_for(data.weeks, data.pr_flow, column), color, "bar")
              for column, name, color in stages]
    body = _note("No merged pull requests in the period.")
    if any(_present(s.values) for s in series):
        cycle = _series_for(data.weeks, data.pr_flow, "cycle_median_hours")
        chart = Chart(chart_id="pr-cycle-breakdown", title="PR cycle time by stage (medians)",
                      description=describe_trend("median PR cycle time", cycle, data.weeks,
                                                 format_hours)
                      + " Bars stack the median hours of each stage of the week's merged PRs.",
                      categories=[week_label(w) for w in data.weeks], series=series,
                      y_label="Median time per stage", formatter=format_hours, stacked=True)
        body = f'<div class="grid">{figure(chart)}</div>'
    return ('<section id="cycle-time"><h2>Pull request cycle time</h2><p>Where the time of a '
            'merged PR goes: coding (first commit to opening), pickup (opening to first '
            'review), review (first review to merge) and deploy (merge to production). Each '
            'bar segment is that stage\'s weekly median, so the stack approximates, not '
            f'equals, the median cycle time.</p>{body}</section>')


def throughput_section(data: ReportData) -> str:
    merged = _series_for(data.weeks, data.pr_flow, "prs_merged")
    wip = _series_for(data.weeks, data.pr_flow, "wip_at_week_end")
    stale = _series_for(data.weeks, data.pr_flow, "stale_prs_at_week_end")
    body = _note("No pull requests in the period.")
    if _present(merged) or _present(wip):
        chart = Chart(chart_id="throughput-wip", title="Throughput and work in progress",
                      description=describe_trend("PRs merged per week", merged, data.weeks,
                                                 format_number)
                      + " " + describe_trend("open PRs at week end", wip, data.weeks,
                                             format_number),
                      categories=[week_label(w) for w in data.weeks],
                      series=[Series("PRs merged", merged, BLUE, "bar"),
                              Series("open PRs at week end (WIP)", wip, ORANGE),
                              Series("stale open PRs", stale, VERMILION)],
                      y_label="Pull requests", formatter=format_number,
                      trend_of="open PRs at week end (WIP)")
        body = f'<div class="grid">{figure(chart)}</div>'
    return ('<section id="throughput"><h2>Throughput and WIP</h2><p>Human pull requests '
            f'merged each week, and those still open at the end of it.</p>{body}</section>')


def issue_flow_section(data: ReportData) -> str:
    created = _series_for(data.weeks, data.issue_flow, "issues_created")
    completed = _series_for(data.weeks, data.issue_flow, "issues_completed")
    wip = _series_for(data.weeks, data.issue_flow, "wip_at_week_end")
    body = _note("No issues in the period: the organization has no issue tracker connected, "
                 "or nothing moved.")
    if _present(created) or _present(completed):
        chart = Chart(chart_id="issue-flow-weekly",
                      title="Issues created, completed and in progress",
                      description=describe_trend("issues completed per week", completed,
                                                 data.weeks, format_number)
                      + " " + describe_trend("issues created per week", created, data.weeks,
                                             format_number),
                      categories=[week_label(w) for w in data.weeks],
                      series=[Series("created", created, SKY, "bar"),
                              Series("completed", completed, GREEN, "bar"),
                              Series("in progress at week end", wip, ORANGE)],
                      y_label="Issues", formatter=format_number)
        body = f'<div class="grid">{figure(chart)}</div>'
    return ('<section id="issue-flow"><h2>Issue flow</h2><p>Issues opened and moved to done '
            'each week, and work in progress at week end. More created than completed, week '
            f'after week, means a growing backlog.</p>{body}</section>')


def sprint_section(data: ReportData) -> str:
    sprints = data.sprints
    intro = ('<section id="sprints"><h2>Sprint outcomes</h2><p>The last '
             f'{REPORT_SPRINTS} sprints by end date (labelled end date · board): story '
             'points committed at the start, '
             'added during the sprint, and completed inside it; predictability is the share '
             'of committed points completed.</p>')
    if not len(sprints):
        return intro + _note("No sprints: this organization has no Jira connection, or its "
                             "boards run no sprints. This section appears once sprints "
                             "exist.") + "</section>"
    labels = [f"{_as_day(end):%b} {_as_day(end).day} · b{board}"
              for board, end in zip(sprints.column("board_id"), sprints.column("end_at"))]

    def numbers(column: str) -> list:
        return [None if v is None else float(v) for v in sprints.column(column)]

    committed, added, completed = (numbers("committed_points"), numbers("added_points"),
                                   numbers("completed_points"))
    predictability = numbers("predictability_points")
    points = Chart(chart_id="sprint-points", title="Sprint story points",
                   description=_sprint_description(labels, committed, completed, predictability),
                   categories=labels,
                   series=[Series("committed", committed, BLUE, "bar"),
                           Series("added mid-sprint", added, ORANGE, "bar"),
                           Series("completed", completed, GREEN, "bar")],
                   y_label="Story points", formatter=format_number)
    ratio = Chart(chart_id="sprint-predictability", title="Sprint predictability",
                  description=_sprint_description(labels, committed, completed, predictability),
                  categories=labels, series=[Series("committed points completed",
                                                    predictability, PURPLE)],
                  y_label="% of committed points", formatter=format_percent,
                  trend_of="committed points completed", y_max=1.0)
    return (intro + f'<div class="grid">{figure(points, "Sprint")}'
            f'{figure(ratio, "Sprint")}</div></section>')


def _as_day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _sprint_description(labels, committed, completed, predictability) -> str:
    done = [p for p in predictability if p is not None]
    text = (f"{len(labels)} sprints, {labels[0]} to {labels[-1]}: "
            f"{format_number(sum(c or 0 for c in committed))} points committed, "
            f"{format_number(sum(c or 0 for c in completed))} completed.")
    if done:
        text += (f" Predictability ranged from {format_percent(min(done))} to "
                 f"{format_percent(max(done))}, latest {format_percent(done[-1])}.")
    return text


REVIEW_BINS = ((1, 2), (3, 5), (6, 10), (11, 20), (21, None))


def review_spread(reviews_per_reviewer: Sequence[float]) -> tuple[list[str], list[float]]:
    """How many reviewers gave how many reviews: a histogram, no one named."""
    labels, counts = [], []
    for low, high in REVIEW_BINS:
        labels.append(f"{low}–{high}" if high else f"{low}+")
        counts.append(float(sum(1 for r in reviews_per_reviewer
                                if r >= low and (high is None or r <= high))))
    return labels, counts


def top_share(reviews_per_reviewer: Sequence[float], fraction: float = 0.2) -> float:
    """Share of all reviews given by the busiest ``fraction`` of reviewers (at least one)."""
    ordered = sorted(reviews_per_reviewer, reverse=True)
    total = sum(ordered)
    if not total:
        return 0.0
    top = max(1, round(len(ordered) * fraction))
    return sum(ordered[:top]) / total


def review_section(data: ReportData) -> str:
    intro = ('<section id="review-load"><h2>Review load</h2><p>Reviews given each week, by '
             'team, and how evenly the last weeks\' reviews were spread across reviewers. '
             'People appear only as counts: nobody is named.</p>')
    if not data.review_by_team:
        return intro + _note("No reviews in the period.") + "</section>"
    teams = sorted(data.review_by_team)
    series = [Series(team, [data.review_by_team[team].get(w) for w in data.weeks],
                     TEAM_COLORS[i % len(TEAM_COLORS)], "bar") for i, team in enumerate(teams)]
    totals = [sum(s.values[i] or 0 for s in series) or None for i in range(len(data.weeks))]
    by_team = Chart(chart_id="review-by-team", title="Reviews given per week, by team",
                    description=describe_trend("reviews given per week", totals, data.weeks,
                                               format_number)
                    + f" Stacked by team ({', '.join(teams)}).",
                    categories=[week_label(w) for w in data.weeks], series=series,
                    y_label="Reviews", formatter=format_number, stacked=True)
    reviewers = data.reviews_per_reviewer
    labels, counts = review_spread(reviewers)
    spread = Chart(chart_id="review-spread",
                   title=f"Reviews per reviewer, last {REVIEW_SPREAD_WEEKS} weeks",
                   description=(f"{len(reviewers)} reviewers gave {format_number(sum(reviewers))} "
                                f"reviews in the last {REVIEW_SPREAD_WEEKS} weeks; the busiest "
                                f"20 % of reviewers gave {format_percent(top_share(reviewers))} "
                                "of them. " + "; ".join(
                                    f"{format_number(c)} reviewers gave {label}"
                                    for label, c in zip(labels, counts))) + ".",
                   categories=labels, series=[Series("reviewers", counts, BLUE, "bar")],
                   y_label="Reviewers", formatter=format_number)
    return (intro + f'<div class="grid">{figure(by_team)}'
            f'{figure(spread, "Reviews given")}</div></section>')


STYLE = """
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f8fafc; }
header, main, footer { max-width: 1440px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 28px 0 6px; font-size: 20px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
nav a { margin-right: 14px; color: #0b5cad; }
.meta, .note, .chart-summary, .tiles-caption { color: var(--muted); font-size: 13px; }
.note { background: #fff; border: 1px dashed #cbd5e1; padding: 10px 14px; border-radius: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(560px, 100%), 1fr));
        gap: 16px; }
.chart-figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px;
                padding: 12px 14px; }
.chart { width: 100%; height: auto; display: block; }
.chart .gridline { stroke: #eef0f3; }
.chart .axis { stroke: #9ca3af; }
.chart .tick { font-size: 11px; fill: #4b5563; }
.chart .axis-label { font-size: 12px; fill: #374151; }
.chart .band-label { font-size: 10.5px; font-weight: 600; }
.chart .line { fill: none; stroke-width: 2; }
.chart .trend { fill: none; stroke-width: 1.6; stroke-dasharray: 6 4; opacity: .75; }
.legend { list-style: none; margin: 6px 0; padding: 0; display: flex; flex-wrap: wrap;
          gap: 4px 14px; font-size: 12px; color: #374151; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px;
          vertical-align: -1px; border-radius: 2px; }
.swatch.line { height: 3px; vertical-align: 3px; }
.swatch.trend { height: 0; border-top: 2px dashed #374151; vertical-align: 3px; }
.swatch.band { opacity: .35; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
         margin: 10px 0 16px; }
.tiles-caption { margin: 0; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.tile-name { font-size: 13px; color: var(--muted); }
.tile-value { font-size: 22px; font-weight: 600; }
.tile-band { font-size: 12px; font-weight: 600; text-transform: uppercase; }
.band-elite { color: #1b7837; } .band-high { color: #3f8f46; }
.band-medium { color: #a16f00; } .band-low { color: #c0392b; } .band-none { color: var(--muted); }
details { margin-top: 6px; font-size: 12px; }
table { border-collapse: collapse; margin-top: 6px; }
th, td { border-bottom: 1px solid var(--line); padding: 2px 10px 2px 0; text-align: right; }
th[scope=row], thead th:first-child { text-align: left; }
footer { color: var(--muted); font-size: 12px; padding: 24px; }
table.attention th, table.attention td { text-align: left; padding-right: 16px; }
.signal-severe td:first-child { color: #c0392b; font-weight: 600; }
"""


def render_page(data: ReportData, slug: str, generated_at: datetime) -> str:
    period = (f"{week_label(data.weeks[0])} {data.weeks[0].year} – week of "
              f"{week_label(data.weeks[-1])} {data.weeks[-1].year}" if data.weeks
              else "no weekly data yet")
    sections = [needs_attention_section(data.open_signals), dora_section(data),
                cycle_time_section(data), throughput_section(data), issue_flow_section(data),
                sprint_section(data), review_section(data), forecasts_section(data.forecasts)]
    if not data.weeks:
        sections.insert(0, _note("The metric tables hold no weekly rows yet: run a sync "
                                 f"(sieve sync {slug}) and rebuild this report."))
    missing = (_note("Metric tables not built yet: " + ", ".join(data.marts_missing) + ".")
               if data.marts_missing else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(slug)} — engineering metrics</title>
<style>{STYLE}</style></head>
<body><header><h1>{escape(slug)}</h1>
<p class="meta">Engineering metrics from metadata only · {escape(period)} · generated
{generated_at:%Y-%m-%d %H:%M} UTC from the organization's metric tables. Times are UTC; weeks
start on Monday.</p>
<nav aria-label="Sections"><a href="#dora">DORA</a><a href="#cycle-time">Cycle time</a>
<a href="#throughput">Throughput &amp; WIP</a><a href="#issue-flow">Issue flow</a>
<a href="#sprints">Sprints</a><a href="#review-load">Review load</a></nav></header>
<main>{missing}{"".join(sections)}</main>
<footer>Sieve report for {escape(slug)}. Self-contained: no scripts, fonts or images are loaded
from anywhere. Definitions of every metric: docs/metrics.md.</footer></body></html>
"""
