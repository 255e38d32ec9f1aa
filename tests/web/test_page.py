"""The drawing page: served over HTTP by real servers and driven in a real browser.

The browser tests run Debian's Chromium (/usr/bin/chromium, or $AI_SKETCHER_CHROMIUM) through
Playwright and skip with the reason where either is missing. The servers are the real command
line (`python -m sketch_server`) with the shipped models, so the page is tested as a person
opens it. Set AI_SKETCHER_WEB_SCREENSHOT_OUT=docs/web-page.png to keep the README screenshot.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sketch_server.web import content_security_policy, page_origins
from wire import protocol

from ..conftest import TIMEOUT
from .webpage import (
    REPO,
    STATIC,
    Served,
    Tab,
    close_to,
    head,
    http_get,
    needs_browser,
    svg_strokes,
)

pytestmark = pytest.mark.timeout(180)
SCREENSHOT_ENV = "AI_SKETCHER_WEB_SCREENSHOT_OUT"


# --- HTTP, without a browser --------------------------------------------------------------


def test_the_page_is_served_with_types_and_a_strict_policy(served: Served) -> None:
    """GET / is the page, each shipped file has its type, and the page may talk only to us."""
    status, headers, body = http_get(served.port, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert body == (STATIC / "index.html").read_bytes()
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert f"connect-src 'self' ws://127.0.0.1:{served.port} ws://localhost:{served.port}" in csp
    assert headers["x-content-type-options"] == "nosniff"
    for name, kind in [
        ("app.js", "text/javascript"),
        ("style.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ]:
        status, headers, body = http_get(served.port, f"/{name}?v=1")
        assert status == 200 and headers["content-type"].startswith(kind), name
        assert body == (STATIC / name).read_bytes()
    etag = http_get(served.port, "/app.js")[1]["etag"]
    assert http_get(served.port, "/app.js", {"If-None-Match": etag})[0] == 304
    status, headers, body = http_get(served.port, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 1000
    status, headers, _ = http_get(served.port, "/", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/nope.js",
        "/../sketch_server/web.py",
        "/%2e%2e/web.py",
        "/static/app.js",
        "//etc/passwd",
        "/.hidden",
        "/index.html/",
    ],
)
def test_unknown_paths_are_404(served: Served, path: str) -> None:
    """Only the listed files are served: no other path, and no way out of the static folder."""
    status, headers, body = http_get(served.port, path)
    assert status == 404, (path, body)
    assert b"is not part of the drawing page" in body


def test_foreign_origins_are_refused_and_the_pages_own_are_let_in(served: Served) -> None:
    """The page's own origin on this port may open the WebSocket; other origins get 403."""
    for origin in (f"http://127.0.0.1:{served.port}", f"http://localhost:{served.port}"):
        with connect(served.ws_url + "/ws", origin=origin, open_timeout=TIMEOUT) as ws:  # type: ignore[arg-type]
            ws.send(json.dumps({"type": "hello", "protocol": 1, "client": "pytest/1"}))
            assert json.loads(ws.recv(TIMEOUT))["type"] == "welcome"
    for origin in (
        f"http://127.0.0.1:{served.port + 1}",
        "http://evil.example",
        f"https://127.0.0.1:{served.port}",
        "null",
    ):
        with pytest.raises(InvalidStatus) as refused:
            connect(served.ws_url, origin=origin, open_timeout=TIMEOUT)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403, origin
    assert http_get(served.port, "/", {"Origin": "http://evil.example"})[0] == 403


def test_the_pages_own_origins_follow_host() -> None:
    """A --host that names this machine on the network lets its page in; a wildcard does not
    add itself, and IPv6 literals stay out of the CSP (browsers reject them there)."""
    assert page_origins("127.0.0.1", 8737) == (
        "http://127.0.0.1:8737",
        "http://localhost:8737",
        "http://[::1]:8737",
    )
    assert page_origins("192.168.1.5", 80)[-1] == "http://192.168.1.5:80"
    assert page_origins("fe80::1", 80)[-1] == "http://[fe80::1]:80"
    assert len(page_origins("0.0.0.0", 80)) == len(page_origins("::", 80)) == 3
    csp = content_security_policy(page_origins("fe80::1", 80))
    assert "[" not in csp and "connect-src 'self' ws://127.0.0.1:80 ws://localhost:80;" in csp


def test_static_files_are_small_and_shipped() -> None:
    """The whole page stays under 200 KB, and pyproject ships every file of it."""
    sizes = {p.name: p.stat().st_size for p in STATIC.iterdir() if p.is_file()}
    assert "index.html" in sizes and sum(sizes.values()) < 200_000, sizes
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'sketch_server = \["static/\*"\]', pyproject), "package-data misses static/"


def test_the_page_holds_no_copies_of_the_wire(served: Served) -> None:
    """The page's version, protocol, ranges, defaults and guide k come from the server's
    /wire.js, made from the protocol itself; the shipped files hold no copies of them."""
    status, headers, body = http_get(served.port, "/wire.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    wire = json.loads(re.search(rb"Object\.freeze\((.*)\);", body)[1])
    assert wire == {
        "version": protocol.VERSION,
        "protocol": protocol.PROTOCOL_VERSION,
        "temperature": {"min": protocol.MIN_TEMPERATURE, "max": protocol.MAX_TEMPERATURE,
                        "default": protocol.DEFAULT_TEMPERATURE},
        "n": {"min": 1, "max": protocol.MAX_N, "default": protocol.DEFAULT_ALTERNATIVES},
        "strength": {"min": 0.0, "max": 1.0, "default": protocol.DEFAULT_STRENGTH},
        "guideK": protocol.DEFAULT_GUIDE_K,
    }  # fmt: skip
    html = (STATIC / "index.html").read_text()
    for name in ("variety", "alternatives", "strength"):
        tag = re.search(rf'<input id="{name}" type="range"([^>]*)>', html)
        assert tag and not re.search(r"\b(min|max|value)=", tag[1]), f"{name}: {tag}"
    scripts = "".join(p.read_text() for p in STATIC.glob("*.js"))
    assert protocol.VERSION not in scripts
    assert not re.search(r"protocol:\s*\d|\bk:\s*\d|max_points:\s*\d", scripts)


# --- in the browser -----------------------------------------------------------------------


@needs_browser
def test_draw_suggest_flip_accept_export(
    served: Served, tab: Tab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two strokes drawn, Suggest streams strokes in another colour, Next flips, Accept keeps
    the one on show after the artist's untouched strokes, and the SVG export holds them all."""
    tab.open(served.page_url)
    timing = tab.js("""() => ({...window.sketcher.timing(),
        dom: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd})""")
    with capsys.disabled():
        print(
            f"\n[web page] script ready {timing['ready']:.0f} ms, DOMContentLoaded "
            f"{timing['dom']:.0f} ms, welcome {timing['welcome']:.0f} ms after navigation"
        )
    assert timing["ready"] < 1000, f"the page took {timing['ready']:.0f} ms to become drawable"

    names = [m["name"] for m in tab.js("window.sketcher.models()")]
    assert names == ["objects", "faces", "quickdraw"]
    sliders = tab.js("""() => ["variety", "alternatives", "strength"].map((id) => {
        const e = document.getElementById(id); return [+e.min, +e.max, +e.defaultValue]; })""")
    assert sliders == [
        [protocol.MIN_TEMPERATURE, protocol.MAX_TEMPERATURE, protocol.DEFAULT_TEMPERATURE],
        [1, protocol.MAX_N, protocol.DEFAULT_ALTERNATIVES],
        [0, 1, protocol.DEFAULT_STRENGTH],
    ]
    tab.page.select_option("#model", "faces")
    tab.page.select_option("#condition-emotion", "happy")
    tab.page.locator("#alternatives").fill("2")
    tab.draw(head(470, 340))
    tab.draw([(425, 300), (440, 297), (452, 299)])
    artist = tab.js("window.sketcher.strokes()")
    assert [s["by"] for s in artist] == ["artist", "artist"] and len(artist[0]["points"]) > 30

    tab.page.get_by_role("button", name="Suggest").click()
    tab.wait("window.sketcher.suggestion() && window.sketcher.suggestion().done", 60)
    done = [f for f in tab.frames if f["type"] == "done"][-1]
    streamed = [f for f in tab.frames if f["type"] == "stroke" and f["id"] == done["id"]]
    assert streamed and all(tab.frames.index(s) < tab.frames.index(done) for s in streamed)
    suggestion = tab.js("window.sketcher.suggestion()")
    assert suggestion["mode"] == "complete" and suggestion["n"] == 2 and suggestion["shown"] == 0
    assert [[s["points"] for s in sample] for sample in suggestion["samples"]] == done["samples"]
    assert tab.js("window.sketcher.strokes()") == artist, "suggestions leave the strokes alone"
    assert "Alternative 1 of 2" in tab.js("window.sketcher.status()")
    shot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "web-page.png")
    tab.page.screenshot(path=str(shot))
    assert Image.open(shot).size == (1280, 800)

    tab.keys("ArrowRight")
    assert tab.js("window.sketcher.suggestion().shown") == 1
    tab.keys("Enter")
    strokes = tab.js("window.sketcher.strokes()")
    assert tab.js("window.sketcher.suggestion()") is None
    assert json.dumps(strokes[:2]) == json.dumps(artist), "the artist's strokes, byte for byte"
    accepted = strokes[2:]
    assert accepted and [s["points"] for s in accepted] == done["samples"][1]
    assert all(s["by"] == "model" for s in accepted)

    with tab.page.expect_download() as svg_download:
        tab.page.get_by_role("button", name="Export SVG").click()
    assert svg_download.value.suggested_filename == "sketch.svg"
    exported = svg_strokes(Path(svg_download.value.path()).read_text())
    assert len(exported) == len(strokes)
    assert all(close_to(e, s["points"]) for e, s in zip(exported, strokes))
    with tab.page.expect_download() as png_download:
        tab.page.get_by_role("button", name="Export PNG").click()
    png = Image.open(png_download.value.path())
    assert png.format == "PNG" and png.width > 200 and png.height > 200

    tab.keys("Control+z")
    assert tab.js("window.sketcher.strokes()") == artist, "one undo takes the accept back"
    assert tab.errors == []


@needs_browser
def test_reject_and_draw_leave_the_drawing_alone(served: Served, tab: Tab) -> None:
    """Draw (generate) on an empty page shows a sketch; Esc drops it and nothing is kept."""
    tab.open(served.page_url)
    tab.page.select_option("#condition-category", "cat")
    tab.page.locator("#alternatives").fill("1")
    tab.keys("d")
    tab.wait("window.sketcher.suggestion() && window.sketcher.suggestion().done", 60)
    assert tab.js("window.sketcher.suggestion().mode") == "generate"
    tab.keys("Escape")
    assert tab.js("window.sketcher.suggestion()") is None
    assert tab.js("window.sketcher.strokes()") == []
    assert tab.errors == []


@needs_browser
def test_a_page_from_another_origin_is_refused(served: Served, tab: Tab, tmp_path: Path) -> None:
    """A copy of the page on another local port, pointed at the server, is refused (403), and
    the status line says so in plain words."""
    shutil.copytree(STATIC, tmp_path / "copy")  # the page as the server serves it, wire.js too
    (tmp_path / "copy" / "wire.js").write_bytes(http_get(served.port, "/wire.js")[2])
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "copy"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        origin = f"http://127.0.0.1:{other.server_address[1]}"
        tab.open(f"{origin}/index.html?server={served.ws_url}/ws", state="refused")
        status = tab.js("window.sketcher.status()")
        assert "refused this page" in status and f"--allow-origin {origin}" in status, status
        assert tab.js("window.sketcher.models()") == []
        served.wait_for_err(f"refused a WebSocket handshake from Origin {origin}")
        assert all("403" in e or "ERR_" in e for e in tab.errors), tab.errors  # the browser's own
    finally:
        other.shutdown()
        other.server_close()


@needs_browser
def test_token_is_asked_once_and_kept_for_the_tab(browser: Any, model_dir: Path) -> None:
    """With --token the page asks for it, says when it is wrong, keeps the right one for the
    tab (a reload does not ask again) and not for another tab."""
    server = Served("--token", "s3cret", "--model", str(model_dir))
    tab = Tab(browser)
    try:
        tab.open(server.page_url, state="token")
        assert tab.page.get_by_label("Server token").is_visible()
        assert "needs a token" in tab.js("window.sketcher.status()")
        tab.page.get_by_label("Server token").fill("wrong")
        tab.page.get_by_role("button", name="Connect").click()
        tab.wait("window.sketcher.status().includes('wrong')")
        tab.page.get_by_label("Server token").fill("s3cret")
        tab.page.get_by_role("button", name="Connect").click()
        tab.wait("window.sketcher.state() === 'ready'")
        assert tab.js("sessionStorage.getItem('ai-sketcher-token')") == "s3cret"
        assert tab.page.get_by_label("Server token").is_hidden()
        tab.page.reload()
        tab.wait("window.sketcher && window.sketcher.state() === 'ready'")
        other = tab.context.new_page()
        other.goto(server.page_url)
        other.wait_for_function("() => window.sketcher && window.sketcher.state() === 'token'")
        assert tab.errors == []
    finally:
        tab.close()
        server.close()


@needs_browser
def test_a_server_that_goes_away_is_said_to_be_unreachable(browser: Any, model_dir: Path) -> None:
    """When the server stops, the status line says the connection was lost, then that the
    server cannot be reached and how to start it."""
    server = Served("--model", str(model_dir))
    tab = Tab(browser)
    try:
        tab.open(server.page_url)
        # Record every status the page shows: on a busy machine the first can be gone before a
        # poll from here sees it.
        tab.js(
            "() => { window.seen = []; setInterval(() => "
            "window.seen.push(window.sketcher.status()), 2); }"
        )
        server.close()
        tab.wait("window.sketcher.state() === 'unreachable'")
        seen = tab.js("() => window.seen")
        lost = [i for i, s in enumerate(seen) if s.startswith("Lost the connection")]
        assert lost and lost[0] < len(seen) - 1, seen[-5:]
        assert "python -m sketch_server" in tab.js("window.sketcher.status()")
    finally:
        tab.close()
        server.close()


def _photo(path: Path) -> Path:
    """A photo-like JPEG: a dark disc and a bar on a soft gradient with grain."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:480, 0:640]
    pixels = 200 - 0.05 * x + rng.normal(0, 4, (480, 640))
    pixels[(x - 240) ** 2 + (y - 240) ** 2 < 120**2] = 40
    pixels[380:420, 80:560] = 70
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


@needs_browser
def test_an_opened_image_is_traced_into_a_suggestion_to_accept(
    served: Served, tab: Tab, tmp_path: Path
) -> None:
    """Trace image… sends the photo (as a JPEG at most 1024 pixels a side) and shows its line
    drawing as a suggestion in the canvas; Enter keeps its strokes, Esc would drop them."""
    tab.open(served.page_url)
    button = tab.page.get_by_role("button", name="Trace image…")
    assert button.is_enabled()
    tab.page.locator("#image").set_input_files(str(_photo(tmp_path / "photo.jpg")))
    tab.wait("window.sketcher.suggestion() && window.sketcher.suggestion().done", 60)
    suggestion = tab.js("window.sketcher.suggestion()")
    assert suggestion["mode"] == "trace" and suggestion["sources"] == ["trace"]
    lines = suggestion["samples"][0]
    assert len(lines) >= 2, "the disc and the bar"
    points = np.array([p for s in lines for p in s["points"]])
    view = tab.js("""() => { const r = document.getElementById("paper").getBoundingClientRect();
        return [r.width, r.height]; }""")
    assert (
        (points >= 0).all() and (points[:, 0] <= view[0]).all() and (points[:, 1] <= view[1]).all()
    )
    tab.keys("Enter")
    assert len(tab.js("window.sketcher.strokes()")) == len(lines)
    assert tab.errors == []
