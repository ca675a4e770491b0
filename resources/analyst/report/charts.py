"""Inline SVG charts drawn in Python: no JavaScript, no fonts or files from anywhere.

One chart form covers the report: categories along x (weeks, sprints), bars (stacked or side by
side) and lines on a linear or logarithmic y axis, optional shaded bands (the DORA performance
bands) and a least-squares trend line. Every chart carries a <title> and a <desc> saying what it
shows and what the data says; the page adds the full data table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 680, 270
LEFT, RIGHT, TOP, BOTTOM = 70, 56, 14, 34
MAX_X_LABELS = 9

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    kind: str = "line"  # "line" or "bar"


@dataclass(frozen=True)
class Band:
    label: str
    low: float
    high: float
    color: str


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    description: str
    categories: Sequence[str]
    series: Sequence[Series]
    y_label: str
    formatter: Formatter
    log: bool = False
    stacked: bool = False
    bands: Sequence[Band] = field(default_factory=tuple)
    trend_of: str | None = None  # name of the line series to fit a trend to
    y_min: float | None = None  # the floor of a log axis; 0 on a linear one
    y_max: float | None = None  # at least this much y range (e.g. to show a band)


def format_number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{format_number(hours)} h"
    if hours < 24 * 14:
        return f"{format_number(hours / 24)} d"
    return f"{format_number(hours / 168)} wk"


def format_percent(ratio: float) -> str:
    return f"{format_number(ratio * 100)} %"


def linear_trend(values: Sequence[float | None]) -> tuple[float, float] | None:
    """Least-squares (slope per step, intercept) over the present values; None under 3."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 3:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope, mean_y - slope * mean_x


def nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


# Log axes carry durations: ticks at 10 min, 30 min, 1 h, 4 h, 1 d, 3 d, 1 wk, 1 mo, 1 qtr, 1 yr.
HOUR_TICKS = (1 / 6, 0.5, 1, 4, 24, 72, 168, 720, 2160, 8760)


class _YScale:
    """Value → pixel row; linear from 0 to a round maximum, or logarithmic for durations."""

    def __init__(self, chart: Chart, peak: float):
        self.log = chart.log
        self.pixel_top, self.pixel_bottom = TOP, HEIGHT - BOTTOM
        if self.log:
            self.low = chart.y_min or 0.1
            high = max(peak, chart.y_max or 0, self.low * 10)
            self.high = high * 1.3
            self.ticks = [t for t in HOUR_TICKS if self.low <= t <= self.high] or [self.low]
        else:
            self.low = 0.0
            high = max(peak, chart.y_max or 0) or 1.0
            step = nice_step(high)
            self.high = step * math.ceil(high / step * 1.001)
            self.ticks = [i * step for i in range(int(round(self.high / step)) + 1)]

    def y(self, value: float) -> float:
        value = min(max(value, self.low), self.high)
        if self.log:
            fraction = (math.log(value) - math.log(self.low)) / (math.log(self.high)
                                                                  - math.log(self.low))
        else:
            fraction = (value - self.low) / (self.high - self.low)
        return self.pixel_bottom - fraction * (self.pixel_bottom - self.pixel_top)


def _peak(chart: Chart) -> float:
    bars = [s for s in chart.series if s.kind == "bar"]
    lines = [s for s in chart.series if s.kind == "line"]
    peak = max((v for s in lines for v in s.values if v is not None), default=0.0)
    if chart.stacked and bars:
        totals = [sum(s.values[i] or 0 for s in bars) for i in range(len(chart.categories))]
        peak = max(peak, *totals)
    else:
        peak = max(peak, max((v for s in bars for v in s.values if v is not None), default=0.0))
    return peak


def _attr(value: float) -> str:
    return f"{value:.1f}"


def render_chart(chart: Chart) -> str:
    """The chart as an accessible inline <svg> element."""
    count = len(chart.categories)
    scale = _YScale(chart, _peak(chart))
    plot_left, plot_right = LEFT, WIDTH - RIGHT
    slot = (plot_right - plot_left) / max(count, 1)

    def x_center(i: int) -> float:
        return plot_left + slot * (i + 0.5)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart.chart_id}-title {chart.chart_id}-desc" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart.chart_id}-title">{escape(chart.title)}</title>',
             f'<desc id="{chart.chart_id}-desc">{escape(chart.description)}</desc>']
    for band in chart.bands:
        y_top, y_bottom = scale.y(min(band.high, scale.high)), scale.y(max(band.low, scale.low))
        if y_bottom - y_top < 0.5:
            continue
        parts.append(f'<rect class="band" x="{plot_left}" y="{_attr(y_top)}" '
                     f'width="{plot_right - plot_left}" height="{_attr(y_bottom - y_top)}" '
                     f'fill="{band.color}" fill-opacity="0.16"/>')
        if y_bottom - y_top >= 11:
            parts.append(f'<text class="band-label" x="{plot_right + 6}" '
                         f'y="{_attr((y_top + y_bottom) / 2 + 4)}" fill="{band.color}">'
                         f'{escape(band.label.split(" (")[0])}</text>')
    for tick in scale.ticks:
        y = scale.y(tick)
        parts.append(f'<line class="gridline" x1="{plot_left}" x2="{plot_right}" y1="{_attr(y)}" '
                     f'y2="{_attr(y)}"/>')
        parts.append(f'<text class="tick" x="{plot_left - 6}" y="{_attr(y + 4)}" '
                     f'text-anchor="end">{escape(chart.formatter(tick))}</text>')
    parts.extend(_bars(chart, scale, x_center, slot))
    parts.extend(_lines(chart, scale, x_center))
    # As many x labels as fit side by side (about 6.5 px per character at 11 px).
    widest = max((len(label) for label in chart.categories), default=1) * 6.5 + 10
    fitting = max(1, min(MAX_X_LABELS, int((plot_right - plot_left) // widest)))
    every = max(1, math.ceil(count / fitting))
    axis_y = HEIGHT - BOTTOM
    parts.append(f'<line class="axis" x1="{plot_left}" x2="{plot_right}" y1="{axis_y}" '
                 f'y2="{axis_y}"/>')
    parts.append(f'<line class="axis" x1="{plot_left}" x2="{plot_left}" y1="{TOP}" '
                 f'y2="{axis_y}"/>')
    for i, label in enumerate(chart.categories):
        if i % every == 0 or i == count - 1 and (count - 1) % every > every / 2:
            parts.append(f'<text class="tick" x="{_attr(x_center(i))}" y="{axis_y + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<text class="axis-label" x="16" y="{(TOP + axis_y) / 2:.0f}" '
                 f'text-anchor="middle" transform="rotate(-90 16 {(TOP + axis_y) / 2:.0f})">'
                 f'{escape(chart.y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bars(chart: Chart, scale: _YScale, x_center, slot: float) -> list[str]:
    bars = [s for s in chart.series if s.kind == "bar"]
    if not bars:
        return []
    parts = []
    width = slot * 0.72 if chart.stacked else slot * 0.8 / len(bars)
    base = [0.0] * len(chart.categories)
    for n, series in enumerate(bars):
        for i, value in enumerate(series.values):
            if not value:
                continue
            if chart.stacked:
                x = x_center(i) - width / 2
                y_low, y_high = scale.y(base[i]), scale.y(base[i] + value)
                base[i] += value
            else:
                x = x_center(i) - slot * 0.4 + n * width
                y_low, y_high = scale.y(scale.low), scale.y(value)
            parts.append(f'<rect class="bar" x="{_attr(x)}" y="{_attr(y_high)}" '
                         f'width="{_attr(max(width - 1, 1))}" '
                         f'height="{_attr(max(y_low - y_high, 0.5))}" fill="{series.color}">'
                         f'<title>{escape(series.name)}, {escape(chart.categories[i])}: '
                         f'{escape(chart.formatter(value))}</title></rect>')
    return parts


def _path(points: list[tuple[float, float] | None]) -> str:
    commands, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{_attr(point[0])},{_attr(point[1])}")
        pen_down = True
    return " ".join(commands)


def _lines(chart: Chart, scale: _YScale, x_center) -> list[str]:
    parts = []
    for series in (s for s in chart.series if s.kind == "line"):
        points = [None if v is None else (x_center(i), scale.y(v))
                  for i, v in enumerate(series.values)]
        parts.append(f'<path class="line" d="{_path(points)}" stroke="{series.color}"/>')
        for i, point in enumerate(points):
            if point is not None:
                parts.append(f'<circle class="point" cx="{_attr(point[0])}" '
                             f'cy="{_attr(point[1])}" r="2.6" fill="{series.color}">'
                             f'<title>{escape(series.name)}, {escape(chart.categories[i])}: '
                             f'{escape(chart.formatter(series.values[i]))}</title></circle>')
        if series.name == chart.trend_of:
            parts.extend(_trend(chart, series, scale, x_center))
    return parts


def trend_values(values: Sequence[float | None], *, log: bool) -> list[float] | None:
    """The fitted trend at every position (fitted on log values for a log axis)."""
    usable = [None if v is None or (log and v <= 0) else (math.log(v) if log else v)
              for v in values]
    fit = linear_trend(usable)
    if fit is None:
        return None
    slope, intercept = fit
    fitted = [intercept + slope * i for i in range(len(values))]
    return [math.exp(v) for v in fitted] if log else fitted


def _trend(chart: Chart, series: Series, scale: _YScale, x_center) -> list[str]:
    fitted = trend_values(series.values, log=chart.log)
    if fitted is None:
        return []
    present = [i for i, v in enumerate(series.values) if v is not None]
    first, last = present[0], present[-1]
    points = [(x_center(i), scale.y(fitted[i])) for i in (first, last)]
    return [f'<path class="trend" d="{_path(points)}" stroke="{series.color}">'
            f'<title>Trend of {escape(series.name)} (least squares)</title></path>']


def legend(chart: Chart) -> str:
    items = [f'<li><span class="swatch {s.kind}" style="background:{s.color}"></span>'
             f'{escape(s.name)}</li>' for s in chart.series]
    trended = next((s for s in chart.series if s.name == chart.trend_of), None)
    if trended and trend_values(trended.values, log=chart.log):
        items.append(f'<li><span class="swatch trend" style="border-top-color:{trended.color}">'
                     '</span>trend (least squares)</li>')
    items.extend(f'<li><span class="swatch band" style="background:{b.color}"></span>'
                 f'{escape(b.label)}</li>' for b in chart.bands)
    return f'<ul class="legend">{"".join(items)}</ul>'


def data_table(chart: Chart, category_header: str) -> str:
    """The chart's numbers as a table: the text alternative for every reader."""
    head = "".join(f"<th scope=\"col\">{escape(s.name)}</th>" for s in chart.series)
    rows = []
    for i, category in enumerate(chart.categories):
        cells = "".join(
            f"<td>{'–' if s.values[i] is None else escape(chart.formatter(s.values[i]))}</td>"
            for s in chart.series)
        rows.append(f"<tr><th scope=\"row\">{escape(category)}</th>{cells}</tr>")
    return (f'<details><summary>Data table: {escape(chart.title)}</summary>'
            f'<table><thead><tr><th scope="col">{escape(category_header)}</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></details>')


def figure(chart: Chart, category_header: str = "Week") -> str:
    """The chart with its caption, legend, one-sentence summary and data table."""
    return (f'<figure class="chart-figure" id="{chart.chart_id}">'
            f'<figcaption><strong>{escape(chart.title)}</strong></figcaption>'
            f'{legend(chart)}{render_chart(chart)}'
            f'<p class="chart-summary">{escape(chart.description)}</p>'
            f'{data_table(chart, category_header)}</figure>')
