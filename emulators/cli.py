"""``serve``: run the emulators in the foreground until SIGTERM/SIGINT (``sieve emulate``).

Also runnable directly: ``python -m emulators.cli --scale demo --port 8765``.
"""

from __future__ import annotations

import argparse
import signal
import threading

from emulators.org import SCALES
from emulators.server import APIS, EmulatorServer


def serve(scale: str, port: int, seed: int, host: str = "127.0.0.1") -> None:
    """Serve all four APIs on ``host:port`` (0 picks a free port). Once listening, print one
    line per API, ``<api> <base-url> <credential>`` (Jira's credential is ``email:token``),
    then block until SIGTERM or SIGINT and stop cleanly. Call from the main thread."""
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = EmulatorServer(scale=scale, seed=seed, host=host, port=port)
    try:
        server.start()
        for api in APIS:
            print(f"{api} {server.base_url(api)} {server.credential_line(api)}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the GitHub/GitLab/Jira/Slack emulators.")
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        serve(args.scale, args.port, args.seed, args.host)
    except OSError as error:
        parser.exit(1, f"{error}\n")


if __name__ == "__main__":
    main()
