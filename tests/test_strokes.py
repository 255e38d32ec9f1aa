"""Tests for model.strokes: formats, conversions, validation and geometry helpers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from model.strokes import (
    PAD_ROW,
    START_TOKEN,
    StrokeError,
    bounds,
    denormalize,
    normalize,
    polylines_to_stroke3,
    scale_factor,
    stroke3_bounds,
    stroke3_to_polylines,
    stroke3_to_stroke5,
    stroke5_to_stroke3,
    validate_polylines,
    validate_stroke3,
)

TWO_STROKES = [[[10, 20], [13, 24], [13, 30]], [[0, 0], [5, 0]]]
TWO_STROKES_S3 = np.array(
    [[10, 20, 0], [3, 4, 0], [0, 6, 1], [-13, -30, 0], [5, 0, 1]], dtype=np.float64
)


def assert_same_polylines(actual, expected, exact=True):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        e = np.asarray(e, dtype=np.float64).reshape(-1, 2)
        assert a.dtype == np.float64 and a.shape == e.shape
        if exact:
            np.testing.assert_array_equal(a, e)
        else:
            np.testing.assert_allclose(a, e, rtol=0, atol=1e-9)


# --- constants ---------------------------------------------------------------------------------


def test_constants_are_float32_one_hot_rows():
    """START_TOKEN is pen-down and PAD_ROW is end-of-sketch, both float32 stroke-5 rows."""
    assert START_TOKEN.dtype == np.float32 and PAD_ROW.dtype == np.float32
    np.testing.assert_array_equal(START_TOKEN, [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(PAD_ROW, [0, 0, 0, 0, 1])


def test_stroke_error_is_value_error():
    """StrokeError can be caught as a ValueError by callers that do not import it."""
    with pytest.raises(ValueError):
        validate_stroke3([[0, 0, 7]])


# --- validation --------------------------------------------------------------------------------


def test_validate_polylines_returns_float64_arrays_and_keeps_empty_strokes():
    """Nested lists become float64 (K, 2) arrays; empty strokes survive validation."""
    out = validate_polylines([[[1, 2], [3, 4]], [], np.array([[0.5, 0.25]], dtype=np.float32)])
    assert [a.shape for a in out] == [(2, 2), (0, 2), (1, 2)]
    assert all(a.dtype == np.float64 for a in out)
    np.testing.assert_array_equal(out[2], [[0.5, 0.25]])


@pytest.mark.parametrize(
    ("strokes", "message"),
    [
        (
            [[[0, 0]], [[1, 1]], [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5]]],
            "strokes[2][5] is not an [x, y] pair",
        ),
        ([[[0, 0]], [[float("nan"), 0]]], "strokes[1][0] has a value that is not finite"),
        ([[[0, 0], [1, float("inf")]]], "strokes[0][1] has a value that is not finite"),
        ([[[0, 0], [1, 2, 3]]], "strokes[0][1] is not an [x, y] pair"),
        ([[[0, 0], ["a", "b"]]], "strokes[0][1] is not an [x, y] pair"),
        ([[1, 2]], "strokes[0][0] is not an [x, y] pair"),
        ([5], "strokes[0] is not a list of [x, y] pairs"),
        ("abc", "strokes must be a list of strokes, each a list of [x, y] pairs"),
    ],
)
def test_validate_polylines_messages_name_the_bad_point(strokes, message):
    """Malformed polylines raise StrokeError whose message points at the offending entry."""
    with pytest.raises(StrokeError) as info:
        validate_polylines(strokes)
    assert str(info.value) == message


def test_validate_polylines_uses_the_given_name():
    """The `name` argument is the root of the path in error messages."""
    with pytest.raises(StrokeError, match=r"^guide\[0\]\[0\] is not an \[x, y\] pair$"):
        validate_polylines([[[1]]], name="guide")


def test_validate_stroke3_accepts_lists_and_returns_float64():
    """A well-formed list of rows comes back as a float64 (N, 3) copy."""
    out = validate_stroke3([[1, 2, 0], [3, 4, 1]])
    assert out.dtype == np.float64 and out.shape == (2, 3)
    source = np.array([[1.0, 2.0, 1.0]])
    validate_stroke3(source)[0, 0] = 99
    assert source[0, 0] == 1.0


def test_validate_stroke3_accepts_empty():
    """An empty sketch is valid and has shape (0, 3)."""
    assert validate_stroke3([]).shape == (0, 3)
    assert validate_stroke3(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize(
    ("sketch", "kwargs", "message"),
    [
        (
            np.zeros((4, 2)),
            {},
            "sketch must be an (N, 3) array of (dx, dy, pen_lifted); got shape (4, 2)",
        ),
        (
            [[0, 0, 0], [1, 2]],
            {},
            "sketch must be an (N, 3) array of (dx, dy, pen_lifted); sketch[1] has 2 values",
        ),
        (
            [[0, 0, 0], [1, "x", 0]],
            {},
            "sketch must be an (N, 3) array of (dx, dy, pen_lifted); "
            "sketch[1] is not a row of 3 numbers",
        ),
        ([[0, 0, 0]] * 7 + [[float("nan"), 0, 0]], {}, "sketch[7] has a value that is not finite"),
        ([[0, 0, 0], [0, float("-inf"), 1]], {}, "sketch[1] has a value that is not finite"),
        ([[0, 0, 0], [1, 1, 0.5]], {}, "sketch[1] has pen_lifted 0.5; it must be 0 or 1"),
        ([[0, 0, 2]], {}, "sketch[0] has pen_lifted 2; it must be 0 or 1"),
        (np.zeros((312, 3)), {"max_len": 250}, "sketch has 312 points; the limit is 250"),
    ],
)
def test_validate_stroke3_messages(sketch, kwargs, message):
    """Malformed stroke-3 input raises StrokeError with an exact, actionable message."""
    with pytest.raises(StrokeError) as info:
        validate_stroke3(sketch, **kwargs)
    assert str(info.value) == message


def test_validate_stroke3_max_len_allows_exact_length():
    """A sketch exactly max_len long is accepted."""
    assert validate_stroke3(np.zeros((250, 3)), max_len=250).shape == (250, 3)


def test_validate_stroke3_uses_the_given_name():
    """The `name` argument prefixes stroke-3 error messages."""
    with pytest.raises(StrokeError, match=r"^guide\[0\] has a value that is not finite$"):
        validate_stroke3([[np.nan, 0, 0]], name="guide")


# --- polylines <-> stroke-3 --------------------------------------------------------------------


def test_polylines_to_stroke3_known_values():
    """Offsets chain across strokes and the last point of each stroke lifts the pen."""
    out = polylines_to_stroke3(TWO_STROKES)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, TWO_STROKES_S3)


def test_polylines_to_stroke3_origin_offsets_first_row_only():
    """The origin changes only the first row's offset."""
    out = polylines_to_stroke3(TWO_STROKES, origin=(4, -6))
    expected = TWO_STROKES_S3.copy()
    expected[0, :2] = [6, 26]
    np.testing.assert_array_equal(out, expected)


def test_polylines_to_stroke3_skips_empty_strokes_and_handles_empty_sketch():
    """Empty strokes vanish and a sketch with no points gives shape (0, 3)."""
    np.testing.assert_array_equal(
        polylines_to_stroke3([[], TWO_STROKES[0], [], TWO_STROKES[1], []]), TWO_STROKES_S3
    )
    assert polylines_to_stroke3([]).shape == (0, 3)
    assert polylines_to_stroke3([[], []]).shape == (0, 3)


def test_single_point_strokes_are_one_lifted_row():
    """A one-point stroke becomes one row with pen_lifted 1, and converts back to itself."""
    sketch = [[[3, 4]], [[5, 5], [6, 5]], [[1, 1]]]
    s3 = polylines_to_stroke3(sketch)
    np.testing.assert_array_equal(s3, [[3, 4, 1], [2, 1, 0], [1, 0, 1], [-5, -4, 1]])
    assert_same_polylines(stroke3_to_polylines(s3), sketch)


@pytest.mark.parametrize("origin", [(0.0, 0.0), (12.5, -3.25)])
def test_polylines_round_trip_with_float_coordinates(origin):
    """polylines -> stroke-3 -> polylines reproduces float coordinates with or without origin."""
    sketch = [[[0.1, 0.2], [1.7, -3.3], [2.25, 9.125]], [[-4.5, 0.001]], [[7.0, 7.0], [7.5, 6.0]]]
    back = stroke3_to_polylines(polylines_to_stroke3(sketch, origin=origin), origin=origin)
    assert_same_polylines(back, sketch, exact=False)


def test_stroke3_to_polylines_uses_origin():
    """Decoding with an origin shifts every point by that origin."""
    back = stroke3_to_polylines(TWO_STROKES_S3, origin=(100, 200))
    assert_same_polylines(back, [np.add(s, (100, 200)) for s in TWO_STROKES])


def test_runs_of_pen_ups_round_trip_exactly():
    """Consecutive pen-lifted rows become one-point strokes, so stroke-3 round-trips exactly."""
    s3 = np.array([[1, 1, 1], [2, 0, 1], [0, 3, 1], [1, 1, 0], [1, 0, 1]], dtype=np.float64)
    lines = stroke3_to_polylines(s3)
    assert [len(s) for s in lines] == [1, 1, 1, 2]
    np.testing.assert_array_equal(polylines_to_stroke3(lines), s3)


def test_sketch_not_ending_with_a_lift_forms_a_final_stroke():
    """Points after the last pen lift are kept as a final stroke; re-encoding lifts the pen."""
    s3 = np.array([[0, 0, 0], [1, 0, 1], [5, 5, 0], [1, 1, 0]], dtype=np.float64)
    lines = stroke3_to_polylines(s3)
    assert_same_polylines(lines, [[[0, 0], [1, 0]], [[6, 5], [7, 6]]])
    expected = s3.copy()
    expected[-1, 2] = 1
    np.testing.assert_array_equal(polylines_to_stroke3(lines), expected)


def test_stroke3_to_polylines_empty():
    """An empty stroke-3 sketch decodes to no strokes."""
    assert stroke3_to_polylines(np.zeros((0, 3))) == []


def test_bad_origin_is_reported():
    """An origin that is not a finite pair is rejected with a clear message."""
    with pytest.raises(StrokeError, match=r"^origin must be a finite \(x, y\) pair"):
        polylines_to_stroke3(TWO_STROKES, origin=(1, 2, 3))


_int_stroke3 = hnp.arrays(
    np.int64,
    st.tuples(st.integers(0, 40), st.just(3)),
    elements=st.integers(-300, 300),
).map(lambda a: np.column_stack([a[:, :2], a[:, 2] % 2]).astype(np.float64))


@settings(max_examples=150, deadline=None)
@given(_int_stroke3, st.tuples(st.integers(-500, 500), st.integers(-500, 500)))
def test_property_stroke3_polylines_round_trip_is_exact(s3, origin):
    """Any integer stroke-3 sketch survives stroke-3 -> polylines -> stroke-3 (bar a final lift)."""
    back = polylines_to_stroke3(stroke3_to_polylines(s3, origin=origin), origin=origin)
    expected = s3.copy()
    if len(expected):
        expected[-1, 2] = 1  # the encoder always ends the final stroke with a lift
    np.testing.assert_array_equal(back, expected)


_float_polylines = st.lists(
    st.lists(
        st.tuples(st.floats(-1e4, 1e4, allow_nan=False), st.floats(-1e4, 1e4, allow_nan=False)),
        min_size=0,
        max_size=8,
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(_float_polylines)
def test_property_polylines_round_trip(sketch):
    """Any float polylines survive polylines -> stroke-3 -> polylines (empty strokes dropped)."""
    back = stroke3_to_polylines(polylines_to_stroke3(sketch, origin=(3.5, -2.0)), origin=(3.5, -2))
    kept = [s for s in sketch if s]
    assert len(back) == len(kept)
    for a, e in zip(back, kept):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-7)


# --- stroke-3 <-> stroke-5 ---------------------------------------------------------------------


def test_stroke3_to_stroke5_pads_with_pad_rows():
    """Rows get one-hot pens, and rows past the sketch are PAD_ROW up to max_len."""
    s5 = stroke3_to_stroke5(TWO_STROKES_S3, max_len=8)
    assert s5.dtype == np.float32 and s5.shape == (8, 5)
    np.testing.assert_array_equal(s5[:5, :2], TWO_STROKES_S3[:, :2])
    np.testing.assert_array_equal(
        s5[:5, 2:], [[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]]
    )
    np.testing.assert_array_equal(s5[5:], np.tile(PAD_ROW, (3, 1)))


def test_stroke3_to_stroke5_without_max_len_has_no_padding():
    """Without max_len the stroke-5 array has exactly N rows."""
    assert stroke3_to_stroke5(TWO_STROKES_S3).shape == (5, 5)


def test_stroke3_to_stroke5_too_long():
    """A sketch longer than max_len is rejected, naming both lengths."""
    with pytest.raises(StrokeError, match=r"^sketch has 5 points; the limit is 4$"):
        stroke3_to_stroke5(TWO_STROKES_S3, max_len=4)


@pytest.mark.parametrize("max_len", [None, 5, 6, 40])
def test_stroke5_round_trip(max_len):
    """stroke-3 -> stroke-5 (padded or not) -> stroke-3 is exact."""
    s3 = np.array([[0.5, -1.25, 0], [2, 2, 1], [1, 1, 1], [0, 0, 0]], dtype=np.float64)
    back = stroke5_to_stroke3(stroke3_to_stroke5(s3, max_len=max_len))
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, s3)


def test_stroke5_round_trip_empty():
    """An empty sketch becomes all PAD rows and decodes back to (0, 3)."""
    s5 = stroke3_to_stroke5(np.zeros((0, 3)), max_len=3)
    np.testing.assert_array_equal(s5, np.tile(PAD_ROW, (3, 1)))
    assert stroke5_to_stroke3(s5).shape == (0, 3)


def test_stroke5_to_stroke3_uses_largest_pen_value():
    """Soft pen scores decode by their largest value and stop at the first end row."""
    s5 = np.array(
        [
            [1, 2, 0.7, 0.2, 0.1],
            [3, 4, 0.1, 0.8, 0.1],
            [5, 6, 0.4, 0.3, 0.3],
            [9, 9, 0.2, 0.3, 0.5],
            [7, 7, 1.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(stroke5_to_stroke3(s5), [[1, 2, 0], [3, 4, 1], [5, 6, 0]])


def test_stroke5_to_stroke3_rejects_wrong_shape():
    """A stroke-5 array of the wrong width is rejected with its shape in the message."""
    with pytest.raises(StrokeError, match=r"\(N, 5\) array .* got shape \(2, 3\)"):
        stroke5_to_stroke3(np.zeros((2, 3)))


# --- normalisation -----------------------------------------------------------------------------


def test_scale_factor_is_std_of_all_offsets():
    """The scale factor is the std of all dx and dy values pooled across sketches."""
    a = np.array([[1, 2, 0], [3, -4, 1]], dtype=np.float64)
    b = np.array([[10, 0, 1]], dtype=np.float64)
    expected = np.std([1, 2, 3, -4, 10, 0])
    assert scale_factor([a, b]) == pytest.approx(expected, rel=1e-12)
    assert scale_factor(iter([a, b])) == pytest.approx(expected, rel=1e-12)


def test_scale_factor_ignores_pen_column_and_defaults_to_one():
    """Pen values do not count, and no data or zero spread gives 1.0."""
    assert scale_factor([np.array([[2, 2, 1], [2, 2, 0]], dtype=np.float64)]) == 1.0
    assert scale_factor([]) == 1.0
    assert scale_factor([np.zeros((0, 3))]) == 1.0


def test_scale_factor_rejects_non_finite():
    """A NaN in any sketch is reported by its index."""
    with pytest.raises(StrokeError, match=r"^sketches\[1\] has a value that is not finite$"):
        scale_factor([np.zeros((2, 3)), np.array([[np.nan, 0, 0]])])


def test_normalize_divides_offsets_only_and_round_trips():
    """normalize divides dx, dy (not pen) into a new array, and denormalize undoes it."""
    s3 = np.array([[10, -20, 0], [5, 5, 1]])
    norm = normalize(s3, 5.0)
    np.testing.assert_array_equal(norm, [[2, -4, 0], [1, 1, 1]])
    assert norm.dtype == np.float64 and s3.dtype.kind == "i"
    np.testing.assert_array_equal(denormalize(norm, 5.0), s3)
    np.testing.assert_allclose(denormalize(normalize(TWO_STROKES_S3, 3.7), 3.7), TWO_STROKES_S3)


def test_normalize_returns_new_array_and_keeps_float32():
    """normalize never modifies its input and keeps a float32 dtype."""
    s3 = np.array([[4, 4, 1]], dtype=np.float32)
    out = normalize(s3, 2.0)
    assert out.dtype == np.float32 and s3[0, 0] == 4
    np.testing.assert_array_equal(denormalize(s3, 2.0), [[8, 8, 1]])
    assert s3[0, 0] == 4


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_normalize_rejects_bad_scale(scale):
    """A zero, negative or NaN scale is rejected rather than producing inf/NaN offsets."""
    with pytest.raises(StrokeError, match=r"^scale must be a positive finite number"):
        normalize(TWO_STROKES_S3, scale)


# --- bounds ------------------------------------------------------------------------------------


def test_bounds_cover_all_points():
    """bounds spans every point of every stroke."""
    assert bounds(TWO_STROKES) == (0.0, 0.0, 13.0, 30.0)
    assert bounds([[[2.5, -1]], [], [[-3, 4], [1, 1]]]) == (-3.0, -1.0, 2.5, 4.0)


def test_stroke3_bounds_match_polyline_bounds():
    """stroke3_bounds uses absolute positions, shifted by the origin."""
    assert stroke3_bounds(TWO_STROKES_S3) == bounds(TWO_STROKES)
    assert stroke3_bounds(TWO_STROKES_S3, origin=(1, 2)) == (1.0, 2.0, 14.0, 32.0)


@pytest.mark.parametrize(
    "call", [lambda: bounds([]), lambda: bounds([[], []]), lambda: stroke3_bounds([])]
)
def test_bounds_of_empty_sketch_raise(call):
    """An empty sketch has no bounds, and says so."""
    with pytest.raises(StrokeError, match=r"^the sketch is empty; it has no bounds$"):
        call()
