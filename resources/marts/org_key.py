"""Hands an organization's data key to its dbt process without an environment variable.

The parent serves the key on a Unix socket in the org's private dbt directory (mode 0700) for
the length of one dbt invocation, to processes of the same user only; the socket's path (not a
secret) reaches dbt as a ``--vars`` entry. Inside dbt, ``resources.marts.duckdb_plugin`` reads
the key and puts it into the ATTACH options of the org's file before DuckDB connects. So the key
is never in this process's ``os.environ``, in the dbt process's environment, in argv or in a
file.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from resources.security.vault import Secret

_PEER_CREDENTIALS = struct.Struct("3i")


@contextmanager
def serve_org_key(directory: Path, key: Secret) -> Iterator[Path]:
    """Serve ``key`` on a fresh socket under ``directory`` until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / f"key-{secrets.token_hex(8)}.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o600)
    server.listen(8)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, key, stop), daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        server.close()
        thread.join(timeout=5)
        path.unlink(missing_ok=True)


def _serve(server: socket.socket, key: Secret, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            peer, _ = server.accept()
        except OSError:
            return
        with peer:
            if _same_user(peer):
                peer.sendall(key.reveal().encode())


def _same_user(peer: socket.socket) -> bool:
    credentials = peer.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEER_CREDENTIALS.size)
    _pid, uid, _gid = _PEER_CREDENTIALS.unpack(credentials)
    return uid == os.getuid()


def fetch_org_key(path: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(path)
        chunks = []
        while chunk := client.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()
