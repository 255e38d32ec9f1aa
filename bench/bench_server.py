"""Benchmark the WebSocket server: latency of one 150-point suggestion and points/s under load.

Starts the real server in a subprocess on 127.0.0.1, port 0 (once per torch thread setting
compared), drives it with real websockets clients, and prints a markdown table with the commit
and machine. Usage: python bench/bench_server.py [--model DIR] [--threads 1 0] [--seconds 5]
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
from sketch_server.protocol import decode, encode  # noqa: E402

POINTS = 150  # max_points of every request
# `generate` rather than `complete`: the shipped model finishes most given drawings within a
# few points, but draws a new cat until max_points, so every request is a 150-point suggestion.
REQUEST = {"type": "suggest", "mode": "generate", "conditions": {"category": "cat"},
           "bounds": [0, 0, 400, 300], "max_points": POINTS}


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

    async def suggest(self, rid: int) -> int:
        """One suggestion of up to 150 points; returns the points it drew."""
        await self.ws.send(encode({**REQUEST, "id": rid, "seed": rid}))
        while True:
            msg = decode(await self.ws.recv())
            if msg["type"] == "done":
                return sum(len(s) for sample in msg["samples"] for s in sample)
            if msg["type"] == "error":
                raise RuntimeError(f"request {rid} failed: {msg['code']}: {msg['message']}")

    async def close(self) -> None:
        await self.ws.close()


async def latency(url: str, requests: int) -> tuple[list[float], list[int]]:
    """Seconds and points of `requests` suggestions sent one at a time by one client."""
    client = await BenchClient.open(url)
    await client.suggest(0)  # warm-up
    times, points = [], []
    for rid in range(1, requests + 1):
        start = time.perf_counter()
        points.append(await client.suggest(rid))
        times.append(time.perf_counter() - start)
    await client.close()
    return times, points


async def throughput(url: str, clients: int, seconds: float) -> Level:
    """Points per second drawn for `clients` clients, each keeping one request open."""
    conns = [await BenchClient.open(url) for _ in range(clients)]
    start = time.perf_counter()
    deadline = start + seconds

    async def run(i: int, client: BenchClient) -> tuple[int, int]:
        done = points = 0
        while time.perf_counter() < deadline:
            points += await client.suggest(1000 * i + done)
            done += 1
        return done, points

    results = await asyncio.gather(*(run(i, c) for i, c in enumerate(conns)))
    elapsed = time.perf_counter() - start
    for c in conns:
        await c.close()
    return Level(clients, sum(r[0] for r in results), sum(r[1] for r in results), elapsed)


async def start_server(model: Path, threads: int) -> tuple[subprocess.Popen[str], str]:
    """This file in --serve mode as a subprocess; returns it and the URL from its ready line."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--model", str(model), "--threads", str(threads)],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"the server did not start (it printed {line!r})")
    return proc, line.split()[1]


def serve(model: Path, threads: int) -> None:
    """--serve mode: the real server with a given torch thread count, until SIGTERM."""
    import logging

    from sketch_server import __main__ as cli
    from sketch_server.config import ServerConfig

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    config = ServerConfig(port=0, models=(model,), torch_threads=threads)
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
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


async def bench(args: argparse.Namespace) -> None:
    import torch

    rows = []
    for threads in args.threads:
        proc, url = await start_server(args.model, threads)
        try:
            times, points = await latency(url, args.requests)
            levels = [await throughput(url, k, args.seconds) for k in (1, 4, 16)]
        finally:
            proc.terminate()
            proc.wait(30)
        ms = sorted(t * 1000 for t in times)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        label = f"{threads}" if threads else f"{torch.get_num_threads()} (torch default)"
        rows.append((label, statistics.median(ms), p95, statistics.mean(points), levels))

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"## sketch-server bench\n\ncommit {commit()}; {machine()}; torch {torch.__version__}, "
          f"device {device}; model {args.model}\n")
    print(f"Latency: one client, {args.requests} `generate` requests (category cat, n 1, "
          f"max_points {POINTS}) one after another. Throughput: each client keeps one such "
          f"request open for {args.seconds:g} s.\n")
    print("| torch threads | p50 latency | p95 latency | points drawn (mean) "
          "| 1 client | 4 clients | 16 clients |")
    print("|---|---|---|---|---|---|---|")
    for label, p50, p95, mean_points, levels in rows:
        rates = " | ".join(f"{lv.rate:,.0f} pts/s" for lv in levels)
        print(f"| {label} | {p50:.0f} ms | {p95:.0f} ms | {mean_points:.0f} | {rates} |")
    if len(rows) > 1:
        best = max(rows, key=lambda r: r[4][-1].rate)
        print(f"\nFastest at 16 clients: torch threads {best[0]}.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=shipped("objects"),
                    help="checkpoint folder (default: the shipped objects model)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 0],
                    help="torch thread counts of the engine worker to compare (0: torch default)")
    ap.add_argument("--requests", type=int, default=20, help="requests for the latency figures")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each load level")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.model, args.threads[0])
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
