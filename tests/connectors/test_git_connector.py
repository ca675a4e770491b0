"""The git connector through the real sync path: this repository itself as the clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def commit_count(path: Path) -> int:
    return int(subprocess.run(["git", "-C", str(path), "rev-list", "--count", "HEAD"],
                              capture_output=True, text=True, check=True).stdout)


def test_git_history_lands_once_and_an_unmoved_head_reads_nothing(sieve_org, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(REPO), str(clone)], check=True)
    org = sieve_org("acme")
    org.connect("git", {"path": str(clone)}, {})
    [first] = org.sync("git")
    assert first.rows_upserted["git_commits"] == commit_count(clone) == org.count("git_commits")
    before = org.snapshot(["git_commits"])

    [second] = org.sync("git")
    assert second.records_fetched == 0 and second.pages_not_modified == 1
    assert org.snapshot(["git_commits"]) == before

    env = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["git", "-C", str(clone), "commit", "--allow-empty", "-q", "-m",
                    "subject\n\nGIT-BODY-CANARY-77"], check=True, env=env)
    [third] = org.sync("git")
    assert org.count("git_commits") == commit_count(clone)
    stored = org.query("SELECT * FROM metadata.git_commits")
    assert "GIT-BODY-CANARY-77" not in repr(stored)
    assert third.records_fetched == commit_count(clone)
