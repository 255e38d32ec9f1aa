"""The drawing page's shadow guide and its pointers (finger, pen, keyboard) in a real browser.

Besides the real server, a stand-in server routed into the page by Playwright (webpage.py) plays
the answers the real one rarely gives (busy, refusals, answers out of order).
"""

from __future__ import annotations

from typing import Any

import pytest

from .webpage import (
    LAYOUT,
    UNKNOWN_GUIDE,
    MockServer,
    Served,
    Tab,
    head,
    needs_browser,
)

pytestmark = pytest.mark.timeout(180)


@needs_browser
def test_guide_refused_by_an_older_server_is_said_in_plain_words(served: Served, tab: Tab) -> None:
    """A server that answers guide with an error (as today's does) gets a status line, the
    toggle goes off, and nothing is logged to the console."""
    MockServer(tab.page, guide_reply=UNKNOWN_GUIDE)
    tab.open(served.page_url)
    tab.keys("g")
    tab.draw([(100, 100), (200, 120), (240, 200)])
    tab.wait("window.sketcher.status().includes('no shadow guide')")
    assert not tab.page.get_by_label("Shadow guide").is_checked()
    assert "unknown message type" in tab.js("window.sketcher.status()")
    assert tab.errors == []


@needs_browser
def test_guide_one_question_at_a_time_stale_answers_dropped(served: Served, tab: Tab) -> None:
    """The guide asks after a stroke ends, never twice at once, drops the answer about a
    drawing that changed since, and shows the answer about the current one; refine sends
    strength, and done.sources is shown."""
    mock = MockServer(tab.page)
    tab.open(served.page_url)
    tab.keys("g")
    tab.draw([(100, 100), (200, 120), (240, 200)])
    tab.until(lambda: mock.questions("guide"))
    tab.draw([(300, 100), (320, 180)])
    tab.page.wait_for_timeout(800)  # well past the debounce
    first, *more = mock.questions("guide")
    assert more == [], "a second question while the first is unanswered"
    assert len(first["strokes"]) == 1 and first["model"] == "objects" and first["k"] == 4
    drawing = {"strokes": [[[10, 10], [50, 60]]], "weight": 0.2, "source": "quickdraw:cat:1"}
    mock.send({"type": "guide", "id": first["id"], "drawings": [drawing], "elapsed_ms": 3})
    tab.until(lambda: len(mock.questions("guide")) == 2)  # asked again once answered
    second = mock.questions("guide")[1]
    assert len(second["strokes"]) == 2
    assert tab.js("window.sketcher.guide()") is None, "the stale answer was shown"
    newer = {**drawing, "weight": 0.9, "source": "quickdraw:cat:2"}
    mock.send({"type": "guide", "id": second["id"], "drawings": [newer], "elapsed_ms": 3})
    tab.wait("window.sketcher.guide() !== null")
    shown = tab.js("window.sketcher.guide()")
    assert [(g["weight"], g["source"]) for g in shown] == [(0.9, "quickdraw:cat:2")]
    assert shown[0]["strokes"][0]["points"] == newer["strokes"][0]

    tab.page.locator("#strength").fill("0.8")
    tab.keys("o")
    tab.until(lambda: mock.questions("suggest"))
    refine = mock.questions("suggest")[0]
    assert refine["mode"] == "refine" and refine["strength"] == 0.8
    mock.send(
        {
            "type": "stroke",
            "id": refine["id"],
            "sample": 0,
            "index": 0,
            "points": [[100, 100], [240, 200]],
        }
    )
    mock.send(
        {
            "type": "done",
            "id": refine["id"],
            "samples": [[[[100, 100], [240, 200]]]] * 3,
            "elapsed_ms": 5,
            "cancelled": False,
            "sources": ["quickdraw:cat:7"] * 3,
        }
    )
    tab.wait("window.sketcher.status().includes('from quickdraw:cat:7')")
    tab.keys("Enter")  # refine's alternative takes the place of the strokes it redrew
    assert [s["points"] for s in tab.js("window.sketcher.strokes()")] == [[[100, 100], [240, 200]]]
    tab.keys("g")
    assert tab.js("window.sketcher.guide()") is None

    tab.keys("s")
    tab.until(lambda: len(mock.questions("suggest")) == 2)
    busy = mock.questions("suggest")[1]
    mock.send(
        {
            "type": "error",
            "id": busy["id"],
            "code": "busy",
            "message": "the server has 64 requests open, the most it takes.",
        }
    )
    tab.wait("window.sketcher.status().startsWith('The server is busy')")
    assert tab.js("window.sketcher.suggestion()") is None
    assert tab.errors == []


@needs_browser
def test_guide_from_the_real_server(served: Served, tab: Tab) -> None:
    """GUIDE (runs once the server has drawing libraries): the real server's guide drawings
    show faintly under the pen for a model that advertises a library."""
    tab.open(served.page_url)
    with_library = [m["name"] for m in tab.js("window.sketcher.models()") if m.get("library")]
    if not with_library:
        pytest.skip(
            "the server's welcome advertises no models[].library yet; this test runs "
            "once the guide message is on the server"
        )
    tab.page.select_option("#model", with_library[0])
    tab.keys("g")
    tab.draw(head(470, 340))
    tab.draw([(425, 300), (440, 297), (452, 299)])
    tab.wait("window.sketcher.guide() !== null", 60)
    guide = [f for f in tab.frames if f["type"] == "guide"]
    assert guide, "the server sent no guide answer"
    shown = tab.js("window.sketcher.guide()")
    assert all(0 <= g["weight"] <= 1 and g["strokes"] for g in shown)
    assert tab.errors == []


# --- screens, pointers and accessibility --------------------------------------------------


@needs_browser
def test_a_phone_draws_with_a_finger(served: Served, browser: Any) -> None:
    """On a 360-px-wide phone nothing sticks out sideways and a finger draws a stroke."""
    tab = Tab(
        browser,
        viewport={"width": 360, "height": 740},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    try:
        tab.open(served.page_url)
        layout = tab.js(LAYOUT)
        assert layout["overflow"] <= 0 and layout["outside"] == [], layout
        assert layout["canvas"]["width"] >= 320 and layout["canvas"]["height"] >= 300
        box = layout["canvas"]
        cdp = tab.context.new_cdp_session(tab.page)
        points = [(box["x"] + 60 + 8 * i, box["y"] + 80 + 5 * i) for i in range(20)]
        for kind, (x, y) in zip(["touchStart", *["touchMove"] * 18, "touchMove"], points):
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        tab.wait("window.sketcher.strokes().length === 1")
        stroke = tab.js("window.sketcher.strokes()[0]")
        assert len(stroke["points"]) >= 15 and stroke["points"][0] == [60, 80]
        assert tab.errors == []
    finally:
        tab.close()


@needs_browser
def test_a_pen_draws_its_pressure_as_width(served: Served, tab: Tab) -> None:
    """A pen's pressure is kept per point (and painted as width)."""
    tab.open(served.page_url)
    box = tab.page.locator("#paper").bounding_box()
    cdp = tab.context.new_cdp_session(tab.page)
    pen = {"pointerType": "pen", "button": "left"}
    x, y = box["x"] + 100, box["y"] + 100
    cdp.send(
        "Input.dispatchMouseEvent",
        {
            "type": "mousePressed",
            "x": x,
            "y": y,
            "force": 0.1,
            "buttons": 1,
            "clickCount": 1,
            **pen,
        },
    )
    for i in range(1, 9):
        cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": "mouseMoved",
                "x": x + 20 * i,
                "y": y,
                "force": 0.1 * (i + 1),
                "buttons": 1,
                **pen,
            },
        )
    cdp.send(
        "Input.dispatchMouseEvent",
        {
            "type": "mouseReleased",
            "x": x + 160,
            "y": y,
            "force": 0,
            "buttons": 0,
            "clickCount": 1,
            **pen,
        },
    )
    tab.wait("window.sketcher.strokes().length === 1")
    pressure = tab.js("window.sketcher.strokes()[0].pressure")
    assert pressure[0] == pytest.approx(0.1, abs=0.01) and pressure[-1] == pytest.approx(
        0.9, abs=0.01
    )
    assert pressure == sorted(pressure)
    assert tab.errors == []


@needs_browser
def test_a_wide_desktop_and_keyboard_users(served: Served, browser: Any) -> None:
    """On a 1920-px desktop the canvas gets the room; every control has a label, and keyboard
    focus is visible."""
    tab = Tab(browser, viewport={"width": 1920, "height": 1080})
    try:
        tab.open(served.page_url)
        layout = tab.js(LAYOUT)
        assert layout["overflow"] <= 0 and layout["outside"] == [], layout
        assert layout["canvas"]["width"] >= 1500 and layout["canvas"]["height"] >= 850
        unlabelled = tab.js("""() => [...document.querySelectorAll('button, select, input, canvas')]
            .filter((el) => !(el.getAttribute('aria-label') || (el.labels && el.labels.length)
                              || (el.tagName === 'BUTTON' && el.textContent.trim())))
            .map((el) => el.outerHTML)""")
        assert unlabelled == []
        outlines = set()
        for _ in range(8):
            tab.page.keyboard.press("Tab")
            outlines.add(
                tab.js("""() => { const el = document.activeElement;
                const s = getComputedStyle(el);
                return `${el.tagName} ${s.outlineStyle} ${s.outlineWidth}`; }""")
            )
        assert all(o.endswith("solid 3px") for o in outlines), outlines
        assert tab.errors == []
    finally:
        tab.close()


@needs_browser
def test_variety_starts_at_each_models_best_and_keeps_the_artists_choice(
    served: Served, tab: Tab
) -> None:
    """The Variety slider shows the chosen model's measured best (welcome `temperature`) until
    the artist moves it; each model keeps the artist's own value."""
    tab.open(served.page_url)
    models = {m["name"]: m["temperature"] for m in tab.js("window.sketcher.models()")}
    assert len(models) >= 2, models
    first, second = list(models)[:2]
    variety = tab.page.locator("#variety")
    tab.page.select_option("#model", first)
    assert float(variety.input_value()) == pytest.approx(models[first])
    variety.fill("0.9")
    variety.dispatch_event("input")
    tab.page.select_option("#model", second)
    assert float(variety.input_value()) == pytest.approx(models[second])
    assert tab.page.locator('output[for="variety"]').text_content() == variety.input_value()
    tab.page.select_option("#model", first)
    assert float(variety.input_value()) == pytest.approx(0.9)
    assert tab.errors == []
