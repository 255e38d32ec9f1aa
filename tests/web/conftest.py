"""Fixtures of the drawing page's tests: the real server and Debian's Chromium, one a module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .webpage import BROWSER_MISSING, CHROMIUM, FLAGS, Served, Tab


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """The server as a person starts it: both shipped models, on the CPU."""
    s = Served()
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, shared by the module's browser tests."""
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh page in the shared browser; its console errors are kept in `tab.errors`."""
    t = Tab(browser)
    yield t
    t.close()
