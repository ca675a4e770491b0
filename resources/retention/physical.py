"""Physical erasure: DuckDB keeps deleted rows' bytes in its file until the file is rewritten.

``rewrite_database`` copies the live contents of an org's database into a fresh file encrypted
with the same org key (``COPY FROM DATABASE`` copies schemas, tables with their keys, views
and macros, never deleted rows or free blocks), then swaps it in atomically. The old file is
overwritten with zeros before it is unlinked, so its blocks do not linger on disk either.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from resources.errors import SieveError
from resources.security.vault import Secret
from resources.storage.metadata_store import DATABASE_ALIAS, attach_encrypted_sql, connect_encrypted

FRESH_ALIAS = "fresh"
REWRITE_SUFFIX = ".rewrite"
RETIRED_SUFFIX = ".retired"
_CHUNK = 1 << 20


class RewriteError(SieveError):
    pass


def shred_file(path: Path) -> int:
    """Overwrite a file with zeros, flush it, unlink it; returns the bytes overwritten."""
    path = Path(path)
    if not path.exists():
        return 0
    size = path.stat().st_size
    with open(path, "r+b", buffering=0) as handle:
        zeros = bytes(_CHUNK)
        for offset in range(0, size, _CHUNK):
            handle.write(zeros[: min(_CHUNK, size - offset)])
        os.fsync(handle.fileno())
    path.unlink()
    return size


def shred_tree(directory: Path) -> int:
    """Shred every file under a directory, then remove the directories."""
    directory = Path(directory)
    if not directory.exists():
        return 0
    total = 0
    for path in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file() and not path.is_symlink():
            total += shred_file(path)
        elif path.is_symlink():
            path.unlink()
        else:
            path.rmdir()
    directory.rmdir()
    return total


def shred_leftovers(database_path: Path) -> int:
    """Shred what an interrupted rewrite may have left beside the database."""
    total = 0
    for suffix in (REWRITE_SUFFIX, REWRITE_SUFFIX + ".wal", RETIRED_SUFFIX):
        total += shred_file(Path(str(database_path) + suffix))
    return total


def rewrite_database(database_path: Path, key: Secret) -> dict[str, int]:
    """Copy the org's database into a fresh encrypted file and swap it in atomically.

    The caller must hold no connection to the file (DuckDB allows one writer). Returns sizes
    before and after, for the certificate.
    """
    database_path = Path(database_path)
    shred_leftovers(database_path)
    fresh = Path(str(database_path) + REWRITE_SUFFIX)
    retired = Path(str(database_path) + RETIRED_SUFFIX)
    before = database_path.stat().st_size
    connection = connect_encrypted(database_path, key)
    try:
        connection.execute(attach_encrypted_sql(fresh, FRESH_ALIAS, key))
        connection.execute(f"COPY FROM DATABASE {DATABASE_ALIAS} TO {FRESH_ALIAS}")
        connection.execute(f"CHECKPOINT {FRESH_ALIAS}")
        connection.execute(f"DETACH {FRESH_ALIAS}")
    except duckdb.Error as error:
        connection.close()
        shred_file(fresh)
        raise RewriteError(f"Rewriting {database_path} failed ({type(error).__name__}); the "
                           "original file is untouched and the deletion can be rerun.") from None
    connection.close()
    with open(fresh, "rb") as handle:
        os.fsync(handle.fileno())
    # Keep the old inode reachable until the swap is done, then shred it.
    os.link(database_path, retired)
    os.replace(fresh, database_path)
    _fsync_directory(database_path.parent)
    shred_file(retired)
    shred_file(Path(str(database_path) + ".wal"))
    return {"bytes_before": before, "bytes_after": database_path.stat().st_size}


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def withdraw_exports(org_dir: Path) -> int:
    """Exports are published snapshots of the marts; after a deletion changed the marts every
    generation of them is shredded (the next export run republishes them from the cleaned
    marts). Returns the number of files shredded."""
    exports = Path(org_dir) / "exports"
    if not exports.exists():
        return 0
    files = {p.resolve() for p in exports.rglob("*") if p.is_file()}
    shred_tree(exports)
    return len(files)
