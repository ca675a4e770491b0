"""Delivery forecasts: when an open epic or fix version will be done, as a range, from the team's
own history.

The method (docs/metrics.md, "delivery_forecasts"): each trial of a Monte Carlo simulation
plays the future week by week, drawing that week's finished items from the project's weekly
throughput over the trailing HISTORY_WEEKS and that week's added items from the scope's own
weekly scope growth over the same weeks (resampled with replacement, so a bad week can repeat).
A trial ends the week its remaining scope reaches zero. The 50th/85th/95th percentiles of the
trials' weeks are the forecast; the share of trials done by the due date is the chance of
meeting it. A backtest replays closed epics and released versions from their midpoint with the
same code.

Everything here is pure: the rows come from `resources.marts.forecast_mart`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

TRIALS = 10_000
# Every forecast starts from this seed, so a build's numbers are reproducible and one scope's
# forecast does not depend on which others exist.
SEED = 18
HISTORY_WEEKS = 12
# A trial still running after three years is "not within the horizon": its date is unknown.
HORIZON_WEEKS = 156
PERCENTILES = (50, 85, 95)
WEEK = timedelta(weeks=1)


def simulate_weeks_to_done(remaining: int, done_per_week: Sequence[int],
                           added_per_week: Sequence[int], *, trials: int = TRIALS,
                           seed: int = SEED, horizon: int = HORIZON_WEEKS) -> np.ndarray:
    """Weeks each trial needs to finish ``remaining`` items (0 when nothing remains;
    horizon + 1 when a trial is still running at the horizon)."""
    if remaining <= 0:
        return np.zeros(trials, dtype=np.int64)
    # A week's change is one added-week minus one done-week, drawn independently: every
    # pairing is equally likely, so one draw among the pairings' differences does both.
    net_per_week = (np.asarray(added_per_week, dtype=np.int64)[:, None]
                    - np.asarray(done_per_week, dtype=np.int64)[None, :]).ravel()
    rng = np.random.default_rng(seed)
    weeks = np.full(trials, horizon + 1, dtype=np.int64)
    left = np.full(trials, remaining, dtype=np.int64)
    # Trials are played in blocks of 1, 2, 4, … weeks, and only those still running play the
    # next block: the weeks after most trials have finished are never drawn.
    running = np.arange(trials)
    first_week, span = 0, 1
    while first_week < horizon and running.size:
        span = min(span, horizon - first_week)
        draws = rng.integers(0, net_per_week.size, size=(running.size, span), dtype=np.int32)
        path = left[running, None] + np.cumsum(net_per_week[draws], axis=1)
        finished = path <= 0
        ended = finished.any(axis=1)
        weeks[running[ended]] = first_week + finished[ended].argmax(axis=1) + 1
        left[running] = path[:, -1]
        running = running[~ended]
        first_week, span = first_week + span, span * 2
    return weeks


def percentile_weeks(weeks: np.ndarray, horizon: int = HORIZON_WEEKS) -> dict[int, int | None]:
    """The smallest week count that at least p% of trials reach, per percentile p (None when
    that is beyond the horizon); numpy's "inverted_cdf" percentile, counted in integers."""
    reached = np.cumsum(np.bincount(weeks, minlength=horizon + 2))
    result = {}
    for percentile in PERCENTILES:
        needed = -(-percentile * weeks.size // 100)
        value = int(np.searchsorted(reached, needed))
        result[percentile] = value if value <= horizon else None
    return result


def weekly_counts(event_times: np.ndarray, as_of: datetime, weeks: int) -> np.ndarray:
    """Events in each of the ``weeks`` whole weeks before ``as_of``, oldest first.

    ``event_times`` is sorted ``datetime64`` (naive UTC); week k ends k weeks before as_of.
    """
    edges = np.array([np.datetime64(as_of.replace(tzinfo=None) - WEEK * (weeks - k), "us")
                      for k in range(weeks + 1)])
    positions = np.searchsorted(event_times, edges, side="left")
    return np.diff(positions)


@dataclass(frozen=True)
class Scope:
    """The history of an epic's or a fix version's scope: when each of its items was added and
    finished (None while open). ``created_at`` is when the epic was opened (a version: when its
    first item was)."""

    key: str
    created_at: datetime
    child_created_at: tuple[datetime, ...]
    child_done_at: tuple[datetime | None, ...]
    due_date: date | None = None

    def remaining_at(self, as_of: datetime) -> int:
        return sum(1 for created, done in zip(self.child_created_at, self.child_done_at)
                   if created <= as_of and (done is None or done > as_of))

    def scope_at(self, as_of: datetime) -> int:
        return sum(1 for created in self.child_created_at if created <= as_of)

    def finished_scope(self) -> Scope:
        """The epic without the children still open: what a closed epic delivered (children
        left open when it closed were dropped from its scope)."""
        kept = [(c, d) for c, d in zip(self.child_created_at, self.child_done_at)
                if d is not None]
        return Scope(self.key, self.created_at, tuple(c for c, _ in kept),
                    tuple(d for _, d in kept), self.due_date)

    def completed_at(self) -> datetime | None:
        """When its last child was finished, if every child is."""
        if not self.child_done_at or any(done is None for done in self.child_done_at):
            return None
        return max(self.child_done_at)

    def growth_per_week(self, as_of: datetime, weeks: int = HISTORY_WEEKS) -> np.ndarray:
        """Children added in each of the trailing weeks of the epic's life after its first week
        (what it was opened with is its scope, not growth); at least one week."""
        settled = self.created_at + WEEK
        lived = max(1, min(weeks, int((as_of - settled) / WEEK)))
        added = np.array(sorted(np.datetime64(c.replace(tzinfo=None), "us")
                                for c in self.child_created_at if c > settled),
                         dtype="datetime64[us]")
        return weekly_counts(added, as_of, lived)


@dataclass(frozen=True)
class ScopeForecast:
    key: str
    as_of: datetime
    status: str  # forecast | no_remaining_scope | no_throughput
    scope_items: int
    remaining_items: int
    throughput_per_week: float
    scope_growth_per_week: float
    completion_dates: dict[int, date | None]
    probability_by_due_date: float | None


def forecast_scope(scope: Scope, done_per_week: np.ndarray, as_of: datetime, *,
                   trials: int = TRIALS, seed: int = SEED) -> ScopeForecast:
    """The forecast of one scope as of a moment, given its team's weekly throughput then."""
    remaining = scope.remaining_at(as_of)
    growth = scope.growth_per_week(as_of)
    status = ("no_remaining_scope" if remaining == 0
              else "no_throughput" if not np.any(done_per_week) else "forecast")
    dates: dict[int, date | None] = dict.fromkeys(PERCENTILES)
    probability = None
    if status == "forecast":
        weeks = _simulated(remaining, tuple(int(n) for n in done_per_week),
                           tuple(int(n) for n in growth), trials, seed)
        dates = {p: None if w is None else (as_of + WEEK * w).date()
                 for p, w in percentile_weeks(weeks).items()}
        if scope.due_date is not None:
            weeks_to_due = (scope.due_date - as_of.date()).days // 7
            probability = float(np.mean(weeks <= weeks_to_due))
    return ScopeForecast(
        key=scope.key, as_of=as_of, status=status, scope_items=scope.scope_at(as_of),
        remaining_items=remaining, throughput_per_week=float(np.mean(done_per_week)),
        scope_growth_per_week=float(np.mean(growth)), completion_dates=dates,
        probability_by_due_date=probability)


@functools.lru_cache(maxsize=1024)
def _simulated(remaining: int, done_per_week: tuple[int, ...], added_per_week: tuple[int, ...],
               trials: int, seed: int) -> np.ndarray:
    """The simulation, shared by epics with the same inputs (the epics of one project often
    have the same remaining count and no growth); read-only."""
    weeks = simulate_weeks_to_done(remaining, done_per_week, added_per_week, trials=trials,
                                   seed=seed)
    weeks.flags.writeable = False
    return weeks


def backtest_as_of(scope: Scope) -> datetime | None:
    """The midpoint between a scope's opening and the finish of its last item (None while
    it is open)."""
    completed = scope.completed_at()
    if completed is None or completed <= scope.created_at:
        return None
    return scope.created_at + (completed - scope.created_at) / 2


def within_p85(forecast: ScopeForecast, completed_at: datetime) -> bool | None:
    """Whether the actual finish fell on or before the forecast's 85th percentile date (None
    when the backtest made no forecast)."""
    if forecast.status != "forecast":
        return None
    p85 = forecast.completion_dates[85]
    return p85 is not None and completed_at.date() <= p85


def hit_rate(hits: Sequence[bool | None]) -> float | None:
    """The share of backtested scopes that finished within their P85 date."""
    scored = [hit for hit in hits if hit is not None]
    return sum(scored) / len(scored) if scored else None
