"""Tests for model.strokes' geometry: simplification (Google's QuickDraw recipe by default),
resampling, fitting into the model's box and moving polylines."""

import numpy as np
import pytest

from model.strokes import (
    StrokeError,
    bounds,
    fit_to_box,
    resample_polyline,
    simplify,
    transform_polylines,
)

from .test_strokes import TWO_STROKES, assert_same_polylines

# --- simplify ----------------------------------------------------------------------------------


def test_simplify_removes_collinear_points_and_keeps_endpoints():
    """Points on a straight line are dropped; the first and last points stay (shapely's
    segment-distance RDP without resampling keeps the corner exactly)."""
    line = [[0, 0], [1, 1], [2, 2], [3, 3], [10, 10], [10, 5], [10, 0]]
    (out,) = simplify([line], epsilon=0.5, method="segment", spacing=None)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 0], [10, 10], [10, 0]])


def test_simplify_default_is_googles_recipe():
    """By default strokes are resampled every unit of arc length, then RDP measures distance to
    the chord's line: a corner may move by a fraction of a unit, the ends stay."""
    line = [[0, 0], [1, 1], [2, 2], [3, 3], [10, 10], [10, 5], [10, 0]]
    (out,) = simplify([line], epsilon=0.5)
    assert len(out) == 3
    np.testing.assert_array_equal(out[[0, -1]], [[0, 0], [10, 0]])
    assert np.hypot(*(out[1] - [10, 10])) < 0.15


def test_simplify_line_and_segment_distance_differ_past_the_chord():
    """A point beyond the chord's end is near its line but far from the segment."""
    hook = [[0, 0], [10, 0], [20, 0.5], [5, 0.2]]  # goes out to x=20, back to x=5
    (line,) = simplify([hook], 2.0, method="line", spacing=None)
    (segment,) = simplify([hook], 2.0, method="segment", spacing=None)
    assert [20, 0.5] not in line.tolist()
    assert [20, 0.5] in segment.tolist()


def test_resample_polyline_spaces_points_by_arc_length():
    """Points every `spacing` along the path, the last one at the end."""
    out = resample_polyline([[0, 0], [2.5, 0], [2.5, 1]], 1.0)
    np.testing.assert_allclose(out, [[0, 0], [1, 0], [2, 0], [2.5, 0.5], [2.5, 1]])
    np.testing.assert_array_equal(resample_polyline([[3, 3], [3, 3], [3, 3]]), [[3, 3], [3, 3]])


def test_simplify_epsilon_controls_a_two_unit_wiggle():
    """A 2-unit wiggle survives epsilon 1 and is removed at epsilon 3."""
    wiggle = [[0, 0], [10, 0], [12, 2], [14, 0], [30, 0]]
    (kept,) = simplify([wiggle], epsilon=1.0)
    (flat,) = simplify([wiggle], epsilon=3.0)
    assert np.hypot(*(kept - [12, 2]).T).min() < 0.2  # resampling moves the peak a little
    np.testing.assert_array_equal(flat, [[0, 0], [30, 0]])


def test_simplify_keeps_short_strokes_as_they_are():
    """One-point, two-point and empty strokes pass through unchanged, keeping stroke indices."""
    sketch = [[[5, 5]], [], [[0, 0], [0.1, 0]], [[0, 0], [1, 0], [2, 0]]]
    out = simplify(sketch)
    assert_same_polylines(out[:3], [[[5, 5]], np.zeros((0, 2)), [[0, 0], [0.1, 0]]])
    np.testing.assert_array_equal(out[3], [[0, 0], [2, 0]])


def test_simplify_default_epsilon_is_two():
    """The default epsilon (2.0) drops a 1.5-unit bump but keeps a 2.5-unit one."""
    (small,) = simplify([[[0, 0], [5, 1.5], [10, 0]]])
    (big,) = simplify([[[0, 0], [5, 2.5], [10, 0]]])
    assert len(small) == 2 and len(big) == 3


def test_simplify_degenerate_stroke_keeps_both_endpoints():
    """A closed loop or a stroke of repeated points still keeps its two endpoints."""
    loop, dots = simplify([[[0, 0], [1, 0], [1, 1], [0, 0]], [[3, 3], [3, 3], [3, 3]]], 5)
    np.testing.assert_array_equal(loop, [[0, 0], [0, 0]])
    np.testing.assert_array_equal(dots, [[3, 3], [3, 3]])


def test_simplify_rejects_negative_epsilon():
    """A negative epsilon is an error, not a silent no-op."""
    with pytest.raises(StrokeError, match=r"^epsilon must be a finite number >= 0"):
        simplify(TWO_STROKES, epsilon=-1)


# --- fit_to_box / transform --------------------------------------------------------------------


def test_fit_to_box_scales_longer_side_to_size():
    """The sketch is moved to start at (0, 0) and scaled so its longer side is `size`."""
    out = fit_to_box([[[10, 20], [30, 30]], [[20, 25]]], size=255)
    assert bounds(out) == pytest.approx((0, 0, 255, 127.5))
    np.testing.assert_allclose(out[1], [[127.5, 63.75]])


def test_fit_to_box_tall_sketch_and_custom_size():
    """A tall sketch's height becomes `size` and the aspect ratio is kept."""
    out = fit_to_box([[[0, -50], [4, 50]]], size=10)
    assert bounds(out) == pytest.approx((0, 0, 0.4, 10))


def test_fit_to_box_zero_extent_is_only_translated():
    """A sketch that is a single point is moved to the origin without scaling."""
    out = fit_to_box([[[7, 9]], [[7, 9], [7, 9]]])
    assert_same_polylines(out, [[[0, 0]], [[0, 0], [0, 0]]])


def test_fit_to_box_empty_sketch_is_unchanged():
    """An empty sketch has nothing to fit and comes back as it is."""
    assert fit_to_box([]) == []
    assert [s.shape for s in fit_to_box([[]])] == [(0, 2)]


def test_transform_polylines_scales_then_offsets():
    """Each point p becomes p * scale + offset, and inverting the map returns the original."""
    out = transform_polylines(TWO_STROKES, 2.0, (1, -1))
    np.testing.assert_array_equal(out[0], [[21, 39], [27, 47], [27, 59]])
    back = transform_polylines(out, 0.5, (-0.5, 0.5))
    assert_same_polylines(back, TWO_STROKES)


def test_transform_polylines_rejects_bad_offset():
    """An offset that is not a pair is rejected, naming the argument."""
    with pytest.raises(StrokeError, match=r"^offset must be a finite \(x, y\) pair"):
        transform_polylines(TWO_STROKES, 1.0, (1,))
