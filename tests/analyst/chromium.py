"""Headless Chromium (Debian's `chromium` package) driven from its command line: dump the DOM,
take a screenshot, and collect console messages from its log — no driver, no downloads.

Every run gets a fresh profile and the flags that keep Chromium off the network.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
QUIET_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0")
CONSOLE_LINE = re.compile(r":CONSOLE[:(]")


def require_chromium() -> Path:
    """Skip without Chromium — except under CI=true, where it must be installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (f"{CHROMIUM} is missing: install Debian's chromium package "
              "(apt-get install -y chromium) to run the browser tests")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires headless Chromium: {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Rendering:
    dom: str
    console: list[str]  # every console message the page produced


def run_chromium(page: Path, *arguments: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="sieve-chromium-") as profile:
        done = subprocess.run([str(require_chromium()), *QUIET_FLAGS,
                               f"--user-data-dir={profile}", *arguments, page.as_uri()],
                              capture_output=True, text=True, timeout=120, cwd=profile)
    if done.returncode != 0:
        raise AssertionError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout, done.stderr


def render(page: Path) -> Rendering:
    dom, log = run_chromium(page, "--dump-dom")
    return Rendering(dom, [line for line in log.splitlines() if CONSOLE_LINE.search(line)])


def screenshot(page: Path, out: Path, width: int = 1440, height: int = 4200) -> Path:
    run_chromium(page, f"--window-size={width},{height}", f"--screenshot={out}")
    return out


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) bytes of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and color_type in (2, 6) and interlace == 0, header
    channels = 4 if color_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - up_left
                closest = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up),
                              (abs(estimate - up_left), 2, up_left))[2]
                line[i] = (line[i] + closest) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(row) for row in rows]


def count_color(path: Path, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    width, _, rows = png_pixels(path)
    channels = len(rows[0]) // width
    found = 0
    for row in rows:
        for x in range(0, len(row), channels):
            if all(abs(row[x + c] - rgb[c]) <= tolerance for c in range(3)):
                found += 1
    return found
