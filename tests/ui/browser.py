"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol: open a page,
wait until a condition holds in it, take a screenshot, collect console errors.

Started in its own session with a throw-away profile, and stopped as a process group."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from websockets.sync.client import connect

from tests.ui.processes import start_in_own_session, stop_process_group

CHROMIUM = Path("/usr/bin/chromium")


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
        self._socket = None

    def __enter__(self) -> HeadlessChromium:
        self._profile = tempfile.mkdtemp(prefix="sieve-chromium-")
        command = [str(self.executable), "--headless", "--no-sandbox", "--disable-gpu",
                   "--no-first-run", "--disable-extensions", "--disable-background-networking",
                   "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                   f"--user-data-dir={self._profile}",
                   f"--window-size={self.width},{self.height}", "about:blank"]
        self._process = start_in_own_session(command, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        try:
            self._socket = connect(self._page_websocket(), max_size=None, open_timeout=30)
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._process is not None:
            stop_process_group(self._process, grace_seconds=10)
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _page_websocket(self) -> str:
        """Chromium writes its DevTools port to the profile once listening."""
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise BrowserError(f"{self.executable} did not start its DevTools endpoint")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")

    def call(self, method: str, **params) -> dict:
        """One DevTools command; events arriving meanwhile are inspected for errors."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self._note_event(message)

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
