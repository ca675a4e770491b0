"""The CLI's live status lines follow a run's steps from its event log, names and states only."""

from __future__ import annotations

import io
import re
import threading
import time
import uuid

from dagster import Failure, RetryPolicy, in_process_executor, instance_for_test, job, op

from pipelines.progress import RunProgress

SECRET_IN_ERROR = "token-abc123-must-not-print"


@op
def fetch():
    return 1


@op
def extract(value):
    raise Failure(description=f"upstream said {SECRET_IN_ERROR}", allow_retries=False)


@job(executor_def=in_process_executor)
def two_steps():
    extract(fetch())


@op(retry_policy=RetryPolicy(max_retries=1))
def flaky():
    time.sleep(0.2)
    raise RuntimeError("still down")


@job(executor_def=in_process_executor)
def retried():
    flaky()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def follow(stream, job_def=two_steps) -> str:
    run_id = str(uuid.uuid4())
    with instance_for_test() as instance, RunProgress(instance, run_id, stream):
        job_def.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    return stream.getvalue()


def test_each_step_gets_a_line_when_it_starts_and_ends():
    lines = follow(io.StringIO()).splitlines()
    assert lines[0] == "  fetch: running"
    assert lines[1].startswith("  fetch: done (")
    assert lines[2] == "  extract: running"
    assert lines[3].startswith("  extract: failed (")


def test_error_messages_are_never_printed():
    assert SECRET_IN_ERROR not in follow(io.StringIO())
    assert SECRET_IN_ERROR not in follow(Terminal())


def test_a_terminal_line_is_redrawn_in_place():
    output = follow(Terminal())
    assert "\r  fetch: running" in output
    assert output.count("\n") == 2  # one finished line per step; "running" is overwritten


@op(pool="limited_api")
def pooled():
    return 1


@job(executor_def=in_process_executor)
def one_pooled_step():
    pooled()


def test_a_step_waiting_for_a_pool_slot_says_which_pool_and_who_holds_it():
    run_id = str(uuid.uuid4())
    stream = io.StringIO()
    with instance_for_test() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("limited_api", 1)
        storage.claim_concurrency_slot("limited_api", "5ca1ab1e-dead-run", "some_step")
        with RunProgress(instance, run_id, stream):
            execution = threading.Thread(target=lambda: one_pooled_step.execute_in_process(
                instance=instance, run_id=run_id, raise_on_error=False))
            execution.start()
            deadline = time.monotonic() + 30
            while "waiting" not in stream.getvalue() and time.monotonic() < deadline:
                time.sleep(0.1)
            storage.free_concurrency_slots_for_run("5ca1ab1e-dead-run")
            execution.join(30)
    lines = stream.getvalue().splitlines()
    assert lines[0] == ("  pooled: waiting for a slot of pool limited_api (1 of 1 held by runs "
                        "5ca1ab1e; `dagster instance concurrency info` shows them, and the next "
                        "`sieve sync` frees those of runs whose process is gone)")
    assert lines[1] == "  pooled: running" and lines[2].startswith("  pooled: done (")


def test_a_retried_step_is_timed_from_each_attempt_start():
    lines = follow(io.StringIO(), retried).splitlines()
    assert [line.split(":")[1].split()[0] for line in lines] == [
        "running", "retrying", "running", "failed"]
    # Each attempt sleeps 0.2 s before failing: no attempt may read "(0.0s)".
    assert all(float(re.search(r"\(([\d.]+)s\)", line).group(1)) >= 0.1
               for line in lines if "(" in line)
