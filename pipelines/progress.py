"""A live status line per step of a Dagster run, for the CLI's long operations.

A thread follows the run's event log in the instance while the run executes, and writes to a
stream (the CLI gives stderr, so stdout stays clean for results). Only step names, states and
durations are written — never an event's message, which could quote an upstream error.
On a terminal the running step's line is redrawn with its elapsed time; elsewhere (CI, a log
file) each step prints one line when it starts and one when it ends. A step waiting for a
concurrency-pool slot says so, with the pool and the runs holding its slots: a run never waits
silently.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from dagster import DagsterEventType, DagsterInstance

# A retried step starts again with STEP_RESTARTED, not STEP_START: followed too, so its second
# attempt is timed from its own start.
STARTED_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED}
FOLLOWED_EVENTS = {*STARTED_EVENTS, DagsterEventType.STEP_SUCCESS,
                   DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_UP_FOR_RETRY}
POLL_SECONDS = 0.5
# Waits for pool slots are read from the pools' own tables, less often than the event log.
POOL_POLL_SECONDS = 2.0


def step_line(step: str, state: str, seconds: float | None = None) -> str:
    took = f" ({seconds:.1f}s)" if seconds is not None else ""
    return f"  {step}: {state}{took}"


def waiting_line(step: str, pool: str, limit: int, holders: list[str]) -> str:
    runs = ", ".join(run_id[:8] for run_id in holders) or "none yet"
    return (f"  {step}: waiting for a slot of pool {pool} ({len(holders)} of {limit} held by "
            f"runs {runs}; `dagster instance concurrency info` shows them, and the next "
            "`sieve sync` frees those of runs whose process is gone)")


def pending_pool_steps(instance: DagsterInstance, run_id: str) -> list[tuple[str, str, int, list[str]]]:
    """(step, pool, limit, runs holding its slots) for each step of ``run_id`` waiting for a
    pool slot."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    waiting = []
    for pool in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(pool)
        for pending in info.pending_steps:
            if pending.run_id == run_id and pending.assigned_timestamp is None:
                waiting.append((pending.step_key, pool, info.slot_count,
                                [slot.run_id for slot in info.claimed_slots]))
    return waiting


class RunProgress:
    """Follows run ``run_id`` of ``instance`` from a thread while used as a context manager."""

    def __init__(self, instance: DagsterInstance, run_id: str, stream: TextIO):
        self._instance = instance
        self._run_id = run_id
        self._stream = stream
        self._live = stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="run-progress", daemon=True)
        self._cursor: str | None = None
        self._started: dict[str, float] = {}
        self._waits_told: set[str] = set()
        self._next_pool_poll = 0.0

    def __enter__(self) -> RunProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # the last steps may have ended after the final poll of the thread
        if self._live and self._started:
            self._stream.write("\n")
        self._stream.flush()

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._poll()
            if time.monotonic() >= self._next_pool_poll:
                self._next_pool_poll = time.monotonic() + POOL_POLL_SECONDS
                self._tell_pool_waits()
            self._redraw_running()

    def _tell_pool_waits(self) -> None:
        for step, pool, limit, holders in pending_pool_steps(self._instance, self._run_id):
            if step not in self._waits_told:
                self._waits_told.add(step)
                self._write(waiting_line(step, pool, limit, holders), final=True)

    def _poll(self) -> None:
        connection = self._instance.get_records_for_run(self._run_id, cursor=self._cursor,
                                                        of_type=FOLLOWED_EVENTS)
        self._cursor = connection.cursor
        for record in connection.records:
            entry = record.event_log_entry
            self._on_step_event(entry.dagster_event.event_type, entry.step_key, entry.timestamp)

    def _on_step_event(self, event_type: DagsterEventType, step: str, at: float) -> None:
        if event_type in STARTED_EVENTS:
            self._started[step] = at
            self._write(step_line(step, "running"), final=not self._live)
            return
        started = self._started.pop(step, None)
        # No start seen (the run was followed late): no duration rather than a false "0.0s".
        seconds = None if started is None else at - started
        state = {DagsterEventType.STEP_SUCCESS: "done",
                 DagsterEventType.STEP_FAILURE: "failed",
                 DagsterEventType.STEP_UP_FOR_RETRY: "retrying"}[event_type]
        self._write(step_line(step, state, seconds), final=True)

    def _redraw_running(self) -> None:
        if self._live:
            for step, started in self._started.items():
                self._write(step_line(step, "running", time.time() - started), final=False)

    def _write(self, line: str, *, final: bool) -> None:
        if self._live:
            # Redraw in place: carriage return, the line, then clear what a longer one left.
            self._stream.write(f"\r{line}\x1b[K" + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
