"""The report's "Needs attention" list (open signals of marts.insights) and its delivery
forecasts section (a fan chart of marts.delivery_forecasts), read and rendered.

The report names nobody: a signal about a person shows as "a person" and their team, never the
person_id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from resources.analyst.report.charts import format_hours, format_number, format_percent

# Most severe first, then the newest (the order of `sieve insights`).
OPEN_SIGNALS_SQL = """
select kind, severity, subject_type, subject, team, metric, observed_value, threshold_value,
    baseline_value, direction, first_seen_at
from {schema}.insights where is_open
order by severity = 'severe' desc, first_seen_at desc, kind, subject
"""
OPEN_FORECASTS_SQL = """
select coalesce(subject_name, subject_key) as label, project_key, as_of_at, status,
    remaining_items, scope_growth_per_week, throughput_per_week, p50_date, p85_date, p95_date,
    due_date, probability_by_due_date
from {schema}.delivery_forecasts where forecast_kind = 'open'
order by status = 'forecast' desc, p85_date nulls last, subject_kind, label
"""
BACKTEST_SQL = """
select count(is_within_p85), count(*) filter (where is_within_p85)
from {schema}.delivery_forecasts where forecast_kind = 'backtest'
"""
FAN_CHART_ROWS = 30

# What each kind's observed and threshold values measure.
SIGNAL_EVIDENCE = {
    "pr_awaiting_first_review": ("PR awaiting first review", format_hours, "working time waited"),
    "pr_idle": ("PR idle", lambda days: f"{format_number(days)} days", "idle"),
    "pr_too_large": ("PR too large", lambda lines: f"{format_number(lines)} lines", "changed"),
    "wip_above_limit": ("Work in progress above limit", format_number, "items in progress"),
    "review_concentration": ("Review concentrated on one reviewer", format_percent,
                             "of the team's reviews by one reviewer"),
    "bus_factor_one": ("Bus factor one", format_percent, "of recent commits by one person"),
    "sprint_at_risk": ("Sprint at risk", format_number, "issues left"),
    "metric_out_of_band": ("Metric outside its trailing band", format_hours, "last week"),
}


def load_open_signals(connection, schema: str, marts: set[str]) -> list[dict]:
    if "insights" not in marts:
        return []
    return _dicts(connection, OPEN_SIGNALS_SQL.format(schema=schema))


@dataclass(frozen=True)
class Forecasts:
    open_scopes: list[dict]
    backtested: int
    backtest_within_p85: int


def load_forecasts(connection, schema: str, marts: set[str]) -> Forecasts:
    if "delivery_forecasts" not in marts:
        return Forecasts([], 0, 0)
    scored, within = connection.execute(BACKTEST_SQL.format(schema=schema)).fetchone()
    return Forecasts(_dicts(connection, OPEN_FORECASTS_SQL.format(schema=schema)), scored, within)


def _dicts(connection, sql: str) -> list[dict]:
    cursor = connection.execute(sql)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


# --- Needs attention ----------------------------------------------------------------------

def signal_subject(signal: dict) -> str:
    """What the signal is about, without naming a person."""
    if signal["subject_type"] == "person":
        return f"a person in team {signal['team']}" if signal["team"] else "a person"
    return signal["subject"]


def signal_evidence(signal: dict) -> str:
    """The numbers that raised the signal, in the kind's unit."""
    _, formatter, what = SIGNAL_EVIDENCE.get(signal["kind"], (None, format_number, "value"))
    observed, threshold = signal["observed_value"], signal["threshold_value"]
    text = f"{formatter(observed)} {what}" if observed is not None else what
    if signal["metric"]:
        text = f"{signal['metric']}: {text}"
    if threshold is not None:
        text += f" (threshold {formatter(threshold)})"
    if signal["baseline_value"] is not None:
        text += f"; trailing median {formatter(signal['baseline_value'])}"
    if signal["direction"]:
        text += f", {signal['direction']}"
    return text


def needs_attention_section(signals: list[dict]) -> str:
    intro = ('<section id="needs-attention"><h2>Needs attention</h2><p>Open signals from the '
             'metric tables, most severe and newest first; each closes by itself when its '
             'condition clears (docs/metrics.md, "insights").</p>')
    if not signals:
        return intro + '<p class="note">No open signal.</p></section>'
    rows = "".join(
        f'<tr class="signal-{escape(s["severity"])}"><td>{escape(s["severity"])}</td>'
        f'<th scope="row">{escape(SIGNAL_EVIDENCE.get(s["kind"], (s["kind"],))[0])}</th>'
        f'<td>{escape(signal_subject(s))}</td><td>{escape(signal_evidence(s))}</td>'
        f'<td>{_day(s["first_seen_at"])}</td></tr>' for s in signals)
    return (intro + '<table class="attention"><thead><tr><th scope="col">Severity</th>'
            '<th scope="col">Signal</th><th scope="col">Subject</th><th scope="col">Evidence'
            f'</th><th scope="col">Since</th></tr></thead><tbody>{rows}</tbody></table>'
            '</section>')


def _day(value) -> str:
    return "–" if value is None else _as_date(value).isoformat()


# --- Delivery forecasts -------------------------------------------------------------------

FAN_WIDTH, FAN_LEFT, FAN_RIGHT, FAN_TOP, FAN_ROW, FAN_BOTTOM = 960, 110, 24, 16, 22, 40
# Darkest where the forecast is surest: as of → P50, P50 → P85, P85 → P95.
FAN_SHADES = (("as of → P50", "#0072B2"), ("P50 → P85", "#56B4E9"), ("P85 → P95", "#BFE0F5"))
DUE_COLOR = "#D55E00"


def forecasts_section(forecasts: Forecasts) -> str:
    intro = ('<section id="forecasts"><h2>Delivery forecasts</h2><p>When each open epic and '
             'unreleased fix version will be done: 10,000 simulated futures drawn from its '
             'project\'s weekly throughput and its own scope growth. Half the futures finish by P50, 85 in 100 by P85, '
             '95 in 100 by P95 (docs/metrics.md, "delivery_forecasts").</p>')
    if not forecasts.open_scopes:
        return intro + '<p class="note">No open epic or version to forecast.</p></section>'
    backtest = (f"Backtest: {forecasts.backtest_within_p85} of {forecasts.backtested} closed "
                f"epics and released versions ({format_percent(forecasts.backtest_within_p85 / forecasts.backtested)})"
                " finished by the P85 date forecast at their midpoint."
                if forecasts.backtested else "Backtest: nothing closed to replay yet.")
    dated = [e for e in forecasts.open_scopes if e["p95_date"] is not None][:FAN_CHART_ROWS]
    chart = fan_chart(dated) if dated else ""
    return (f'{intro}<p class="chart-summary">{escape(backtest)}</p>'
            f'<figure class="chart-figure" id="delivery-forecasts"><figcaption><strong>'
            f'Completion date ranges of open epics and versions</strong></figcaption>{_fan_legend()}{chart}'
            f'{_forecast_table(forecasts.open_scopes)}</figure></section>')


def _fan_legend() -> str:
    items = [f'<li><span class="swatch bar" style="background:{color}"></span>{escape(name)}'
             '</li>' for name, color in FAN_SHADES]
    items.append(f'<li><span class="swatch line" style="background:{DUE_COLOR}"></span>'
                 'due date</li>')
    return f'<ul class="legend">{"".join(items)}</ul>'


def fan_chart(epics: list[dict]) -> str:
    """One row per epic: bands from the forecast's as-of date to its P50, P85 and P95 dates."""
    start = min(_as_date(e["as_of_at"]) for e in epics)
    end = max(max(e["p95_date"], e["due_date"] or e["p95_date"]) for e in epics)
    span = max((end - start).days, 7)
    height = FAN_TOP + FAN_ROW * len(epics) + FAN_BOTTOM
    plot_right = FAN_WIDTH - FAN_RIGHT

    def x(day: date) -> float:
        return FAN_LEFT + (plot_right - FAN_LEFT) * (day - start).days / span

    plural = "" if len(epics) == 1 else "s"
    description = (f"Forecast completion ranges of {len(epics)} open epic{plural} from {start} "
                   f"to {end}; the data table below lists every open epic with its dates.")
    parts = [f'<svg class="chart" viewBox="0 0 {FAN_WIDTH} {height}" role="img" '
             'aria-labelledby="delivery-forecasts-title delivery-forecasts-desc" '
             'xmlns="http://www.w3.org/2000/svg">',
             '<title id="delivery-forecasts-title">Completion date ranges of open epics</title>',
             f'<desc id="delivery-forecasts-desc">{escape(description)}</desc>']
    for row, epic in enumerate(epics):
        parts.extend(_fan_row(epic, FAN_TOP + FAN_ROW * row, x))
    axis_y = height - FAN_BOTTOM
    parts.append(f'<line class="axis" x1="{FAN_LEFT}" x2="{plot_right}" y1="{axis_y}" '
                 f'y2="{axis_y}"/><line class="axis" x1="{FAN_LEFT}" x2="{FAN_LEFT}" '
                 f'y1="{FAN_TOP}" y2="{axis_y}"/>')
    for tick in range(5):
        day = start + (end - start) * tick / 4
        parts.append(f'<text class="tick" x="{x(day):.1f}" y="{axis_y + 16}" '
                     f'text-anchor="middle">{day.isoformat()}</text>')
    parts.append(f'<text class="axis-label" x="{(FAN_LEFT + plot_right) / 2:.0f}" '
                 f'y="{height - 6}" text-anchor="middle">Completion date</text></svg>')
    return "".join(parts)


def _fan_row(epic: dict, top: float, x) -> list[str]:
    label = escape(epic["label"])
    edges = [_as_date(epic["as_of_at"]), epic["p50_date"], epic["p85_date"], epic["p95_date"]]
    parts = [f'<text class="tick" x="{FAN_LEFT - 6}" y="{top + FAN_ROW / 2 + 4:.1f}" '
             f'text-anchor="end">{label}</text>']
    for (name, color), left, right in zip(FAN_SHADES, edges, edges[1:]):
        parts.append(f'<rect class="bar" x="{x(left):.1f}" y="{top + 3:.1f}" '
                     f'width="{max(x(right) - x(left), 1.5):.1f}" height="{FAN_ROW - 6}" '
                     f'fill="{color}"><title>{label} {escape(name)}: {left} to {right}</title>'
                     '</rect>')
    if epic["due_date"] is not None:
        parts.append(f'<line class="due" x1="{x(epic["due_date"]):.1f}" '
                     f'x2="{x(epic["due_date"]):.1f}" y1="{top + 1}" y2="{top + FAN_ROW - 1}" '
                     f'stroke="{DUE_COLOR}" stroke-width="2"/>')
    return parts


def _forecast_table(epics: list[dict]) -> str:
    """Every open epic's numbers: the chart's text alternative, and the epics it leaves out."""
    def cell(value) -> str:
        return "–" if value is None else escape(str(value))

    rows = "".join(
        f'<tr><th scope="row">{escape(e["label"])}</th><td>{cell(e["status"])}</td>'
        f'<td>{e["remaining_items"]}</td><td>{format_number(e["throughput_per_week"])}</td>'
        f'<td>{format_number(e["scope_growth_per_week"])}</td><td>{cell(e["p50_date"])}</td>'
        f'<td>{cell(e["p85_date"])}</td><td>{cell(e["p95_date"])}</td>'
        f'<td>{cell(e["due_date"])}</td><td>'
        f'{"–" if e["probability_by_due_date"] is None else format_percent(e["probability_by_due_date"])}'
        '</td></tr>' for e in epics)
    head = "".join(f'<th scope="col">{name}</th>' for name in (
        "Epic or version", "Status", "Items left", "Done / week", "Added / week", "P50", "P85",
        "P95", "Due", "Chance by due date"))
    return (f'<details><summary>Data table: Completion date ranges of open epics and versions'
            '</summary>'
            f'<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></details>')


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value
