"""Tests for model.raster: fitted, anti-aliased sketch rasters."""

import numpy as np
import pytest

from model.raster import rasterize, rasterize_stroke3
from model.strokes import StrokeError, polylines_to_stroke3

HOUSE = [
    [[0, 40], [0, 100], [80, 100], [80, 40], [0, 40]],
    [[0, 40], [40, 0], [80, 40]],
    [[30, 100], [30, 70], [50, 70], [50, 100]],
]


def test_shape_dtype_and_range():
    """The raster is float32 (size, size) with values in [0, 1] and some full ink."""
    image = rasterize(HOUSE, size=32)
    assert image.shape == (32, 32) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.max() == pytest.approx(1.0)
    assert 0.05 < image.mean() < 0.5


def test_default_size_is_48():
    """Without arguments the raster is 48 x 48."""
    assert rasterize(HOUSE).shape == (48, 48)


def test_scale_and_translation_invariance():
    """The same sketch scaled x3 and shifted gives (nearly) the same raster."""
    moved = [np.asarray(s, dtype=float) * 3 + (512.25, -77.5) for s in HOUSE]
    a, b = rasterize(HOUSE), rasterize(moved)
    assert np.abs(a - b).max() < 0.05


def test_different_sketches_give_different_rasters():
    """The invariance test is meaningful: a different sketch changes the raster a lot."""
    other = [[[0, 0], [80, 100]], [[80, 0], [0, 100]]]
    assert np.abs(rasterize(HOUSE) - rasterize(other)).sum() > 20


@pytest.mark.parametrize("sketch", [[], [[]], [[], []]])
def test_empty_sketch_gives_zeros(sketch):
    """A sketch with no points is an all-zero image."""
    image = rasterize(sketch, size=16)
    assert image.shape == (16, 16) and not image.any()


def test_horizontal_line_inks_its_row_only():
    """A horizontal line inks the middle rows between the margins and leaves the rest blank."""
    image = rasterize([[[0, 0], [100, 0]]], size=40, margin=0.1)
    rows = np.flatnonzero(image.sum(axis=1) > 0)
    assert set(rows) <= {19, 20}
    ink_cols = np.flatnonzero(image[rows].max(axis=0) > 0.2)
    assert ink_cols.min() == 4 and ink_cols.max() == 35
    assert image[rows].max(axis=0)[8:32].min() > 0.4


def test_margin_leaves_border_blank():
    """With margin 0.25 nothing is drawn in the outer quarter of the image."""
    image = rasterize(HOUSE, size=40, margin=0.25)
    assert not image[:9].any() and not image[31:].any()
    assert not image[:, :9].any() and not image[:, 31:].any()
    assert image[10:30, 10:30].any()


def test_aspect_ratio_is_kept_and_centred():
    """A tall thin sketch stays tall and thin and sits in the horizontal centre."""
    image = rasterize([[[0, 0], [0, 100]], [[10, 0], [10, 100]]], size=40)
    cols = np.flatnonzero(image.sum(axis=0) > 0.5)
    rows = np.flatnonzero(image.sum(axis=1) > 0.5)
    assert cols.max() - cols.min() <= 6
    assert rows.max() - rows.min() >= 30
    assert abs((cols.min() + cols.max()) / 2 - 19.5) <= 1


def test_single_point_strokes_draw_dots():
    """One-point strokes leave ink where they are and nowhere else."""
    image = rasterize([[[0, 0]], [[10, 10]]], size=20, margin=0.1)
    assert image[1:4, 1:4].sum() > 0.3 and image[16:19, 16:19].sum() > 0.3
    assert image[6:14, 6:14].sum() == 0


def test_lone_point_is_centred():
    """A sketch that is a single point puts a dot in the image centre."""
    image = rasterize([[[123, -45]]], size=20)
    ys, xs = np.nonzero(image)
    assert image.sum() > 0.3
    assert abs(np.average(ys, weights=image[ys, xs]) - 9.5) < 0.6
    assert abs(np.average(xs, weights=image[ys, xs]) - 9.5) < 0.6


def test_line_width_adds_ink():
    """A wider line puts more ink on the image."""
    assert rasterize(HOUSE, line_width=3.0).sum() > 1.8 * rasterize(HOUSE, line_width=1.0).sum()


def test_antialiasing_gives_partial_values():
    """Supersampling produces grey levels, not just 0 and 1."""
    image = rasterize([[[0, 0], [100, 37]]], size=32)
    assert ((image > 0.05) & (image < 0.95)).any()


def test_rasterize_stroke3_matches_polylines():
    """rasterize_stroke3 draws the same image as rasterize on the equivalent polylines."""
    s3 = polylines_to_stroke3(HOUSE, origin=(5, 5))
    np.testing.assert_array_equal(rasterize_stroke3(s3, size=24), rasterize(HOUSE, size=24))
    assert not rasterize_stroke3(np.zeros((0, 3))).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, r"^size must be a positive whole number of pixels; got 0$"),
        ({"size": 4.5}, r"^size must be a positive whole number"),
        ({"line_width": 0}, r"^line_width must be a positive number of pixels"),
        ({"margin": 0.5}, r"^margin must be in \[0, 0.5\)"),
    ],
)
def test_bad_arguments_are_reported(kwargs, message):
    """Invalid size, line width or margin raise StrokeError naming the argument."""
    with pytest.raises(StrokeError, match=message):
        rasterize(HOUSE, **kwargs)


def test_bad_strokes_are_reported():
    """Malformed strokes give the validator's path-like message."""
    with pytest.raises(StrokeError, match=r"^strokes\[0\]\[1\] has a value that is not finite$"):
        rasterize([[[0, 0], [np.nan, 1]]])
