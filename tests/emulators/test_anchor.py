"""The demo organization is generated relative to an anchor day: the fixed default for tests,
today for `sieve demo` / `sieve emulate` (issue #20, item 3)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import requests

from emulators.model import DEFAULT_ANCHOR
from emulators.org import Org


def test_a_later_anchor_shifts_the_same_org_by_the_days_between():
    fixed, later = Org("tiny", 7), Org("tiny", 7, DEFAULT_ANCHOR + timedelta(days=30))
    repo = fixed.repos[0]
    for number in (1, 2, 3):
        before, after = fixed.pull_request(repo, number), later.pull_request(later.repos[0], number)
        assert after.created_at - before.created_at == timedelta(days=30)
        assert (after.title, after.author.login) == (before.title, before.author.login)
    assert later.now - fixed.now == timedelta(days=30)
    assert Org("tiny", 7, later.anchor).pull_request(later.repos[0], 1) == later.pull_request(
        later.repos[0], 1)  # deterministic for a given day


def test_serve_defaults_to_today_and_stops_itself_when_idle():
    process = subprocess.Popen([sys.executable, "-m", "emulators.cli", "--scale", "tiny",
                                "--port", "0", "--idle-exit", "1"], stdout=subprocess.PIPE)
    try:
        github_url, token = process.stdout.readline().decode().split()[1:3]
        pulls = requests.get(f"{github_url}/repos/sieve-demo/web-app/pulls?state=all&per_page=100",
                             headers={"Authorization": f"token {token}"}, timeout=10).json()
        newest = max(datetime.fromisoformat(p["created_at"]) for p in pulls)
        todays = Org("tiny", 7, datetime.now(UTC).date())
        repo = todays.repo("web-app")
        expected = max(todays.pull_request(repo, n).created_at for n in range(1, repo.items + 1)
                       if todays.pull_request(repo, n))
        assert newest.date() == expected.date() and newest < datetime.now(UTC)
        started_idling = time.monotonic()
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started_idling < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
