"""Processes started in their own session, so each can be stopped with everything it spawned
(dagster dev's webserver, daemon and code servers; Chromium's renderers) and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess


def start_in_own_session(command: list[str], **popen_kwargs) -> subprocess.Popen:
    return subprocess.Popen(command, start_new_session=True, **popen_kwargs)


def stop_process_group(process: subprocess.Popen, grace_seconds: float) -> None:
    """SIGINT (what Ctrl-C sends: dagster dev shuts its children down on it), then SIGKILL for
    whatever of the group is left after ``grace_seconds``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
    except ProcessLookupError:
        pass
    process.wait()
