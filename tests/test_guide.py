"""When the add-ons ask for a shadow guide (wire/guide.py): debounced, one request in
flight, stale answers dropped, opacity from weight; no host needed."""

from __future__ import annotations

import pytest

from addons.krita.ai_sketcher import svg
from wire.guide import MIN_SHARE, GuideState, opacities


def on(debounce: float = 0.3) -> GuideState:
    g = GuideState(debounce)
    g.turn_on()
    return g


def test_off_it_never_asks():
    g = GuideState()
    g.look("one stroke", 0.0)
    assert not g.due(10.0)


def test_asks_once_the_layer_has_been_still_for_the_debounce():
    """A stroke being drawn changes the layer on every tick; the guide waits until it stops."""
    g = on(0.3)
    g.look("a", 0.0)
    assert not g.due(0.2)
    g.look("ab", 0.2)  # still drawing
    assert not g.due(0.4)
    assert g.due(0.5)
    g.sent("g1")
    assert g.in_flight == "g1" and not g.due(5.0)


def test_at_most_one_request_in_flight():
    """While the server works, further strokes wait; the answer to the old one is stale."""
    g = on(0.0)
    g.look("a", 0.0)
    g.sent("g1")
    g.look("ab", 1.0)
    assert not g.due(2.0)
    assert g.answered("g1") is False  # drawn on since: not shown...
    assert g.due(2.0)  # ...and the newer drawing is asked for at once
    g.sent("g2")
    assert g.answered("g2") is True and g.shown == "ab"
    assert not g.due(3.0)  # nothing new to ask


def test_an_answer_after_the_guide_was_turned_off_is_dropped():
    g = on(0.0)
    g.look("a", 0.0)
    g.sent("g1")
    g.turn_off()
    assert g.is_ours("g1") and not g.answered("g1")
    g.turn_on()
    assert not g.answered("g1")
    assert not g.is_ours("j1")


def test_an_unchanged_layer_is_not_asked_for_again():
    g = on(0.0)
    g.look("a", 0.0)
    g.sent("g1")
    g.look("a", 1.0)
    assert g.answered("g1")
    g.look("a", 2.0)
    assert not g.due(3.0)


def test_an_error_ends_the_request_without_a_retry_loop():
    g = on(0.0)
    g.look("a", 0.0)
    g.sent("g1")
    assert not g.failed("g0") and g.failed("g1")
    assert not g.due(1.0)  # the same drawing is not retried...
    g.look("ab", 1.0)
    assert g.due(1.0)  # ...the next stroke asks again


def test_an_empty_layer_is_skipped():
    g = on(0.0)
    g.look("empty", 0.0)
    assert g.due(0.0)
    g.skipped()
    assert not g.due(1.0)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([0.5, 0.25, 0.25], [1.0, 0.5, 0.5]),
        ([0.97, 0.01, 0.01, 0.01], [1.0, MIN_SHARE, MIN_SHARE, MIN_SHARE]),
        ([0.0, 0.0], [1.0, 1.0]),
        ([], []),
    ],
)
def test_opacity_follows_weight(weights, expected):
    """The best-fitting drawing is the darkest; none vanishes altogether."""
    assert opacities(weights) == pytest.approx(expected)


def test_krita_paths_carry_the_opacity():
    assert 'stroke-opacity="0.5"' in svg.paths_svg([[(0, 0), (1, 1)]], opacity=0.5)
    assert "stroke-opacity" not in svg.paths_svg([[(0, 0), (1, 1)]])
