"""How long model.lineart.trace_image takes on this machine, from the image's bytes to strokes.

Each case runs in a fresh process (as the server's trace workers are), first once to warm up,
then --runs times: wall-clock p50 and p95, CPU seconds of the median run, and the peak memory
the process reached above what it held with the image's bytes in hand (Linux: VmHWM after a
reset through /proc/self/clear_refs). The target is a
1024 x 1024 photo in under TARGET_S; noise must end, in strokes or TooMuchToTrace, within
NOISE_TARGET_S. Then the path a user gets: a real server (`python -m sketch_server`, its trace
workers warm) answering `trace` over a WebSocket, from sending the frame to its `done`.

    python bench/bench_trace.py [--runs 10]
"""

from __future__ import annotations

import argparse
import gc
import io
import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.served import served  # noqa: E402
from model import cli  # noqa: E402

TARGET_S = 1.0  # a 1024 x 1024 photo, decode to strokes
NOISE_TARGET_S = 2.0  # 1024 x 1024 noise, to its answer
BOX = (0.0, 0.0, 1000.0, 1000.0)


def _encoded(a: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _photo(name: str, side: int = 1024) -> np.ndarray:
    from skimage import data

    im = Image.fromarray(getattr(data, name)())
    return np.asarray(im.resize((side, side), Image.Resampling.LANCZOS))


def _noise(side: int, channels: int = 0) -> np.ndarray:
    shape = (side, side, channels) if channels else (side, side)
    return np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)


CASES: dict[str, tuple[Callable[[], bytes], float]] = {
    "astronaut 1024 x 1024 PNG (upscaled from 512)": (
        lambda: _encoded(_photo("astronaut")),
        TARGET_S,
    ),
    "astronaut 1024 x 1024 JPEG": (lambda: _encoded(_photo("astronaut"), "JPEG"), TARGET_S),
    "camera 1024 x 1024 PNG (upscaled from 512)": (lambda: _encoded(_photo("camera")), TARGET_S),
    "grey noise 1024 x 1024 PNG": (lambda: _encoded(_noise(1024)), NOISE_TARGET_S),
    "colour noise 1024 x 1024 PNG": (lambda: _encoded(_noise(1024, 3)), NOISE_TARGET_S),
    "colour noise 4096 x 4096 PNG (the largest allowed)": (
        lambda: _encoded(_noise(4096, 3)),
        float("nan"),
    ),
}


def _status_kb(field: str) -> int:
    """A size from /proc/self/status, in KB (0 without /proc)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return 0


def _reset_peak() -> int:
    """Reset the process's peak resident size to its size now (Linux 4.0+), and return it in
    KB; 0 where that cannot be done (then the peak counts since the process began)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return 0
    return _status_kb("VmRSS")


def _run_case(name: str, runs: int) -> dict[str, object]:
    """In a fresh worker: the case's times, answer and peak memory."""
    from model.lineart import TooMuchToTrace, trace_image

    data = CASES[name][0]()
    gc.collect()
    held = _reset_peak()
    walls, cpus, answer = [], [], ""
    for i in range(runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            answer = f"{len(trace_image(data, BOX))} strokes"
        except TooMuchToTrace:
            answer = "TooMuchToTrace"
        if i:  # the first run warms up
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    peak = _status_kb("VmHWM") if held else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "bytes": len(data),
        "walls": walls,
        "cpu": statistics.median(cpus),
        "answer": answer,
        "memory_mb": max(0, peak - held) / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="timed runs a case (after a warm-up)")
    args = ap.parse_args()
    args.runs = cli.quick(args.runs, 1, "--runs")
    print(f"model.lineart.trace_image, {args.runs} runs a case after a warm-up, each case in a")
    print("fresh process; memory: the peak above the process's size with the image in hand.\n")
    print("| image | bytes | answer | p50 s | p95 s | CPU s | memory MB | target |")
    print("|---|---|---|---|---|---|---|---|")
    spawn = multiprocessing.get_context("spawn")
    for name, (_, target) in CASES.items():
        runs = args.runs if target == target else max(1, args.runs // 5)  # the 4096 one: fewer
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            r = pool.submit(_run_case, name, runs).result()
        walls = sorted(r["walls"])  # type: ignore[call-overload]
        p50 = statistics.median(walls)
        p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
        met = "-" if target != target else f"< {target:g} s: {'met' if p95 < target else 'NOT met'}"
        print(
            f"| {name} | {r['bytes']:,} | {r['answer']} | {p50:.3f} | {p95:.3f} | "
            f"{r['cpu']:.3f} | {r['memory_mb']:.0f} | {met} |"
        )
    through_the_server(args.runs)


def through_the_server(runs: int) -> None:
    """Round trips of `trace` against a real server on 127.0.0.1, its trace workers warm."""
    from websockets.sync.client import connect

    from wire.protocol import Trace, decode, encode

    with served() as url:
        print("\nThrough a real server (python -m sketch_server, default models, CPU):\n")
        print("| image | round trips | p50 s | p95 s | strokes | target |")
        print("|---|---|---|---|---|---|")
        with connect(url, max_size=None) as ws:
            ws.send(encode({"type": "hello", "protocol": 1, "client": "bench-trace/1"}))
            ws.recv()
            for name in (
                "astronaut 1024 x 1024 JPEG",
                "camera 1024 x 1024 PNG (upscaled from 512)",
            ):
                image = CASES[name][0]()
                walls, strokes = [], 0
                for i in range(runs + 1):
                    started = time.perf_counter()
                    ws.send(encode(Trace(id=i, image=image, box=BOX)))
                    while (reply := decode(ws.recv()))["type"] == "stroke":
                        pass
                    assert reply["type"] == "done", reply
                    strokes = len(reply["samples"][0])
                    if i:  # the first one warms the workers up
                        walls.append(time.perf_counter() - started)
                walls.sort()
                p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
                met = "met" if p95 < TARGET_S else "NOT met"
                print(
                    f"| {name} | {len(walls)} | {statistics.median(walls):.3f} | {p95:.3f} | "
                    f"{strokes} | < {TARGET_S:g} s: {met} |"
                )


if __name__ == "__main__":
    main()
