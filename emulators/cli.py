"""``serve``: run the emulators in the foreground until SIGTERM/SIGINT (``sieve emulate``), or
until no request came for ``--idle-exit`` seconds (how a sync restarts the demo's emulator on
demand without leaving it running for ever).

Also runnable directly: ``python -m emulators.cli --scale demo --port 8765 --anchor 2026-11-16``.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from datetime import UTC, date, datetime

from emulators.org import SCALES, Org
from emulators.server import APIS, EmulatorServer


def serve(scale: str, port: int, seed: int, host: str = "127.0.0.1", *,
          anchor: date | None = None, idle_exit: float = 0) -> None:
    """Serve all four APIs on ``host:port`` (0 picks a free port) for the org of ``scale``,
    ``seed`` and ``anchor`` (default: today, UTC). Once listening, print one line per API,
    ``<api> <base-url> <credential>`` (Jira's credential is ``email:token``), then block until
    SIGTERM or SIGINT, or until ``idle_exit`` seconds (0: never) pass without a request, and
    stop cleanly. Call from the main thread."""
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    org = Org(scale, seed, anchor or today_utc())
    server = EmulatorServer(scale=scale, seed=seed, host=host, port=port, org=org)
    try:
        server.start()
        for api in APIS:
            print(f"{api} {server.base_url(api)} {server.credential_line(api)}", flush=True)
        seen, last_request = 0, time.monotonic()
        while not stop.wait(0.5):
            served = server.count_requests()
            if served != seen:
                seen, last_request = served, time.monotonic()
            elif idle_exit and time.monotonic() - last_request >= idle_exit:
                break
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def today_utc() -> date:
    return datetime.now(UTC).date()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the GitHub/GitLab/Jira/Slack emulators.")
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--anchor", type=date.fromisoformat, default=None,
                        help="the day the org's history ends, YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--idle-exit", type=float, default=0,
                        help="stop after this many seconds without a request (default: never)")
    args = parser.parse_args(argv)
    try:
        serve(args.scale, args.port, args.seed, args.host, anchor=args.anchor,
              idle_exit=args.idle_exit)
    except OSError as error:
        parser.exit(1, f"{error}\n")


if __name__ == "__main__":
    main()
