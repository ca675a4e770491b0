"""Hands an organization's data key to its dbt process without an environment variable.

The parent serves the key on a Unix socket in a fresh private directory (mode 0700, under the
system's temp directory: socket paths are limited to 108 bytes) for the length of one dbt
invocation, to processes of the same user only; the socket's path (not a
secret) reaches dbt as a ``--vars`` entry. Inside dbt, ``resources.marts.duckdb_plugin`` reads
the key and puts it into the ATTACH options of the org's file before DuckDB connects. So the key
is never in this process's ``os.environ``, in the dbt process's environment, in argv or in a
file.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resources.security.vault import Secret

_PEER_CREDENTIALS = struct.Struct("3i")
SERVING_THREAD = "sieve-org-key"


@contextmanager
def serve_org_key(key: Secret) -> Iterator[Path]:
    """Serve ``key`` on a fresh socket until the block ends; yields the socket's path."""
    directory = Path(tempfile.mkdtemp(prefix="sieve-key-"))  # mode 0700
    path = directory / "org.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, key, stop), daemon=True,
                              name=SERVING_THREAD)
    try:
        server.bind(str(path))
        path.chmod(0o600)
        server.listen(8)
        thread.start()
        yield path
    finally:
        stop.set()
        _wake(server)
        server.close()
        if thread.is_alive():
            thread.join(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)


def _wake(server: socket.socket) -> None:
    """Return the serving thread from its blocking ``accept()``. Closing the socket does not:
    on Linux the thread stayed blocked, and every build waited out the 5 s join for it."""
    try:
        server.shutdown(socket.SHUT_RDWR)
    except OSError:  # never listened, or a platform that refuses it on a listening socket
        pass


def _serve(server: socket.socket, key: Secret, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            peer, _ = server.accept()
        except OSError:
            return
        with peer:
            if peer_is_same_user(peer):
                peer.sendall(key.reveal().encode())


def peer_is_same_user(peer: socket.socket) -> bool:
    """Whether the process at the other end of a Unix socket runs as this process's user."""
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
