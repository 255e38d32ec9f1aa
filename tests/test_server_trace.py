"""`trace` through a real server on 127.0.0.1: a photo's line drawing as one streamed sample."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from .conftest import Client
from .test_server import check_result

pytestmark = pytest.mark.timeout(120)
BOX = [100.0, 50.0, 420.0, 290.0]  # where the 640 x 480 photo lies in the document


def photo(kind: str = "JPEG") -> bytes:
    """A photo-like image: a dark disc (centre 240, 240, radius 120) and a bar, on a gradient
    with grain."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:480, 0:640]
    pixels = 200 - 0.05 * x + rng.normal(0, 4, (480, 640))
    pixels[(x - 240) ** 2 + (y - 240) ** 2 < 120**2] = 40
    pixels[380:420, 80:560] = 70
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, kind)
    return buf.getvalue()


async def test_the_welcome_says_the_server_traces(server) -> None:
    client = await Client.open(server.url, hello=False)
    try:
        assert (await client.hello())["trace"] is True
    finally:
        await client.close()


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
async def test_a_photo_comes_back_as_strokes_on_its_shapes(client: Client, kind: str) -> None:
    """The strokes stream like a suggestion's one sample, inside the box, and trace the disc's
    outline (in document units: the photo's 640 x 480 pixels spread over BOX)."""
    await client.send({"type": "trace", "id": "t", "image": photo(kind), "box": BOX})
    result = await client.result("t")
    check_result(result, 1)
    assert result.end["sources"] == ["trace"] and not result.end["cancelled"]
    points = np.array([p for stroke in result.samples[0] for p in stroke])
    assert (points >= np.array(BOX[:2]) - 1).all() and (points <= np.array(BOX[2:]) + 1).all()
    scale = (BOX[2] - BOX[0]) / 640
    pixels = (points - np.array(BOX[:2])) / scale
    off_disc = np.abs(np.hypot(pixels[:, 0] - 240, pixels[:, 1] - 240) - 120)
    assert (off_disc < 6).mean() > 0.3, "much of the drawing is the disc's outline"
    angles = np.arctan2(pixels[off_disc < 6, 1] - 240, pixels[off_disc < 6, 0] - 240)
    assert len(np.unique(np.floor((angles + np.pi) / (np.pi / 8)))) >= 12, "all round the disc"


async def test_a_trace_in_a_json_frame_takes_base64(server) -> None:
    client = await Client.open(server.url, binary=False)
    try:
        image = base64.b64encode(photo()).decode()
        await client.send({"type": "trace", "id": 9, "image": image, "box": BOX})
        check_result(await client.result(9), 1)
    finally:
        await client.close()


async def test_bad_images_get_one_line_errors_and_the_connection_goes_on(client: Client) -> None:
    """Bytes that are no image, a truncated photo and a blank page each get an error naming the
    problem; a good trace after them works."""
    truncated = photo("PNG")[:400]
    buf = io.BytesIO()
    Image.new("L", (300, 200), 255).save(buf, "PNG")
    for rid, image, code, text in [
        ("a", b"GIF89a" + bytes(40), "bad_request", "not a PNG or JPEG image"),
        ("b", truncated, "bad_request", "image"),
        ("c", buf.getvalue(), "bad_request", "no lines to trace"),
    ]:
        await client.send({"type": "trace", "id": rid, "image": image, "box": BOX})
        error = await client.expect_error(code, text)
        assert error["id"] == rid and "\n" not in error["message"]
    await client.send({"type": "trace", "id": "ok", "image": photo(), "box": BOX})
    check_result(await client.result("ok"), 1)


async def test_a_cancelled_trace_ends_with_a_cancelled_done(client: Client) -> None:
    """cancel works on a trace as on a suggest: one done, cancelled, with an empty sample."""
    await client.send({"type": "trace", "id": "c", "image": photo(), "box": BOX})
    await client.send({"type": "cancel", "id": "c"})
    result = await client.result("c")
    assert result.end["type"] == "done" and result.end["cancelled"] is True, result.end
    assert result.samples == [[]] and result.strokes == []
