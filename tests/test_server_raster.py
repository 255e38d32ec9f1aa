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


def png_of(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def two_headers(small: tuple[int, int], big: Image.Image) -> bytes:
    """A PNG whose first IHDR chunk says `small` while the image Pillow decodes is `big`: the
    trick that got a 10000 x 10000 decode past a check of the first header."""
    import struct
    import zlib

    real = png_of(big)
    ihdr = struct.pack(">II", *small) + real[24:29]  # the small size, the real depth and kind
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return real[:8] + chunk + real[8:]


HOSTILE = {
    "two headers, 5000 x 5000 decoded": (
        lambda: two_headers((64, 64), Image.new("L", (5000, 5000), 255)),
        "decodes to 5000 x 5000 pixels",
    ),
    "solid black 4096 x 4096 (16 KB)": (
        lambda: png_of(Image.new("L", (4096, 4096), 0)),
        "100% of the raster is ink",
    ),
    "a dense grid": (
        lambda: png_of(
            Image.fromarray(
                np.where((np.indices((1024, 1024)) % 8 == 0).any(0), 0, 255).astype(np.uint8)
            )
        ),
        "pixels long; the limit is 60000",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
async def test_a_hostile_raster_is_too_large_and_the_server_goes_on(client, case) -> None:
    """What Pillow will decode is what is checked; fills and endless lines are refused before
    they are traced; the same connection then works as before."""
    make, text = HOSTILE[case]
    raster = {"png": make(), "box": [0, 0, 100, 100]}
    await client.send({"type": "suggest", "id": "h", "mode": "complete", "raster": raster})
    error = await client.expect_error("too_large", text)
    assert error["id"] == "h"
    check_result(await client.suggest(mode="generate", max_points=10), 1)


async def test_ordinary_requests_are_answered_while_others_send_hostile_rasters(server) -> None:
    """Four connections tracing the worst rasters that pass the limits do not hold up another
    client's suggest, whose strokes come in a large frame (bench/bench_hostile.py measures by
    how much)."""
    hostile = [await Client.open(server.url) for _ in range(4)]
    normal = await Client.open(server.url)
    try:
        rng = np.random.default_rng(0)
        dots = np.where(rng.random((1024, 1024)) < 0.3, 0, 255).astype(np.uint8)
        raster = {"png": png_of(Image.fromarray(dots)), "box": [0, 0, 100, 100]}
        for i, c in enumerate(hostile):
            await c.send({"type": "guide", "id": f"{i}", "raster": raster})
        strokes = [[[float(x), float((x * 7) % 300)] for x in range(200)] for _ in range(45)]
        result = await normal.suggest(mode="complete", strokes=strokes, max_points=20, seed=1)
        check_result(result, 1)
        for c in hostile:  # every hostile request is answered too: nothing is lost
            assert (await c.recv(timeout=60))["type"] in ("guide", "error")
    finally:
        for c in (*hostile, normal):
            await c.close()


async def test_a_trace_past_its_time_or_memory_is_stopped_and_the_pool_goes_on() -> None:
    """The trace workers are real processes: one that runs past the timeout, or past its memory,
    is killed and replaced, the trace ends in TooMuchToTrace, and the next trace works."""
    from model.vectorise import TooMuchToTrace
    from sketch_server.rasters import TracePool

    small = png_of(Image.new("L", (64, 64), 255))
    dots = png_of(
        Image.fromarray(
            np.where(np.random.default_rng(0).random((1024, 1024)) < 0.3, 0, 255).astype(np.uint8)
        )
    )
    slow = TracePool(timeout=0.05)
    try:
        with pytest.raises(TooMuchToTrace, match="took over 0.05 s"):
            await slow.trace(dots, (0, 0, 1, 1))
        slow.timeout = 60
        assert await slow.trace(small, (0, 0, 1, 1)) == []
    finally:
        slow.close()
    tight = TracePool(memory=48 << 20)  # less than decoding 4096 x 4096 RGBA takes
    try:
        with pytest.raises(TooMuchToTrace, match="ran out of memory"):
            await tight.trace(png_of(Image.new("RGBA", (4096, 4096), "white")), (0, 0, 1, 1))
        assert await tight.trace(small, (0, 0, 1, 1)) == []
    finally:
        tight.close()


async def test_a_connection_that_traced_little_lately_gets_the_light_lane() -> None:
    """The light lane's worker is for connections that have traced little lately, while it is
    free; a connection that keeps the tracer busy, or one that finds the light lane taken, waits
    its turn in the shared lane, whose workers yield the CPU."""
    from sketch_server.rasters import HALF_LIFE, LIGHT_BUDGET, TraceAccount, TracePool

    pool = TracePool()
    try:
        artist, greedy = TraceAccount(), TraceAccount()
        assert pool.lane_for(artist, 0.0) is pool.light
        greedy.charge(LIGHT_BUDGET * 1.5, 0.0)
        assert pool.lane_for(greedy, 0.0) is pool.shared
        assert pool.lane_for(greedy, HALF_LIFE) is pool.light  # it counts half after HALF_LIFE
        assert pool.shared.nice > pool.light.nice == 0

        small = png_of(Image.new("L", (64, 64), 255))
        assert await pool.trace(small, (0, 0, 1, 1), artist) == []
        assert artist.used > 0  # charged for the time its trace took
        async with pool.light.turns:  # the light lane busy: even an artist goes to the shared one
            assert pool.lane_for(TraceAccount(), 0.0) is pool.shared
            assert await pool.trace(small, (0, 0, 1, 1), TraceAccount()) == []
    finally:
        pool.close()
