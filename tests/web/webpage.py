"""Helpers for the drawing page's tests (tests/web/): servers as a person starts them, raw
HTTP, a browser tab, and a stand-in server for answers the real one rarely gives."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ..conftest import TIMEOUT

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "sketch_server" / "static"
CHROMIUM = Path(os.environ.get("AI_SKETCHER_CHROMIUM", "/usr/bin/chromium"))
# Root in a container: no sandbox; nothing may reach out of the machine either.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.is_file():
        return (
            f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does) or point "
            "AI_SKETCHER_CHROMIUM at a Chromium"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[test]'"
    return None


BROWSER_MISSING = browser_missing()
needs_browser = pytest.mark.skipif(BROWSER_MISSING is not None, reason=BROWSER_MISSING or "")


class Served:
    """`python -m sketch_server --port 0` in a subprocess: its addresses and its stderr lines."""

    def __init__(self, *args: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sketch_server", "--port", "0", "--device", "cpu", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("ready "):
            self.close()
            pytest.fail(f"the server did not start: {line!r} {''.join(self.err)}")
        self.ready_line = line
        self.ws_url = line.split()[1]
        self.port = int(self.ws_url.rsplit(":", 1)[1])
        self.page_url = f"http://127.0.0.1:{self.port}/"
        self.wait_for_err(f"open {self.page_url} in a browser")

    def _drain(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.err.append(line)

    def wait_for_err(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            found = [line for line in self.err if text in line]
            if found:
                return found[0]
            time.sleep(0.02)
        pytest.fail(f"the server's stderr never said {text!r}: {''.join(self.err)}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One raw request (the path is sent exactly as given, no normalising): status, headers,
    body."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
            "",
            "",
        ]
        sock.sendall("\r\n".join(lines).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, body


class Tab:
    """A page in a fresh context, with every console error and uncaught exception it logs."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(
            **{"viewport": {"width": 1280, "height": 800}, "accept_downloads": True, **context}
        )
        self.context.set_default_timeout(TIMEOUT * 1000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.frames: list[dict[str, Any]] = []  # what the server sent, in order
        self.sent: list[dict[str, Any]] = []  # what the page sent, in order
        self.wire: list[tuple[str, dict[str, Any]]] = []  # both, ("sent" or "received", msg)
        self.page.on("websocket", self._socket)

    def _socket(self, ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            self.frames.append(json.loads(payload))
            self.wire.append(("received", self.frames[-1]))

        def sent(payload: str | bytes) -> None:
            self.sent.append(json.loads(payload))
            self.wire.append(("sent", self.sent[-1]))

        ws.on("framereceived", received)
        ws.on("framesent", sent)

    def open(self, url: str, state: str = "ready") -> None:
        self.page.goto(url)
        self.wait(f"window.sketcher && window.sketcher.state() === {json.dumps(state)}")

    def wait(self, condition: str, timeout: float = TIMEOUT) -> None:
        """Wait until a JavaScript expression holds (a function: the page's CSP forbids eval)."""
        self.page.wait_for_function(f"() => {condition}", timeout=timeout * 1000)

    def until(self, condition: Any, timeout: float = TIMEOUT) -> None:
        """Wait until a Python condition holds, letting Playwright run its handlers meanwhile."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting"
            self.page.wait_for_timeout(30)

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def draw(self, points: list[tuple[float, float]]) -> None:
        """One mouse stroke through canvas-relative points."""
        box = self.page.locator("#paper").bounding_box()
        at = [(box["x"] + x, box["y"] + y) for x, y in points]
        self.page.mouse.move(*at[0])
        self.page.mouse.down()
        for x, y in at[1:]:
            self.page.mouse.move(x, y)
        self.page.mouse.up()

    def keys(self, *keys: str) -> None:
        """Press shortcut keys with the canvas focused (not a field that keeps the keys)."""
        self.page.locator("#paper").focus()
        for key in keys:
            self.page.keyboard.press(key)

    def close(self) -> None:
        self.context.close()


def head(cx: float, cy: float) -> list[tuple[float, float]]:
    """A head's outline: an oval of 41 points."""
    return [
        (cx + 110 * math.cos(2 * math.pi * i / 40), cy + 130 * math.sin(2 * math.pi * i / 40))
        for i in range(41)
    ]


def svg_strokes(svg: str) -> list[list[list[float]]]:
    """The strokes of an exported SVG, read back from each path's "M x y L x y ..." data."""
    root = ET.fromstring(svg)
    return [
        [[float(x), float(y)] for x, y in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", p.get("d"))]
        for p in root.iter("{http://www.w3.org/2000/svg}path")
    ]


def close_to(a: list[list[float]], b: list[list[float]], tol: float = 0.006) -> bool:
    return len(a) == len(b) and all(abs(p - q) <= tol for u, v in zip(a, b) for p, q in zip(u, v))


MOCK_MODEL = {
    "name": "objects",
    "description": "",
    "conditions": {"category": ["cat"]},
    "modes": ["complete", "generate", "refine"],
    "library": {"size": 3, "licence": "CC BY 4.0", "source": "test"},
}
UNKNOWN_GUIDE = {
    "type": "error",
    "code": "bad_request",  # what a server from before guide says
    "message": "unknown message type 'guide'; expected one of hello, suggest, cancel",
}


class MockServer:
    """Answers hello with a welcome and keeps every other message for the test to answer."""

    def __init__(
        self,
        page: Any,
        guide_reply: dict[str, Any] | None = None,
        models: list[dict[str, Any]] | None = None,
    ) -> None:
        self.asked: list[dict[str, Any]] = []
        self.route: Any = None
        self.guide_reply = guide_reply  # answer every guide at once with this, else hold it
        self.models = models or [MOCK_MODEL]
        page.route_web_socket(re.compile(r".*/ws$"), self._connect)

    def _connect(self, route: Any) -> None:
        self.route = route
        route.on_message(self._message)

    def _message(self, frame: str | bytes) -> None:
        msg = json.loads(frame)
        if msg["type"] == "hello":
            self.send(
                {
                    "type": "welcome",
                    "protocol": 1,
                    "server": "mock/1",
                    "device": "cpu",
                    "models": self.models,
                }
            )
        elif msg["type"] == "guide" and self.guide_reply is not None:
            self.send(self.guide_reply)
        else:
            self.asked.append(msg)

    def send(self, msg: dict[str, Any]) -> None:
        self.route.send(json.dumps(msg))

    def questions(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.asked if m["type"] == kind]


class WireLog:
    """The real server, through a Playwright WebSocket route that keeps what each side sent, in
    order (the page's own frames, untouched)."""

    def __init__(self, page: Any) -> None:
        self.wire: list[tuple[str, dict[str, Any]]] = []
        page.route_web_socket(re.compile(r".*/ws$"), self._connect)

    def _connect(self, route: Any) -> None:
        server = route.connect_to_server()

        def up(frame: str | bytes) -> None:
            msg = json.loads(frame)
            self.wire.append(("sent", msg))
            server.send(frame)

        def down(frame: str | bytes) -> None:
            self.wire.append(("received", json.loads(frame)))
            route.send(frame)

        route.on_message(up)
        server.on_message(down)

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [m for d, m in self.wire if d == "sent" and m["type"] == kind]

    def received(self, kind: str) -> list[dict[str, Any]]:
        return [m for d, m in self.wire if d == "received" and m["type"] == kind]


LAYOUT = """() => {
  const inside = (el) => { const r = el.getBoundingClientRect();
    return r.left >= 0 && r.right <= innerWidth + 0.5 && r.width > 0; };
  return {overflow: document.documentElement.scrollWidth - innerWidth,
          canvas: document.getElementById('paper').getBoundingClientRect().toJSON(),
          outside: [...document.querySelectorAll('button, select, input')]
            .filter((el) => el.offsetParent && !inside(el)).map((el) => el.id || el.textContent)};
}"""
