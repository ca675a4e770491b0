"""The allow-list of a local git clone's commits (records from the git connector)."""

from __future__ import annotations

from resources.sources.allow_list import (
    Entity,
    col,
    ts,
    utc_offset_minutes,
)

GIT_COMMITS = Entity(
    "git_commits", "git", "git log --numstat (header fields only)",
    (
        col("sha", "VARCHAR"), col("parent_shas", "VARCHAR[]", "parents"),
        col("author_name", "VARCHAR", scrub=True), col("author_email", "VARCHAR"),
        ts("authored_at", "author_date"),
        col("author_utc_offset_minutes", "SMALLINT", "author_date", utc_offset_minutes),
        col("committer_name", "VARCHAR", scrub=True), col("committer_email", "VARCHAR"),
        ts("committed_at", "committer_date"),
        col("committer_utc_offset_minutes", "SMALLINT", "committer_date", utc_offset_minutes),
        col("files_changed", "INTEGER"), col("binary_files_changed", "INTEGER"),
        col("insertions", "INTEGER"), col("deletions", "INTEGER"),
    ),
    ("sha",),
    description="Commits of a local clone: identity, times with their UTC offset, and "
    "numstat totals (merges have none). No message, no diff, no file names or contents.",
)

ENTITIES = (
    GIT_COMMITS,
)
