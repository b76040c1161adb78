"""A real headless Chromium (Debian's ``chromium``, which scripts/test.sh installs), driven
over the DevTools protocol with aiohttp's WebSocket client (no other dependency): open a
page, collect every console error, uncaught exception, log error (CSP violations included)
and network request, evaluate expressions, take a screenshot.

    async with Chromium() as browser:
        page = await browser.open(path)       # file:// URL of a local file
        rects = await page.evaluate("...")   # returnByValue
        png = await page.screenshot()
        page.errors, page.requests
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

EXECUTABLE = os.environ.get("TCDYN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--remote-debugging-port=0")


def available() -> str | None:
    """Why Chromium cannot be used here, or None."""
    if not (Path(EXECUTABLE).is_file() or shutil.which(EXECUTABLE)):
        return f"{EXECUTABLE} is not installed (apt-get install -y chromium)"
    return None


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.loaded = asyncio.Event()

    def event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(f"exception: {details.get('exception', {}).get('description')}"
                               f" {details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                      for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"log: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Page.loadEventFired":
            self.loaded.set()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, session=self.session, **params)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self) -> bytes:
        height = await self.evaluate(
            "Math.ceil(document.body.getBoundingClientRect().bottom) + 16")
        width = await self.evaluate("document.documentElement.scrollWidth")
        await self.send("Emulation.setDeviceMetricsOverride", width=int(width),
                        height=int(height), deviceScaleFactor=1, mobile=False)
        shot = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])


class Chromium:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}

    async def __aenter__(self) -> Chromium:
        self._profile = tempfile.mkdtemp(prefix="tcdyn-chromium-")
        self._process = await asyncio.create_subprocess_exec(
            EXECUTABLE, *FLAGS, f"--user-data-dir={self._profile}", "about:blank",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = await asyncio.wait_for(self._devtools_url(), 60)
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _devtools_url(self) -> str:
        assert self._process.stderr is not None
        while True:
            line = (await self._process.stderr.readline()).decode(errors="replace")
            if not line:
                raise RuntimeError("chromium exited before its DevTools endpoint was up")
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                asyncio.get_running_loop().create_task(self._drain())
                return found.group(1)

    async def _drain(self) -> None:
        assert self._process.stderr is not None
        while await self._process.stderr.read(65536):
            pass

    async def _read(self) -> None:
        async for message in self._ws:
            data = message.json()
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("sessionId") in self._pages:
                self._pages[data["sessionId"]].event(data["method"], data.get("params", {}))

    async def send(self, method: str, session: str | None = None,
                   **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        await self._ws.send_json(message)
        reply = await asyncio.wait_for(future, 60)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    async def open(self, path: Path, width: int = 1400, height: int = 900) -> Page:
        """Load ``path`` in a new tab and wait for its load event."""
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"],
                                   flatten=True)
        page = self._pages[attached["sessionId"]] = Page(self, attached["sessionId"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            await page.send(f"{domain}.enable")
        await page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)
        await page.send("Page.navigate", url=path.resolve().as_uri())
        await asyncio.wait_for(page.loaded.wait(), 60)
        return page

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await self._ws.close()
        await self._http.close()
        if self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)
