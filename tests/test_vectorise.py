"""model/vectorise.py on known images: a paint layer's ink comes back as centre-line strokes."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageDraw

from model.vectorise import VectoriseError, vectorise


def png(draw, size=(128, 128), background=(0, 0, 0, 0), ink=(20, 20, 20, 255)) -> bytes:
    """A PNG of `draw(ImageDraw, ink)` on a background (transparent by default)."""
    im = Image.new("RGBA", size, background)
    draw(ImageDraw.Draw(im), ink)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def circle(d, ink, cx=64, cy=64, r=40, width=3) -> None:
    h = width // 2  # PIL draws the ring inwards from the box: centre the line on radius r
    d.ellipse([cx - r - h, cy - r - h, cx + r + h, cy + r + h], outline=ink, width=width)


def test_a_circle_is_one_closed_stroke_within_2_px():
    """A drawn ring comes back as one closed stroke lying within 2 px of the circle."""
    strokes = vectorise(png(circle), (0, 0, 128, 128))
    assert len(strokes) == 1
    (stroke,) = strokes
    assert stroke[0] == stroke[-1] and len(stroke) > 8
    for x, y in stroke:
        assert abs(math.hypot(x - 64.5, y - 64.5) - 40) <= 2


def test_a_cross_is_two_strokes():
    """Two crossing lines are two strokes, each joined straight through the crossing."""

    def cross(d, ink):
        d.line([(20, 64), (108, 64)], fill=ink, width=5)
        d.line([(64, 20), (64, 108)], fill=ink, width=5)

    strokes = vectorise(png(cross), (0, 0, 128, 128))
    assert len(strokes) == 2
    spans = sorted(
        (max(x for x, _ in s) - min(x for x, _ in s), max(y for _, y in s) - min(y for _, y in s))
        for s in strokes
    )
    assert spans[0][0] < 4 and spans[0][1] > 75  # the vertical one
    assert spans[1][1] < 4 and spans[1][0] > 75  # the horizontal one


def test_dark_lines_on_a_white_opaque_layer_are_ink_and_the_box_maps_the_pixels():
    """On an opaque white layer, dark pixels are ink; the box scales pixels to document units."""

    def line(d, ink):
        d.line([(10, 30), (110, 30)], fill=ink, width=3)

    data = png(line, background=(255, 255, 255, 255), ink=(0, 0, 0, 255))
    (stroke,) = vectorise(data, (100, 200, 356, 456))  # 2 document units per pixel
    xs = [x for x, _ in stroke]
    assert min(xs) == pytest.approx(100 + 2 * 10.5, abs=4)
    assert max(xs) == pytest.approx(100 + 2 * 110.5, abs=4)
    assert all(y == pytest.approx(200 + 2 * 30.5, abs=2.5) for _, y in stroke)


def test_an_empty_or_specked_layer_has_no_strokes():
    """A blank layer, or one with only a dot of dust, gives no strokes."""
    assert vectorise(png(lambda d, ink: None), (0, 0, 128, 128)) == []
    assert (
        vectorise(png(lambda d, ink: d.point([(5, 5), (6, 5)], fill=ink)), (0, 0, 128, 128)) == []
    )
    white = png(lambda d, ink: None, background=(255, 255, 255, 255))
    assert vectorise(white, (0, 0, 128, 128)) == []


def test_bytes_that_are_not_a_png_are_refused():
    """Broken bytes raise VectoriseError naming raster.png."""
    with pytest.raises(VectoriseError, match="raster.png could not be decoded"):
        vectorise(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, (0, 0, 1, 1))


def test_a_face_is_a_closed_outline_and_two_open_eyes():
    """An outline with two arched eyes inside: one closed stroke and two open ones."""

    def face(d, ink):
        d.ellipse([250, 146, 390, 294], outline=ink, width=4)
        d.arc([290, 190, 306, 206], 180, 360, fill=ink, width=4)
        d.arc([334, 190, 350, 206], 180, 360, fill=ink, width=4)

    strokes = vectorise(png(face, size=(640, 400)), (0, 0, 640, 400))
    closed = [s for s in strokes if s[0] == s[-1]]
    assert len(strokes) == 3 and len(closed) == 1
    assert all(280 < x < 360 and 180 < y < 205 for s in strokes if s not in closed for x, y in s)


@pytest.mark.parametrize("width", [2, 3, 5])  # at 8 px and 15 degrees: 3 strokes
def test_lines_crossing_at_a_shallow_angle_are_two_strokes(width):
    """Where two lines overlap along a stretch (a 15 degree crossing), both run on through it."""

    def cross(d, ink):
        d.line([(20, 128), (236, 128)], fill=ink, width=width)
        d.line([(20, 100), (236, 156)], fill=ink, width=width)

    strokes = vectorise(png(cross, size=(256, 256)), (0, 0, 256, 256))
    assert len(strokes) == 2
    for s in strokes:  # each goes from the left edge to the right edge
        assert min(x for x, _ in s) < 30 and max(x for x, _ in s) > 226
