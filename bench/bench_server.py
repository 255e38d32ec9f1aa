"""Benchmark the WebSocket server: the fast decoding path against the reference one.

Starts the real server in a subprocess on 127.0.0.1, port 0, once per decoding path (the fast
compiled step the server uses, and the reference step through the training network's modules),
drives each with real websockets clients on the same requests, and prints markdown tables with
the commit and machine: latency and time to first stroke of a 150-point suggestion, 8
alternatives at once, points/s for 1 to 64 clients, and training steps per second.
Usage: python bench/bench_server.py [--model DIR] [--seconds 5] [--no-train]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.checkpoint import shipped  # noqa: E402
from wire.protocol import decode, encode  # noqa: E402

POINTS = 150  # max_points of every request
# `generate` rather than `complete`: the shipped model finishes most given drawings within a
# few points, but draws a new cat until max_points, so every request is a 150-point suggestion.
# use_library false: the library answers generate without the decoder, and this measures it.
REQUEST = {
    "type": "suggest",
    "mode": "generate",
    "conditions": {"category": "cat"},
    "bounds": [0, 0, 400, 300],
    "max_points": POINTS,
    "use_library": False,
}
PATHS = ("fast", "reference")


@dataclass
class Level:
    """Throughput with `clients` connections each sending one request after another."""

    clients: int
    requests: int
    points: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.points / self.seconds


class BenchClient:
    """A minimal binary protocol client."""

    def __init__(self, ws: object) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> BenchClient:
        from websockets.asyncio.client import connect

        client = cls(await connect(url, max_size=4 << 20))
        await client.ws.send(encode({"type": "hello", "protocol": 1, "client": "bench/1"}))
        welcome = decode(await client.ws.recv())
        if welcome["type"] != "welcome":
            raise RuntimeError(f"the server refused the bench client: {welcome}")
        return client

    async def suggest(self, rid: int, n: int = 1) -> tuple[int, float | None]:
        """One suggestion of up to 150 points per alternative; returns the points it drew and
        the seconds until its first stroke arrived (None if it drew none)."""
        start = time.perf_counter()
        first = None
        await self.ws.send(encode({**REQUEST, "id": rid, "seed": rid, "n": n}))
        while True:
            msg = decode(await self.ws.recv())
            if msg["type"] == "stroke" and first is None:
                first = time.perf_counter() - start
            if msg["type"] == "done":
                return sum(len(s) for sample in msg["samples"] for s in sample), first
            if msg["type"] == "error":
                raise RuntimeError(f"request {rid} failed: {msg['code']}: {msg['message']}")

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Latency:
    """One client's requests sent one at a time: seconds, points and time to first stroke."""

    times: list[float]
    points: list[int]
    first: list[float]

    def ms(self, values: list[float], q: float) -> float:
        ordered = sorted(v * 1000 for v in values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def per_point_us(self) -> float:
        return 1e6 * sum(self.times) / max(1, sum(self.points))


async def latency(url: str, requests: int, n: int = 1) -> Latency:
    """`requests` suggestions of n alternatives sent one at a time by one client."""
    client = await BenchClient.open(url)
    await client.suggest(0, n)  # warm-up
    out = Latency([], [], [])
    for rid in range(1, requests + 1):
        start = time.perf_counter()
        points, first = await client.suggest(rid, n)
        out.times.append(time.perf_counter() - start)
        out.points.append(points)
        if first is not None:
            out.first.append(first)
    await client.close()
    return out


async def throughput(url: str, clients: int, seconds: float) -> Level:
    """Points per second drawn for `clients` clients, each keeping one request open."""
    conns = [await BenchClient.open(url) for _ in range(clients)]
    start = time.perf_counter()
    deadline = start + seconds

    async def run(i: int, client: BenchClient) -> tuple[int, int]:
        done = points = 0
        while time.perf_counter() < deadline:
            points += (await client.suggest(1000 * i + done))[0]
            done += 1
        return done, points

    results = await asyncio.gather(*(run(i, c) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - start
    for c in conns:
        await c.close()
    return Level(clients, sum(r[0] for r in results), sum(r[1] for r in results), elapsed)


async def start_server(model: Path, path: str) -> tuple[subprocess.Popen[str], str]:
    """This file in --serve mode as a subprocess; returns it and the URL from its ready line."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--model", str(model), "--path", path],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"the server did not start (it printed {line!r})")
    return proc, line.split()[1]


def serve(model: Path, path: str) -> None:
    """--serve mode: the real server on one decoding path, until SIGTERM."""
    import logging

    from sketch_server import __main__ as cli
    from sketch_server.config import ServerConfig

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    config = ServerConfig(port=0, models=(model,), reference_decoder=path == "reference")
    asyncio.run(cli.serve(config))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def training_speed(steps: int = 6) -> list[tuple[str, float]]:
    """Sketches per second of one training step (batch 64, real data shapes) per model size."""
    import torch

    from lab.batches import Batcher
    from lab.data import PreparedData
    from model.config import preset
    from model.network import SketchModel

    data_path = REPO / "data" / "objects.npz"
    if not data_path.is_file():
        return []
    data = PreparedData.load(data_path)
    out = []
    for label, small in (("small (--small, shipped)", True), ("paper size", False)):
        cfg = preset("ai-sketcher", small=small, condition_dim=data.vocab.dim)
        model = SketchModel(cfg)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        batches = Batcher(data, "train", 64, raster_size=cfg.raster_size, augment=True)
        times = []
        for i in range(steps):
            batch = next(batches)
            start = time.perf_counter()
            loss = model(batch, alpha=0.5).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i:  # the first step warms up
                times.append(time.perf_counter() - start)
        out.append((label, 64 / statistics.median(times)))
    return out


def decoder_steps(model: Path, batches: tuple[int, ...] = (1, 16, 64)) -> list[tuple[int, ...]]:
    """In-process microseconds per decoder step (both paths, one thread) by batch size, beside
    the step's arithmetic: the gate and head products, 2 FLOP a multiply-add."""
    import torch

    from model.checkpoint import load
    from model.sample import DecodeBatch, SketchRequest

    torch.set_num_threads(1)
    ckpt = load(model)
    cfg = ckpt.model.cfg
    hidden, outputs = cfg.dec_rnn_size, ckpt.model.decoder_for(0).head.proj.out_features
    flop = 2 * ((5 + hidden) * 4 * hidden + hidden * outputs)
    fields = {k: v for k, v in REQUEST.items() if k != "type"}  # the served request, in-process
    rows = []
    for n in batches:
        per_step = []
        for fast in (True, False):
            best = float("inf")
            for _ in range(3):
                batch = DecodeBatch(ckpt, fast=fast)
                for i in range(n):  # the bench's request: every row draws about 135 points
                    batch.add(SketchRequest(**fields, seed=i), tag=i)
                steps, start = 0, time.perf_counter()
                while len(batch) == n:  # the full batch only: rows leave at different steps
                    batch.step()
                    steps += 1
                best = min(best, (time.perf_counter() - start) / max(1, steps))
            per_step.append(best * 1e6)
        rows.append((n, *per_step, n * flop / (per_step[0] * 1e3)))
    return rows


async def bench(args: argparse.Namespace) -> None:
    import torch

    runs = {}
    for path in PATHS:
        proc, url = await start_server(args.model, path)
        try:
            one = await latency(url, args.requests)
            eight = await latency(url, max(3, args.requests // 4), n=8)
            levels = [await throughput(url, k, args.seconds) for k in (1, 4, 16, 64)]
        finally:
            proc.terminate()
            proc.wait(30)
        runs[path] = (one, eight, levels)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"## sketch-server bench\n\ncommit {commit()}; {machine()}; torch {torch.__version__}, "
        f"device {device}; model {args.model}\n"
    )
    print(
        f"One client sends {args.requests} `generate` requests (category "
        f"{REQUEST['conditions']['category']}, max_points "
        f"{POINTS}, use_library false: the decoder draws every point) one after another; "
        "8 alternatives is the same with n 8. Throughput: each client keeps one such request "
        f"open for {args.seconds:g} s.\n"
    )
    print(
        "| path | per point | p50 | p95 | first stroke p50 | points (mean) | 8 alternatives p50 "
        "| 1 client | 4 clients | 16 clients | 64 clients |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path, (one, eight, levels) in runs.items():
        rates = " | ".join(f"{lv.rate:,.0f} pts/s" for lv in levels)
        print(
            f"| {path} | {one.per_point_us:.0f} us | {one.ms(one.times, 0.5):.1f} ms | "
            f"{one.ms(one.times, 0.95):.1f} ms | {one.ms(one.first, 0.5):.1f} ms | "
            f"{statistics.mean(one.points):.0f} | {eight.ms(eight.times, 0.5):.1f} ms | "
            f"{rates} |"
        )
    fast, ref = runs["fast"][0], runs["reference"][0]
    levels = runs["fast"][2]
    print(
        f"\nFast path: {ref.per_point_us / fast.per_point_us:.1f}x less time per point than "
        f"the reference; 16 clients draw {levels[2].rate / levels[0].rate:.1f}x the points/s "
        f"of one, 64 clients {levels[3].rate / levels[0].rate:.1f}x."
    )
    # Training first: decoding pins this process's torch and BLAS to one thread.
    rows = training_speed() if args.train else []
    print(
        "\n| decoder step, in-process, 1 thread | fast | reference | ratio | fast: GFLOP/s of "
        "the two products |\n|---|---|---|---|---|"
    )
    for n, fast_us, ref_us, gflops in decoder_steps(args.model):
        print(
            f"| batch {n} | {fast_us:.1f} us | {ref_us:.1f} us | {ref_us / fast_us:.1f}x | "
            f"{gflops:.1f} |"
        )
    if args.train:
        if rows:
            print("\n| training step (batch 64, CPU) | sketches/s |\n|---|---|")
            for label, rate in rows:
                print(f"| {label} | {rate:,.0f} |")
        else:
            print("\n(training speed skipped: prepare data/objects.npz first, as the README says)")


def bench_category(model: Path) -> str:
    """cat where the model draws cats (the figures' history), else its first category."""
    from model.checkpoint import load

    known = load(model).vocab.values.get("category", ())
    if not known:
        raise SystemExit(f"{model}: the bench asks for a category; this model has none")
    return "cat" if "cat" in known else known[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model",
        type=Path,
        default=shipped("objects"),
        help="checkpoint folder (default: the shipped objects model)",
    )
    ap.add_argument("--path", default="fast", choices=PATHS, help=argparse.SUPPRESS)
    ap.add_argument(
        "--no-train", dest="train", action="store_false", help="skip the training-step figures"
    )
    ap.add_argument("--requests", type=int, default=20, help="requests for the latency figures")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each load level")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.model, args.path)
    else:
        REQUEST["conditions"] = {"category": bench_category(args.model)}
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
