"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol: open a page,
wait until a condition holds in it, take a screenshot, collect console errors.

The protocol runs over a pipe (`--remote-debugging-pipe`: JSON messages separated by NUL bytes
on file descriptors 3 and 4), so no port is opened and nothing beyond the standard library is
needed. Chromium is started in its own session with a throw-away profile, and stopped as a
process group."""

from __future__ import annotations

import base64
import fcntl
import itertools
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.ui.processes import start_in_own_session, stop_process_group

CHROMIUM = Path("/usr/bin/chromium")
# Chromium reads commands from fd 3 and writes answers and events to fd 4.
COMMAND_FD, ANSWER_FD = 3, 4
ANSWER_SECONDS = 60


class BrowserError(RuntimeError):
    pass


class HeadlessChromium:
    def __init__(self, width: int = 1600, height: int = 1000, executable: Path = CHROMIUM):
        self.executable = executable
        self.width, self.height = width, height
        self.console_errors: list[str] = []
        self._ids = itertools.count(1)
        self._profile: str | None = None
        self._process: subprocess.Popen | None = None
        self._commands: int | None = None
        self._answers: int | None = None
        self._buffer = b""
        self._session: str | None = None

    def __enter__(self) -> HeadlessChromium:
        self._profile = tempfile.mkdtemp(prefix="sieve-chromium-")
        command = [str(self.executable), "--headless", "--no-sandbox", "--disable-gpu",
                   "--no-first-run", "--disable-extensions", "--disable-background-networking",
                   "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                   f"--window-size={self.width},{self.height}", "about:blank"]
        command_read, self._commands = os.pipe()
        self._answers, answer_write = os.pipe()

        def wire_pipes() -> None:  # in the child, before exec
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (command_read, answer_write)]
            os.dup2(high[0], COMMAND_FD)
            os.dup2(high[1], ANSWER_FD)

        try:
            self._process = start_in_own_session(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(COMMAND_FD, ANSWER_FD), preexec_fn=wire_pipes)
        finally:
            os.close(command_read)
            os.close(answer_write)
        try:
            self._attach_to_a_page()
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            stop_process_group(self._process, grace_seconds=10)
        for fd in (self._commands, self._answers):
            if fd is not None:
                os.close(fd)
        self._commands = self._answers = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _attach_to_a_page(self) -> None:
        target = self.call("Target.createTarget", url="about:blank", browser_level=True)
        attached = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True,
                             browser_level=True)
        self._session = attached["sessionId"]

    def call(self, method: str, browser_level: bool = False, **params) -> dict:
        """One DevTools command (to the page, unless ``browser_level``); events arriving
        meanwhile are inspected for errors."""
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params}
        if not browser_level:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._next_message(method)
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise BrowserError(f"{method} failed: {answer['error']}")
                return answer.get("result", {})
            self._note_event(answer)

    def _next_message(self, waiting_for: str) -> dict:
        deadline = time.monotonic() + ANSWER_SECONDS
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._answers], [], [], max(remaining, 0))
            if not ready:
                raise BrowserError(f"Chromium did not answer {waiting_for} within "
                                   f"{ANSWER_SECONDS}s")
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited while answering {waiting_for}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _note_event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.console_errors.append(f"uncaught: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            self.console_errors.append("console.error: " + " ".join(args))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.console_errors.append(f"{params['entry']['source']}: "
                                       f"{params['entry']['text']}")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", what=f"{url} to load")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluating {expression!r} failed: "
                               f"{result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, condition: str, *, what: str, timeout: float = 60) -> None:
        """Until the JavaScript ``condition`` is true in the page."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"Boolean({condition})"):
            if time.monotonic() > deadline:
                raise BrowserError(f"gave up after {timeout:.0f}s waiting for {what}")
            time.sleep(0.25)

    def wait_for_text(self, *texts: str, timeout: float = 60) -> None:
        condition = " && ".join(f"document.body.innerText.includes({json.dumps(t)})"
                                for t in texts)
        self.wait_for(f"document.body && {condition}", what=f"text {texts}", timeout=timeout)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
