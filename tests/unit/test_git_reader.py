"""The local git reader, against throwaway repositories built in tmp_path."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from resources.security.pii import PiiScrubber
from resources.sources.git.connector import GitReadError, read_git_commits
from resources.sync.extraction import project_many

CANARY_SUBJECT = "CANARY-subject-51c2"
CANARY_BODY = "CANARY-body-9e4d"
CANARY_CONTENT = "CANARY-content-0b7f"
CANARIES = (CANARY_SUBJECT, CANARY_BODY, CANARY_CONTENT)


def git(repo: Path, *args: str, date: str = "2024-01-02T10:00:00+02:00",
        author: tuple[str, str] = ("Zoë Ünicode", "zoe@example.com"),
        committer: tuple[str, str] | None = None) -> str:
    committer = committer or author
    env = {
        "PATH": os.environ["PATH"], "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1], "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": committer[0], "GIT_COMMITTER_EMAIL": committer[1],
        "GIT_COMMITTER_DATE": date,
    }
    result = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True,
                            capture_output=True, text=True)
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: c1 (text) → c2 (binary + rename) ; side: c3 ; merge c4 ; c5 with a -05:00 offset."""
    path = tmp_path / "clone"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "notes.txt").write_text(f"line one\n{CANARY_CONTENT}\n", encoding="utf-8")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", f"{CANARY_SUBJECT}\n\n{CANARY_BODY}",
        date="2024-01-02T10:00:00+02:00")
    (path / "logo.bin").write_bytes(bytes(range(256)))
    git(path, "mv", "notes.txt", "renamed.txt")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "binary and rename", date="2024-01-03T10:00:00+00:00",
        author=("Ана Петрова", "ana@example.com"), committer=("CI", "ci@example.com"))
    git(path, "checkout", "-q", "-b", "side")
    (path / "side.txt").write_text("a\nb\nc\n", encoding="utf-8")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "side work", date="2024-01-04T10:00:00+00:00")
    git(path, "checkout", "-q", "main")
    (path / "renamed.txt").write_text("line one\nchanged\n", encoding="utf-8")
    git(path, "commit", "-q", "-am", "edit on main", date="2024-01-04T11:00:00+00:00")
    git(path, "merge", "-q", "--no-ff", "-m", f"merge {CANARY_SUBJECT}", "side",
        date="2024-01-05T10:00:00+00:00")
    return path


def test_records_carry_header_fields_and_numstat_totals(repo: Path) -> None:
    records = list(read_git_commits(str(repo)))
    assert len(records) == 5
    merge, edit, side, binary, first = records  # newest first (by date, then topology)
    assert len(merge["parents"]) == 2
    assert merge["files_changed"] is None and merge["insertions"] is None
    assert (edit["files_changed"], edit["insertions"], edit["deletions"]) == (1, 1, 1)
    assert (side["files_changed"], side["insertions"]) == (1, 3)
    assert binary["author_name"] == "Ана Петрова"
    assert binary["committer_name"] == "CI" and binary["committer_email"] == "ci@example.com"
    assert binary["files_changed"] == 2 and binary["binary_files_changed"] == 1
    assert (binary["insertions"], binary["deletions"]) == (0, 0)  # a pure rename
    assert first["parents"] == [] and first["author_name"] == "Zoë Ünicode"
    assert first["author_date"] == "2024-01-02T10:00:00+02:00"
    assert (first["files_changed"], first["insertions"], first["deletions"]) == (1, 2, 0)
    assert binary["parents"] == [first["sha"]]


def test_no_message_and_no_content_is_read(repo: Path) -> None:
    records = list(read_git_commits(str(repo)))
    text = repr(records)
    assert not any(canary in text for canary in CANARIES)
    rows = list(project_many("git_commits", records, "conn-1", PiiScrubber()))
    assert len(rows) == 5
    assert not any(canary in repr(rows) for canary in CANARIES)


def test_projected_rows_keep_utc_times_and_offsets(repo: Path) -> None:
    path = repo
    (path / "late.txt").write_text("x\n", encoding="utf-8")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "late", date="2024-01-06T20:00:00-05:00")
    newest = next(project_many("git_commits", read_git_commits(str(path)), "c", PiiScrubber()))
    assert newest["authored_at"] == datetime(2024, 1, 7, 1, 0)
    assert newest["author_utc_offset_minutes"] == -300


def test_since_limits_to_newer_commits(repo: Path) -> None:
    shas = [r["sha"] for r in read_git_commits(str(repo), since="2024-01-04T00:00:00Z")]
    assert len(shas) == 3
    with pytest.raises(GitReadError, match="not an ISO-8601 date"):
        list(read_git_commits(str(repo), since="last tuesday"))


def test_stopping_early_does_not_hang(repo: Path) -> None:
    records = read_git_commits(str(repo))
    assert len(next(records)["sha"]) == 40
    records.close()


def test_empty_repository_has_no_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assert list(read_git_commits(str(tmp_path))) == []


def test_missing_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(GitReadError, match=f"{missing} does not exist.*--path"):
        list(read_git_commits(str(missing)))


def test_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitReadError, match=f"{plain} is not a git repository"):
        list(read_git_commits(str(plain)))


def test_subfolder_of_a_clone_points_at_the_top(repo: Path) -> None:
    sub = repo / "sub"
    sub.mkdir()
    with pytest.raises(GitReadError, match=f"inside the git repository {repo}.*--path at {repo}"):
        list(read_git_commits(str(sub)))


def test_bare_clone_is_read(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    assert len(list(read_git_commits(str(bare)))) == 5


def test_git_not_installed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(GitReadError, match=f"cannot read {repo}: the git executable is not"):
        list(read_git_commits(str(repo)))


def test_git_failing_midway_is_reported_with_its_message(repo: Path) -> None:
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    (repo / ".git" / "objects" / first[:2] / first[2:]).unlink()
    with pytest.raises(GitReadError, match=f"git log failed in {repo} \\(exit 128\\): .*{first}"):
        list(read_git_commits(str(repo)))
