"""Paint-layer rasters through a real server on 127.0.0.1: suggest and guide from pixels."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.checkpoint import shipped
from model.library import Library

from .conftest import Client
from .test_server import check_result
from .test_server_library import a_cat, lies_on

pytestmark = pytest.mark.timeout(120)
MARGIN = 10  # pixels around the drawing in its raster


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(shipped("objects"))


def raster_of(strokes: list[np.ndarray]) -> dict:
    """The strokes painted 3 px wide on a transparent layer: a raster field, one px per unit."""
    points = np.concatenate(strokes)
    x0, y0 = np.floor(points.min(0)) - MARGIN
    x1, y1 = np.ceil(points.max(0)) + MARGIN
    im = Image.new("RGBA", (int(x1 - x0), int(y1 - y0)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for s in strokes:
        draw.line([(x - x0, y - y0) for x, y in s], fill=(30, 30, 30, 255), width=3, joint="curve")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return {"png": buf.getvalue(), "box": [float(x0), float(y0), float(x1), float(y1)]}


async def test_guide_from_a_painted_drawing_finds_that_drawing(client: Client, library) -> None:
    """A library cat painted as pixels is traced, and the guide lays that cat under it."""
    cat = a_cat(library)
    await client.send(
        {"type": "guide", "id": "g", "raster": raster_of(cat), "conditions": {"category": "cat"}}
    )
    reply = await client.recv()
    assert reply["type"] == "guide", reply
    assert lies_on(reply["drawings"][0]["strokes"], cat, 0.05)


async def test_complete_from_a_painted_drawing_streams_alternatives(server) -> None:
    """complete with a raster and no strokes works as with strokes, in a JSON frame (base64)."""
    client = await Client.open(server.url, binary=False)
    try:
        cat = a_cat(Library.load(shipped("objects")), 1)
        raster = raster_of(cat[: max(1, len(cat) // 2)])
        raster["png"] = base64.b64encode(raster["png"]).decode()
        result = await client.suggest(
            mode="complete",
            raster=raster,
            n=2,
            max_points=150,
            seed=4,
            conditions={"category": "cat"},
        )
        check_result(result, 2)
        assert any(result.samples)
    finally:
        await client.close()


async def test_an_empty_or_broken_raster_gets_an_error_and_the_connection_goes_on(client):
    """A blank layer is bad_request saying it looks empty; bytes Pillow cannot read say so."""
    buf = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(buf, "PNG")
    blank = {"png": buf.getvalue(), "box": [0, 0, 64, 64]}
    await client.send({"type": "suggest", "id": "e", "mode": "complete", "raster": blank})
    error = await client.expect_error("bad_request", "the layer looks empty")
    assert error["id"] == "e"
    broken = {"png": buf.getvalue()[:40], "box": [0, 0, 64, 64]}
    await client.send({"type": "guide", "id": "b", "raster": broken})
    await client.expect_error("bad_request", "raster.png could not be decoded")
    result = await client.suggest("after", mode="generate", n=1)
    assert result.end["type"] == "done"


async def test_a_raster_that_traces_to_too_many_strokes_is_too_large(client: Client) -> None:
    """1,200 separate dashes are more strokes than a request may carry: too_large, and the
    message says to select a smaller area."""
    im = Image.new("RGBA", (480, 360), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for row in range(30):
        for col in range(40):
            draw.line([(col * 12 + 2, row * 12 + 5), (col * 12 + 9, row * 12 + 5)], fill="black")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    raster = {"png": buf.getvalue(), "box": [0, 0, 480, 360]}
    await client.send({"type": "guide", "id": "many", "raster": raster})
    error = await client.expect_error("too_large", "traces to 1200 strokes")
    assert "select a smaller area" in error["message"] and error["id"] == "many"
