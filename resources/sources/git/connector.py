"""Reads commit metadata from a local git clone, streaming `git log`.

Only header fields are asked of git (hashes, parents, identities, ISO dates) plus
`--numstat` line counts. Commit messages (subject or body) and patches are never requested,
so they never enter this process; file names appear in numstat output and are counted,
never kept.

Each record is a dict shaped for the `git_commits` entity in `resources.sources.git.schema`::

    {"sha", "parents", "author_name", "author_email", "author_date",
     "committer_name", "committer_email", "committer_date",
     "files_changed", "binary_files_changed", "insertions", "deletions"}

Merge commits (git shows no diff for them by default) and empty commits carry no numstat,
so their counts are None.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from resources.errors import SieveError
from resources.sources.connector import Connector, RawBatch

# Header fields only, separated by unit separators; each commit starts with a record
# separator so its numstat lines can be told from the next header.
_FIELDS = ("sha", "parents", "author_name", "author_email", "author_date",
           "committer_name", "committer_email", "committer_date")
_FORMAT = "%x1e" + "%x1f".join(("%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI"))
_RECORD_START = "\x1e"
_ERROR_TAIL_LINES = 20


class GitReadError(SieveError):
    """The clone cannot be read; the message names the path and what to do."""


def read_git_commits(path: str, since: str | None = None) -> Iterator[dict]:
    """Yield one raw commit record per commit reachable from HEAD, newest first.

    `since` is an ISO-8601 date or timestamp; only commits committed after it are read.
    The output of git is consumed line by line, so memory does not grow with the
    repository.
    """
    repo = _checked_repository(path)
    if not _has_commits(repo):
        return
    command = [
        "git", "-C", str(repo),
        # Settings a user's config could change and that would alter the output.
        "-c", "log.showSignature=false", "-c", "core.quotePath=true",
        "log", "HEAD", f"--format={_FORMAT}", "--numstat", "--no-color", "--find-renames",
        "--no-ext-diff", "--no-textconv",
    ]
    if since is not None:
        command.append(f"--since={_checked_since(since)}")
    process = _start(command, repo)
    # Drained on the side: warnings (rename limits on huge commits) could otherwise fill the
    # pipe and stall git while we wait on stdout. Only the last lines are kept for errors.
    error_tail: deque[str] = deque(maxlen=_ERROR_TAIL_LINES)
    drain = threading.Thread(target=_drain, args=(process.stderr, error_tail), daemon=True)
    drain.start()
    finished = False
    try:
        yield from _parse_log(io.TextIOWrapper(process.stdout, encoding="utf-8",
                                               errors="replace"))
        finished = True
    finally:
        # Also reached when the consumer stops early: git then ends on a closed pipe.
        process.stdout.close()
        return_code = process.wait()
        drain.join()
        process.stderr.close()
    if finished and return_code != 0:
        error = " ".join(error_tail).strip()
        raise GitReadError(f"git log failed in {repo} (exit {return_code}): {error}")


def _drain(stream: IO[bytes], tail: deque[str]) -> None:
    for line in stream:
        tail.append(line.decode("utf-8", "replace").strip())


def _checked_repository(path: str) -> Path:
    repo = Path(path).expanduser()
    if not repo.exists():
        raise GitReadError(
            f"git clone path {repo} does not exist: check the --path given to `sieve connect`"
        )
    if not repo.is_dir():
        raise GitReadError(f"git clone path {repo} is not a directory: point --path at a clone")
    toplevel = _run(["git", "-C", str(repo), "rev-parse", "--show-toplevel"], repo)
    if toplevel.returncode == 0:
        root = Path(toplevel.stdout.decode("utf-8", "replace").strip())
        if root.resolve() != repo.resolve():
            raise GitReadError(
                f"{repo} is inside the git repository {root} but is not its top level: "
                f"point --path at {root}"
            )
        return repo
    bare = _run(["git", "-C", str(repo), "rev-parse", "--is-bare-repository"], repo)
    if bare.returncode == 0 and bare.stdout.strip() == b"true":
        return repo
    raise GitReadError(
        f"{repo} is not a git repository: point --path at a clone (a folder with a .git "
        "directory, or a bare repository)"
    )


def _has_commits(repo: Path) -> bool:
    return _run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "HEAD"],
                repo).returncode == 0


def _checked_since(since: str) -> str:
    try:
        datetime.fromisoformat(since)
    except ValueError:
        raise GitReadError(
            f"since={since!r} is not an ISO-8601 date or timestamp (e.g. 2024-01-31T00:00:00Z)"
        ) from None
    return since


def _environment() -> dict[str, str]:
    # No pager, no prompts, no localised messages in errors we pass on.
    return {**os.environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def _run(command: list[str], repo: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, env=_environment(), check=False)
    except FileNotFoundError:
        raise _git_missing(repo) from None


def _start(command: list[str], repo: Path) -> subprocess.Popen:
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_environment())
    except FileNotFoundError:
        raise _git_missing(repo) from None


def _git_missing(repo: Path) -> GitReadError:
    return GitReadError(
        f"cannot read {repo}: the git executable is not installed or not on PATH; install git"
    )


def _parse_log(lines: Iterator[str]) -> Iterator[dict]:
    record: dict | None = None
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith(_RECORD_START):
            if record is not None:
                yield record
            record = _header(line[1:])
        elif line and record is not None:
            _add_numstat(record, line)
    if record is not None:
        yield record


def _header(line: str) -> dict:
    values = line.split("\x1f")
    if len(values) != len(_FIELDS):
        raise GitReadError(f"unexpected git log header with {len(values)} fields")
    record = dict(zip(_FIELDS, values))
    record["parents"] = record["parents"].split()
    record.update(files_changed=None, binary_files_changed=None, insertions=None, deletions=None)
    return record


def _add_numstat(record: dict, line: str) -> None:
    """One "<added>\t<deleted>\t<path>" line; binary files show "-" for both counts."""
    added, deleted, _path = line.split("\t", 2)
    if record["files_changed"] is None:
        record.update(files_changed=0, binary_files_changed=0, insertions=0, deletions=0)
    record["files_changed"] += 1
    if added == "-":
        record["binary_files_changed"] += 1
    else:
        record["insertions"] += int(added)
        record["deletions"] += int(deleted)


def head_sha(path: str) -> str | None:
    """The commit HEAD points at, or None for a repository without commits."""
    repo = _checked_repository(path)
    done = _run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "HEAD"], repo)
    return done.stdout.decode().strip() if done.returncode == 0 else None


class GitConnector(Connector):
    """A local clone (settings {"path"}). No network, no credentials.

    Incremental by HEAD: when HEAD has not moved since the last durable sync, nothing is read.
    Otherwise the whole history is streamed again in pages of ``PAGE_SIZE`` commits — cheap for
    git, and upserts by sha make it exactly-once; a date cursor would miss old commits merged
    late.
    """

    source = "git"
    entities = ("git_commits",)
    PAGE_SIZE = 2000

    def check(self) -> str:
        sha = head_sha(self.context.settings["path"])
        return f"git repository at {self.context.settings['path']} (HEAD {sha[:12] if sha else 'empty'})"

    def fetch(self) -> Iterator[RawBatch]:
        path = self.context.settings["path"]
        head = head_sha(path)
        if head is None or head == self.context.state.cursor("head"):
            yield RawBatch("git_commits", [], not_modified=head is not None)
            return
        page: list[dict] = []
        for record in read_git_commits(path):
            page.append(record)
            if len(page) == self.PAGE_SIZE:
                yield RawBatch("git_commits", page)
                page = []
        yield RawBatch("git_commits", page, cursors={"head": head})
