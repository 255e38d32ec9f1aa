"""What a greedy or hostile client costs everyone else: the server's fairness, its raster limits
and its shutdown, measured on the real command (`python -m sketch_server`) on 127.0.0.1.

    python bench/bench_hostile.py [--seconds 8] [--greedy 16]

1. Fairness within a model: a normal client's `faces` suggest (n 3 as the add-ons ask, 60
   points) and a normal `objects` guide, sent one after another, p50 and p95 unloaded and while
   `--greedy` connections (in a process of their own, at normal priority, then at nice 19 as if
   from another machine) each hold as much as a connection may: four heavy `faces` suggests
   (n 8, 1,000 points) and four heavy guides (a 300-point drawing, k 16).
2. A hostile raster: CPU seconds and peak memory of the tracer on the worst rasters within and
   beyond the limits (a 4096 x 4096 noise PNG, one Pillow decodes larger than its first header
   says, 30 % dots at 1024 px), each in a fresh process as the server's trace workers are.
3. Shutdown: 30 open requests of every kind on five connections, then SIGTERM: seconds until
   the process has exited, and whether every request got an answer.
4. Hostile frames: `--frames` frames over eight connections at once, each a valid suggest or
   guide with a field or two replaced by junk, or random bytes, or a frame that fails as a
   whole; every frame with a readable id must get exactly one answer, none `internal`, and a
   normal request afterwards must still be answered (0 internal, 0 lost, 0 hangs).
5. Rasters beside a normal client: a normal `objects` suggest of strokes and one of a raster
   (a face on grainy paper, 120 KB), one a second, p50 unloaded and while four connections keep
   sending hostile rasters (4096 x 4096 noise and solid black, 30 % dots, two headers).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.served import launch, stop_server  # noqa: E402
from wire.protocol import decode, encode  # noqa: E402

FACE = [[[10, 10], [60, 12], [62, 58]], [[20, 30], [40, 31]]]
NORMAL = {"type": "suggest", "model": "faces", "mode": "generate", "max_points": 60, "n": 3,
          "use_library": False}  # fmt: skip
HEAVY = {"type": "suggest", "model": "faces", "mode": "generate", "max_points": 1000, "n": 8,
         "use_library": False}  # fmt: skip


def circle(n: int, r: float = 80.0) -> list[list[float]]:
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([128 + r * np.cos(t), 128 + r * np.sin(t)], 1).tolist()


class Conn:
    def __init__(self, ws: object) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> Conn:
        from websockets.asyncio.client import connect

        c = cls(await connect(url, max_size=16 << 20, ping_interval=None))
        await c.ws.send(encode({"type": "hello", "protocol": 1, "client": "bench/1"}))
        assert decode(await c.ws.recv())["type"] == "welcome"
        return c

    async def until_end(self, rid: object) -> dict:
        while True:
            m = decode(await self.ws.recv())
            if m.get("id") == rid and m["type"] in ("done", "guide", "error"):
                return m

    async def timed(self, msg: dict) -> float:
        started = time.perf_counter()
        await self.ws.send(encode(msg))
        end = await self.until_end(msg["id"])
        if end["type"] == "error":
            raise RuntimeError(f"{msg['type']} failed: {end}")
        return time.perf_counter() - started


async def normal_latencies(url: str, count: int) -> tuple[list[float], list[float]]:
    c = await Conn.open(url)
    guide = {"type": "guide", "model": "objects", "strokes": [circle(40)], "k": 4}
    suggests, guides = [], []
    for i in range(count):
        suggests.append(await c.timed({**NORMAL, "id": f"s{i}", "seed": i}))
        guides.append(await c.timed({**guide, "id": f"g{i}"}))
    await c.ws.close()
    return suggests, guides


async def greedy(url: str, stop: asyncio.Event, index: int) -> None:
    """A connection that holds as much as it may: four heavy suggests and four heavy guides
    open at all times, each replaced as soon as it ends."""
    c = await Conn.open(url)
    heavy_guide = {"type": "guide", "model": "objects", "strokes": [circle(300)], "k": 16}
    sent = 0

    async def send(kind: str) -> None:
        nonlocal sent
        sent += 1
        msg = {**HEAVY, "seed": sent} if kind == "s" else heavy_guide
        await c.ws.send(encode({**msg, "id": f"{kind}{index}-{sent}"}))

    try:
        for _ in range(4):
            await send("s")
            await send("g")
        while not stop.is_set():
            m = decode(await c.ws.recv())
            if m["type"] in ("done", "guide", "error"):
                await send(str(m.get("id", "s"))[0] if m["type"] != "error" else "s")
    finally:
        await c.ws.close()


def ms(values: list[float], q: float) -> float:
    ordered = sorted(v * 1000 for v in values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def greedy_clients(url: str, count: int, seconds: float) -> None:
    """--greedy-at mode: `count` greedy connections for `seconds`, in a process of their own so
    that their traffic does not slow the normal client's own event loop."""
    stop = asyncio.Event()
    loud = [asyncio.create_task(greedy(url, stop, i)) for i in range(count)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*loud, return_exceptions=True)


async def fairness(greedy_count: int, seconds: float, nice: int) -> None:
    proc, url = await asyncio.to_thread(launch, log_level="error")
    try:
        await normal_latencies(url, 3)  # warm up
        quiet = await normal_latencies(url, 15)
        loud = subprocess.Popen(
            [sys.executable, __file__, "--greedy-at", url, "--greedy", str(greedy_count),
             "--seconds", str(seconds + 60)],
            cwd=REPO, preexec_fn=lambda: os.nice(nice),
        )  # fmt: skip
        await asyncio.sleep(3.0)
        loaded = await normal_latencies(url, 15)
        loud.terminate()
        loud.wait()
    finally:
        await asyncio.to_thread(stop_server, proc)
    where = "at nice 19, as if from another machine" if nice else "on this machine"
    print(f"\n### Fairness: a normal client beside {greedy_count} greedy connections ({where})\n")
    print(
        "| request | unloaded p50 | p95 | loaded p50 | p95 | p50 ratio |\n|---|---|---|---|---|---|"
    )
    for k, label in enumerate(("faces suggest (n 3, 60 points)", "objects guide (k 4)")):
        q, loud_ = quiet[k], loaded[k]
        print(
            f"| {label} | {ms(q, 0.5):.0f} ms | {ms(q, 0.95):.0f} ms | {ms(loud_, 0.5):.0f} ms "
            f"| {ms(loud_, 0.95):.0f} ms | {statistics.median(loud_) / statistics.median(q):.1f}x |"
        )


RASTER_CHILD = """
import resource, sys, time
sys.path.insert(0, {repo!r})
from model.vectorise import vectorise
png = open({path!r}, "rb").read()
t = time.process_time()
try:
    outcome = f"{{len(vectorise(png, (0, 0, 1, 1)))}} strokes"
except Exception as e:
    outcome = type(e).__name__ + ": " + str(e)[:60]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{time.process_time() - t:.2f}}|{{peak:.0f}}|{{outcome}}")
"""


def hostile_rasters(folder: Path) -> None:
    from PIL import Image

    from tests.test_server_raster import png_of, two_headers

    rng = np.random.default_rng(0)
    cases = {
        "4096 x 4096 noise (16.8 MB)": png_of(
            Image.fromarray((rng.random((4096, 4096)) * 255).astype(np.uint8))
        ),
        "64 x 64 header, 5000 x 5000 decoded": two_headers(
            (64, 64), Image.new("L", (5000, 5000), 255)
        ),
        "4096 x 4096 solid black": png_of(Image.new("L", (4096, 4096), 0)),
        "1024 x 1024, 30 % dots (the worst within the limits)": png_of(
            Image.fromarray(np.where(rng.random((1024, 1024)) < 0.3, 0, 255).astype(np.uint8))
        ),
    }
    print("\n### Hostile rasters (the tracer in a fresh process, as the trace workers are)\n")
    print("| raster | bytes | CPU | peak memory of the process | outcome |\n|---|---|---|---|---|")
    for label, png in cases.items():
        path = folder / "raster.png"
        path.write_bytes(png)
        code = RASTER_CHILD.format(repo=str(REPO), path=str(path))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        cpu, mem, outcome = out.stdout.strip().split("|", 2)
        print(f"| {label} | {len(png):,} | {cpu} s | {mem} MB | {outcome} |")


async def shutdown() -> None:
    from tests.test_server_command import _dots_png

    proc, url = await asyncio.to_thread(
        launch, "--model", str(REPO / "model/weights/objects"), log_level="error"
    )
    conns = [await Conn.open(url) for _ in range(5)]
    raster = {"png": _dots_png(), "box": [0, 0, 100, 100]}
    kinds = [
        {"type": "suggest", "mode": "generate", "max_points": 1000, "n": 4, "use_library": False},
        {"type": "suggest", "mode": "generate", "max_points": 1000, "use_library": False},
        {"type": "suggest", "mode": "complete", "strokes": FACE, "max_points": 1000},
        {"type": "guide", "strokes": FACE},
        {"type": "suggest", "mode": "complete", "raster": raster},
        {"type": "guide", "raster": raster},
    ]
    for i, c in enumerate(conns):
        for k, msg in enumerate(kinds):
            await c.ws.send(encode({**msg, "id": f"{i}-{k}"}))
    await asyncio.sleep(0.3)
    signalled = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    answered = 0
    for c in conns:
        try:
            while True:
                if decode(await c.ws.recv())["type"] in ("done", "guide", "error"):
                    answered += 1
        except Exception:
            pass
    await asyncio.to_thread(proc.wait)
    took = time.perf_counter() - signalled
    print("\n### Shutdown with 30 open requests of every kind\n")
    print(f"| answered | exit after SIGTERM |\n|---|---|\n| {answered} of 30 | {took:.2f} s |")


JUNK = [None, True, -1, 2**64 - 1, 1e308, float("nan"), "", "x" * 200, b"\x00\xff", [], {}, [[[]]],
        {"a": [1, 2]}, [[0, 0]] * 3, [[[1e13, 0], [1, 1]]]]  # fmt: skip
FIELDS = ["mode", "strokes", "conditions", "n", "temperature", "seed", "max_points", "bounds",
          "model", "k", "use_library", "strength", "raster"]  # fmt: skip


def hostile_frame(rng: np.random.Generator, rid: str) -> tuple[bytes | str, bool]:
    """A hostile frame and whether its id is readable (so that it must be answered)."""
    import json

    import msgpack

    kind = rng.integers(6)
    if kind == 0:
        return bytes(rng.integers(0, 256, rng.integers(1, 60), dtype=np.uint8)), False
    good = (
        {"type": "suggest", "id": rid, "mode": "complete", "strokes": FACE, "max_points": 8}
        if rng.random() < 0.7
        else {"type": "guide", "id": rid, "strokes": FACE}
    )
    for _ in range(rng.integers(1, 3)):
        good[FIELDS[rng.integers(len(FIELDS))]] = JUNK[rng.integers(len(JUNK))]
    if kind == 1:  # fails as a whole, its map still readable
        return msgpack.packb(good, use_bin_type=True) + b"\x00", True
    if kind == 2:
        try:
            return json.dumps(good), True
        except (TypeError, ValueError):
            pass
    return msgpack.packb(good, use_bin_type=True), True


async def hostile_frames(total: int) -> None:
    proc, url = await asyncio.to_thread(
        launch, "--model", str(REPO / "model/weights/objects"), log_level="error"
    )
    rng = np.random.default_rng(0)
    stats = {"sent": 0, "answers": 0, "internal": 0, "lost": 0, "hangs": 0}

    async def one(k: int) -> None:
        c = await Conn.open(url)
        waiting: set[str] = set()
        for i in range(total // 8):
            rid = f"{k}-{i}"
            frame, readable = hostile_frame(rng, rid)
            await c.ws.send(frame)
            stats["sent"] += 1
            if readable:
                waiting.add(rid)
            while len(waiting) >= 3:  # keep within the connection's limits, as a client would
                try:
                    m = decode(await asyncio.wait_for(c.ws.recv(), 30))
                except TimeoutError:
                    stats["hangs"] += 1
                    waiting.clear()
                    break
                if m["type"] in ("done", "guide", "error") and m.get("id") in waiting:
                    waiting.discard(m["id"])
                    stats["answers"] += 1
                    stats["internal"] += m.get("code") == "internal"
        try:
            async with asyncio.timeout(30):
                while waiting:
                    m = decode(await c.ws.recv())
                    if m["type"] in ("done", "guide", "error") and m.get("id") in waiting:
                        waiting.discard(m["id"])
                        stats["answers"] += 1
                        stats["internal"] += m.get("code") == "internal"
        except TimeoutError:
            stats["lost"] += len(waiting)
        await c.ws.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(8)))
    after = await Conn.open(url)
    normal = await after.timed({**NORMAL, "model": "objects", "id": "after"})
    await asyncio.to_thread(stop_server, proc)
    print(f"\n### Hostile frames ({time.perf_counter() - started:.0f} s)\n")
    print("| frames | answers | internal | lost | hangs | a normal request afterwards |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {stats['sent']} | {stats['answers']} | {stats['internal']} | {stats['lost']} | "
        f"{stats['hangs']} | answered in {normal * 1000:.0f} ms |"
    )


def hostile_raster_messages() -> list[dict]:
    from PIL import Image

    from tests.test_server_raster import png_of, two_headers

    rng = np.random.default_rng(1)
    pngs = [
        png_of(Image.fromarray(rng.random((4096, 4096)) < 0.5).convert("1")),  # 2.1 MB
        png_of(Image.new("L", (4096, 4096), 0)),
        png_of(Image.fromarray(np.where(rng.random((1024, 1024)) < 0.3, 0, 255).astype(np.uint8))),
        two_headers((64, 64), Image.new("L", (5000, 5000), 255)),
    ]
    return [{"type": "guide", "raster": {"png": p, "box": [0, 0, 100, 100]}} for p in pngs]


def scanned_face() -> dict:
    """A face drawn 5 px wide on paper with a faint grain, as a scan or a textured canvas
    gives: a 514 x 517 PNG of about 120 KB."""
    from PIL import Image, ImageDraw

    from tests.sketches import face
    from tests.test_server_raster import png_of

    strokes = [s * 3 for s in face()]
    points = np.concatenate(strokes)
    (x0, y0), (x1, y1) = points.min(0) - 20, points.max(0) + 20
    grain = np.random.default_rng(0).integers(-1, 2, (int(y1 - y0), int(x1 - x0)))
    image = Image.fromarray((245 + grain).astype(np.uint8)).convert("RGB")
    pen = ImageDraw.Draw(image)
    for s in strokes:
        pen.line([(x - x0, y - y0) for x, y in s], fill=(40, 40, 40), width=5, joint="curve")
    return {"png": png_of(image), "box": [float(x0), float(y0), float(x1), float(y1)]}


async def raster_attacker(url: str, message: dict, stop: asyncio.Event, counts: dict) -> None:
    """One hostile raster open at all times, sent again as soon as it is answered."""
    c = await Conn.open(url)
    sent = 0
    while not stop.is_set():
        sent += 1
        await c.ws.send(encode({**message, "id": sent}))
        end = await c.until_end(sent)
        counts[end.get("code", end["type"])] = counts.get(end.get("code", end["type"]), 0) + 1
    await c.ws.close()


async def rasters_beside_normal(count: int) -> None:
    drawing = scanned_face()
    messages = {
        "strokes suggest (complete, 60 points)": {
            "type": "suggest", "mode": "complete", "strokes": FACE, "max_points": 60,
            "use_library": False},
        f"raster suggest ({len(drawing['png']) / 1000:.0f} KB PNG)": {
            "type": "suggest", "mode": "complete", "raster": drawing, "max_points": 60,
            "use_library": False},
    }  # fmt: skip
    proc, url = await asyncio.to_thread(
        launch, "--model", str(REPO / "model/weights/objects"), log_level="error"
    )
    try:

        async def timings(tag: str, n: int = count) -> list[list[float]]:
            """A fresh connection's requests, one a second, as an artist's would come."""
            c = await Conn.open(url)
            seconds: list[list[float]] = [[] for _ in messages]
            for i in range(n):
                for k, m in enumerate(messages.values()):
                    seconds[k].append(await c.timed({**m, "id": f"{tag}{k}-{i}", "seed": i}))
                await asyncio.sleep(1.0)
            await c.ws.close()
            return seconds

        await timings("warm", 2)
        quiet = await timings("q")
        stop, counts = asyncio.Event(), {}
        attackers = [
            asyncio.create_task(raster_attacker(url, m, stop, counts))
            for m in hostile_raster_messages()
        ]
        await asyncio.sleep(2.0)
        loaded = await timings("l")
        stop.set()
        await asyncio.wait(attackers, timeout=30)
    finally:
        await asyncio.to_thread(stop_server, proc)
    print("\n### A normal client beside four connections sending hostile rasters\n")
    print(f"Hostile rasters answered meanwhile: {dict(sorted(counts.items()))}\n")
    print("| request | unloaded p50 | loaded p50 | p95 | p50 ratio |\n|---|---|---|---|---|")
    for label, q, loud in zip(messages, quiet, loaded):
        print(
            f"| {label} | {ms(q, 0.5):.0f} ms | {ms(loud, 0.5):.0f} ms | {ms(loud, 0.95):.0f} ms "
            f"| {statistics.median(loud) / statistics.median(q):.1f}x |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--greedy", type=int, default=16)
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: 1,2,3,4,5")
    ap.add_argument("--frames", type=int, default=4000, help="hostile frames for part 4")
    ap.add_argument("--greedy-at", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.greedy_at:
        asyncio.run(greedy_clients(args.greedy_at, args.greedy, args.seconds))
        return
    skip = set(args.skip.split(","))

    print(f"## bench_hostile: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if "1" not in skip:
        for nice in (0, 19):
            asyncio.run(fairness(args.greedy, args.seconds, nice))
    if "2" not in skip:
        with tempfile.TemporaryDirectory() as tmp:
            hostile_rasters(Path(tmp))
    if "3" not in skip:
        asyncio.run(shutdown())
    if "4" not in skip:
        asyncio.run(hostile_frames(args.frames))
    if "5" not in skip:
        asyncio.run(rasters_beside_normal(12))


if __name__ == "__main__":
    main()
