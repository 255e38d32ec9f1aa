"""model/lineart.py on made-up photos: outlines come back as a few strokes near them, in the
document units of the box; broken, foreign, huge and noisy images get a one-line answer fast."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy.spatial import cKDTree

from model.lineart import WORK_SIDE, TooMuchToTrace, VectoriseError, trace_image

W, H = 400, 300  # the made-up photo, in pixels; its box below is the same in document units
DISC = (130.5, 140.5, 70.5)  # centre x, centre y, radius of the dark disc's outline
RECT = (250, 60, 351, 241)  # x0, y0, x1, y1 of the grey rectangle's outline


def photo(seed: int = 0) -> Image.Image:
    """A dark disc and a grey rectangle on a smooth gradient, with film-grain noise."""
    y, x = np.mgrid[0:H, 0:W]
    im = Image.fromarray((150 + 70 * x / W + 20 * y / H).astype(np.uint8))
    d = ImageDraw.Draw(im)
    cx, cy, r = DISC
    d.ellipse([cx - r, cy - r, cx + r - 1, cy + r - 1], fill=40)
    d.rectangle([RECT[0], RECT[1], RECT[2] - 1, RECT[3] - 1], fill=90)
    grain = np.random.default_rng(seed).normal(0, 6, (H, W))
    return Image.fromarray(np.clip(np.asarray(im, float) + grain, 0, 255).astype(np.uint8))


def encoded(im: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def outline() -> np.ndarray:
    """Points every ~half unit along the true outlines of the disc and the rectangle (x, y)."""
    cx, cy, r = DISC
    t = np.linspace(0, 2 * np.pi, 900, endpoint=False)
    disc = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)
    x0, y0, x1, y1 = RECT
    xs, ys = np.linspace(x0, x1, 200), np.linspace(y0, y1, 360)
    sides = [
        np.stack([xs, np.full_like(xs, y0)], 1),
        np.stack([xs, np.full_like(xs, y1)], 1),
        np.stack([np.full_like(ys, x0), ys], 1),
        np.stack([np.full_like(ys, x1), ys], 1),
    ]
    return np.concatenate([disc, *sides])


def dense(strokes: list[list[tuple[float, float]]]) -> np.ndarray:
    """The strokes' points every ~half unit along them."""
    out = []
    for s in strokes:
        a = np.asarray(s, float)
        for p, q in zip(a[:-1], a[1:]):
            n = int(np.ceil(np.hypot(*(q - p)) * 2)) + 2
            out.append(p + np.linspace(0, 1, n)[:, None] * (q - p))
    return np.concatenate(out)


def check_outlines(strokes: list[list[tuple[float, float]]]) -> None:
    """The strokes lie near the outlines (mean under 1.5 units, none past 4) and cover them
    (95 % of the outline within 3 units of a stroke), in a handful of strokes."""
    assert 2 <= len(strokes) <= 6
    drawn, truth = dense(strokes), outline()
    to_truth = cKDTree(truth).query(drawn)[0]
    to_drawn = cKDTree(drawn).query(truth)[0]
    assert to_truth.mean() < 1.5 and to_truth.max() < 4, (to_truth.mean(), to_truth.max())
    assert (to_drawn <= 3).mean() > 0.95, (to_drawn <= 3).mean()


def test_a_photo_of_two_shapes_traces_to_their_outlines():
    """The disc and the rectangle come back as strokes along their outlines; the grain and the
    gradient give none."""
    check_outlines(trace_image(encoded(photo()), (0, 0, W, H)))


def test_a_jpeg_of_the_same_photo_traces_the_same():
    """A JPEG (with its block artefacts) is read and traced like the PNG."""
    check_outlines(trace_image(encoded(photo(), "JPEG", quality=80), (0, 0, W, H)))


def test_a_16_bit_grey_png_is_read_at_its_true_tones():
    """A 16-bit grey PNG (which Pillow would clip to white as 8-bit) traces like the 8-bit one."""
    wide = Image.fromarray(np.asarray(photo(), np.uint16) * 257)
    assert wide.mode.startswith("I;16")
    check_outlines(trace_image(encoded(wide), (0, 0, W, H)))


def test_a_photo_with_transparency_is_traced_on_white():
    """Transparent pixels are white paper, whatever colour they hide: a transparent layer with a
    dark disc on it traces to the disc's outline alone."""
    im = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    cx, cy, r = DISC
    ImageDraw.Draw(im).ellipse([cx - r, cy - r, cx + r - 1, cy + r - 1], fill=(30, 30, 30, 255))
    strokes = trace_image(encoded(im), (0, 0, W, H))
    assert len(strokes) == 1
    drawn = dense(strokes)
    assert abs(np.hypot(drawn[:, 0] - cx, drawn[:, 1] - cy) - r).mean() < 1.5


def test_a_small_icon_is_traced_too():
    """A 64 px drawing of a ring is enlarged only twice (more would blur its edges into ramps
    the line filter misses) and comes back as one closed stroke on the ring."""
    im = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(im).ellipse([10, 10, 53, 53], outline=0, width=3)
    (stroke,) = trace_image(encoded(im), (0, 0, 64, 64))
    assert stroke[0] == stroke[-1]
    drawn = dense([stroke])
    assert abs(np.hypot(drawn[:, 0] - 32, drawn[:, 1] - 32) - 21).max() < 2


def test_strokes_are_in_the_document_units_of_the_box():
    """The same photo traced onto another box: every point moves by that box's scale and offset
    (2 units a pixel across, half a unit down), and stays inside it."""
    data = encoded(photo())
    plain = trace_image(data, (0, 0, W, H))
    box = (100.0, -50.0, 100.0 + 2 * W, -50.0 + 0.5 * H)
    moved = trace_image(data, box)
    assert len(moved) == len(plain)
    for a, b in zip(plain, moved):
        a, b = np.asarray(a), np.asarray(b)
        np.testing.assert_allclose(b[:, 0], 100 + 2 * a[:, 0], atol=1e-6)
        np.testing.assert_allclose(b[:, 1], -50 + 0.5 * a[:, 1], atol=1e-6)
        assert (b[:, 0] >= box[0]).all() and (b[:, 0] <= box[2]).all()
        assert (b[:, 1] >= box[1]).all() and (b[:, 1] <= box[3]).all()


def test_a_jpeg_turned_by_its_exif_is_traced_as_shown():
    """A phone photo stored sideways with EXIF orientation 6 is traced upright, as it is shown:
    the outlines land where the upright photo has them."""
    stored = photo().transpose(Image.Transpose.ROTATE_90)  # shown turned back by orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    check_outlines(trace_image(encoded(stored, "JPEG", quality=90, exif=exif), (0, 0, W, H)))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width: int, height: int, rows: bytes = b"") -> bytes:
    """A 1-bit grey PNG that says it is width x height, with `rows` as its compressed data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", rows or zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def bomb(side: int) -> bytes:
    """A side x side 1-bit PNG of zeros: a few KB that decode to side^2 pixels."""
    z = zlib.compressobj(9)
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte and the packed bits
    data = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return declared_png(side, side, data)


def two_headers(small: tuple[int, int], big: Image.Image) -> bytes:
    """A PNG whose first IHDR says `small` while the image Pillow decodes is `big`."""
    real = encoded(big)
    ihdr = struct.pack(">II", *small) + real[24:29]
    return real[:8] + png_chunk(b"IHDR", ihdr) + real[8:]


def refused(data: bytes, error: type[Exception], text: str, seconds: float = 1.0) -> str:
    """trace_image's error for `data`: of that type, with `text` in one line, in time."""
    started = time.perf_counter()
    with pytest.raises(error, match=text) as caught:
        trace_image(data, (0, 0, 100, 100))
    assert time.perf_counter() - started < seconds
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    return message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_image_is_refused_in_one_line(fmt):
    data = encoded(photo(), fmt)
    refused(data[: len(data) // 2], VectoriseError, "the image could not be decoded")


def test_bytes_that_are_no_image_or_another_format_are_refused_naming_what_they_are():
    refused(b"hello, this is text", VectoriseError, r"19 bytes that are no image .*'hello, t'")
    refused(encoded(photo(), "GIF"), VectoriseError, "the image is a GIF image; send a PNG or JPEG")
    refused(b"", VectoriseError, "the image is empty")


def test_an_image_declaring_100000_pixels_each_way_is_refused_before_decoding():
    refused(
        declared_png(100_000, 100_000),
        TooMuchToTrace,
        "the image is 100000 x 100000 pixels; at most 4096 each way",
    )


def test_decompression_bombs_are_refused_by_the_size_pillow_would_decode():
    """A 30000 x 30000 PNG of 100 KB, and a 5000 x 5000 one whose first header says 64 x 64,
    are refused without decoding them."""
    data = bomb(30_000)
    assert len(data) < 200_000
    refused(data, TooMuchToTrace, "30000 x 30000 pixels")
    refused(two_headers((64, 64), Image.new("L", (5000, 5000), 255)), TooMuchToTrace, "5000 x 5000")


def test_the_largest_allowed_blank_image_is_traced_quickly_to_nothing():
    """4096 x 4096 of white (a few KB) decodes, shrinks to the work size and has no lines."""
    started = time.perf_counter()
    assert trace_image(bomb(4096), (0, 0, 1, 1)) == []
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize("kind", ["grey", "colour"])
def test_noise_gives_few_strokes_or_too_much_to_trace_within_seconds(kind):
    """1024 x 1024 of random noise: either a handful of strokes or TooMuchToTrace, quickly."""
    rng = np.random.default_rng(1)
    shape = (WORK_SIDE, WORK_SIDE) if kind == "grey" else (WORK_SIDE, WORK_SIDE, 3)
    data = encoded(Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)))
    started = time.perf_counter()
    try:
        assert len(trace_image(data, (0, 0, 1, 1))) <= 50
    except TooMuchToTrace as e:
        assert "noise or texture" in str(e) and "\n" not in str(e)
    assert time.perf_counter() - started < 4  # about 0.5 s alone; 2 shared cores run slower
