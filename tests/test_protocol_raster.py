"""The optional `raster` field of `suggest` and `guide` (a paint layer's PNG and its box), and
the image of `trace`."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import msgpack
import pytest

from wire.protocol import (
    MAX_RASTER_BYTES,
    Guide,
    ProtocolError,
    Raster,
    Suggest,
    Trace,
    decode,
    encode,
    parse_client_message,
    parse_server_message,
    png_size,
)


def tiny_png(width: int = 2, height: int = 3, pad: int = 0) -> bytes:
    """A valid-headed PNG of that size (IHDR then IEND; `pad` bytes of ancillary chunk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    extra = chunk(b"tEXt", b"x" * pad) if pad else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IEND", b"")


def suggest(raster: Any, **changes: Any) -> dict[str, Any]:
    d = {"type": "suggest", "id": "r", "mode": "complete", "strokes": [], "raster": raster}
    d.update(changes)
    return d


def test_suggest_and_guide_carry_a_raster_through_msgpack_and_json():
    """A raster round-trips in binary frames (bin) and text frames (base64), for both types."""
    png = tiny_png()
    for msg in (
        Suggest(id="r", mode="complete", raster=Raster(png=png, box=(0, 0, 20, 30))),
        Guide(id="g", raster={"png": png, "box": [0, 0, 20, 30]}),
    ):
        for binary in (True, False):
            back = parse_client_message(decode(encode(msg, binary=binary)))
            assert back == msg and back.raster.png == png and back.raster.box == (0, 0, 20, 30)
            assert back.strokes == ()
    text = encode(Guide(id="g", raster=Raster(png=png, box=(0, 0, 1, 1))), binary=False)
    assert base64.b64encode(png).decode() in text
    assert png_size(png) == (2, 3)


@pytest.mark.parametrize(
    "raster,code,message",
    [
        ("abc", "bad_request", "raster must be a map, not string"),
        ({"box": [0, 0, 1, 1]}, "bad_request", "raster.png is required"),
        ({"png": tiny_png()}, "bad_request", "raster.box is required"),
        (
            {"png": 5, "box": [0, 0, 1, 1]},
            "bad_request",
            "raster.png must be PNG bytes (binary, or base64 text in JSON), not integer",
        ),
        ({"png": "not base64!", "box": [0, 0, 1, 1]}, "bad_request", None),
        (
            {"png": b"GIF89a" + b"\x00" * 30, "box": [0, 0, 1, 1]},
            "bad_request",
            "raster.png is not a PNG image (it must start with the PNG signature and IHDR)",
        ),
        (
            {"png": tiny_png(), "box": [0, 0, 0, 1]},
            "bad_request",
            "raster.box [0, 0, 0, 1] must have x0 < x1 and y0 < y1",
        ),
        (
            {"png": tiny_png(), "box": [0, 0, 1]},
            "bad_request",
            "raster.box must be 4 numbers [x0, y0, x1, y1], not a list of 3",
        ),
        (
            {"png": tiny_png(4097, 10), "box": [0, 0, 1, 1]},
            "too_large",
            "raster.png is 4097 x 10 pixels; the limit is 4096 x 4096; "
            "select a smaller area and try again",
        ),
        (
            {"png": tiny_png(pad=MAX_RASTER_BYTES), "box": [0, 0, 1, 1]},
            "too_large",
            f"raster.png is {MAX_RASTER_BYTES + 57} bytes; the limit is {MAX_RASTER_BYTES}; "
            "select a smaller area and try again",
        ),
    ],
)
def test_bad_rasters_get_an_error_that_names_the_field(raster, code, message):
    """Each malformed or oversize raster fails with its code and a message naming the field."""
    with pytest.raises(ProtocolError) as info:
        parse_client_message(suggest(raster))
    assert info.value.code == code and info.value.id == "r"
    if message is None:
        assert info.value.message == "raster.png is text but not valid base64"
    else:
        assert info.value.message == message


def test_strokes_or_a_raster_is_needed():
    """complete and guide need strokes or a raster; with a raster, empty strokes are fine."""
    with pytest.raises(ProtocolError, match=r"needs at least one stroke in strokes \(or a raster"):
        parse_client_message(suggest(None))
    with pytest.raises(ProtocolError, match=r"at least one stroke to guide \(or send a raster"):
        parse_client_message({"type": "guide", "id": "g"})
    raster = {"png": tiny_png(), "box": [0, 0, 1, 1]}
    assert parse_client_message({"type": "guide", "id": "g", "raster": raster}).strokes == ()


def test_a_largest_raster_fits_in_a_frame_even_as_json():
    """A PNG at the byte limit fits a msgpack frame and a JSON frame (base64 is 4/3 longer)."""
    big = Suggest(
        id="r",
        mode="complete",
        raster=Raster(png=tiny_png(pad=MAX_RASTER_BYTES - 100), box=(0, 0, 1, 1)),
    )
    for binary in (True, False):
        assert parse_client_message(decode(encode(big, binary=binary))) == big
    assert isinstance(msgpack.unpackb(encode(big))["raster"]["png"], bytes)


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60  # a JPEG's signature; the decoder checks the rest


def test_a_trace_carries_a_png_or_a_jpeg_through_msgpack_and_json():
    """`trace` takes the image as PNG or JPEG bytes (base64 text in JSON) and its box."""
    for image in (tiny_png(), JPEG):
        msg = Trace(id="t", image=image, box=(0, 0, 40, 30))
        for binary in (True, False):
            back = parse_client_message(decode(encode(msg, binary=binary)))
            assert back == msg and isinstance(back, Trace) and back.image == image


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"image": b"GIF89a" + b"\x00" * 30}, "bad_request", "image is not a PNG or JPEG image"),
        ({"image": 7}, "bad_request", "image must be PNG or JPEG bytes"),
        ({"image": "%%%"}, "bad_request", "image is text but not valid base64"),
        ({"image": tiny_png(5000, 10)}, "too_large", "image is 5000 x 10 pixels"),
        ({"image": JPEG + b"\x00" * MAX_RASTER_BYTES}, "too_large", "the limit is 8000000"),
        ({"box": [0, 0, 0, 10]}, "bad_request", "box [0, 0, 0, 10] must have x0 < x1"),
        ({"box": None}, "bad_request", "box is required"),
    ],
)
def test_a_bad_trace_gets_an_error_that_names_the_field(
    fields: dict[str, Any], code: str, message: str
) -> None:
    d = {"type": "trace", "id": "t", "image": JPEG, "box": [0, 0, 10, 10], **fields}
    with pytest.raises(ProtocolError) as info:
        parse_client_message(d)
    assert info.value.code == code and message in info.value.message and info.value.id == "t"


def test_the_welcome_says_whether_the_server_traces() -> None:
    """An older server's welcome has no `trace` field: it reads as False."""
    base = {"type": "welcome", "protocol": 1, "server": "ai-sketcher/0", "device": "cpu"}
    assert parse_server_message({**base, "models": []}).trace is False
    assert parse_server_message({**base, "models": [], "trace": True}).trace is True
