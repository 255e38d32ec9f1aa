"""Library speed: k-NN query latency by library size, and guide latency through a real server.

    python bench/bench_library.py            # the full table (builds a 1M-entry faiss index)
    python bench/bench_library.py --quick    # 10k and 100k only

Search: k=16 over random unit vectors of the shipped models' embedding size (32), unfiltered
and filtered to one category's share (1/344), exact numpy and faiss IVF; one thread, as the
server's guide thread runs. Guide: each shipped model's server answers `guide` for the first
half of held-out-like library drawings (moved and scaled); p50/p95 of the server's own
elapsed_ms and of the client's round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(0.95 * len(values)))]


def search_table(sizes: list[int], dim: int = 32, k: int = 16, queries: int = 200) -> None:
    import torch

    from model.library.search import ExactIndex, FaissIndex

    torch.set_num_threads(1)
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        faiss = None
    rng = np.random.default_rng(0)
    print("| entries | engine | build s | p50 ms (all) | p95 ms (all) | p50 ms (1/344 filter) |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        vectors = rng.normal(size=(n, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        allowed = rng.random(n) < 1 / 344
        qs = vectors[rng.integers(0, n, queries)] + 0.05 * rng.normal(size=(queries, dim))
        qs = (qs / np.linalg.norm(qs, axis=1, keepdims=True)).astype(np.float32)
        engines = [("exact numpy", ExactIndex)]
        if faiss is not None and n >= 100_000:
            engines.append(("faiss IVF (nprobe 16)", FaissIndex))
        for name, make in engines:
            started = time.perf_counter()
            index = make(vectors)
            built = time.perf_counter() - started
            times, filtered = [], []
            for q in qs:
                t = time.perf_counter()
                index.search(q, k)
                times.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                index.search(q, k, allowed)
                filtered.append((time.perf_counter() - t) * 1000)
            p50, p95 = _percentiles(times)
            print(
                f"| {n:,} | {name} | {built:.1f} | {p50:.2f} | {p95:.2f} | "
                f"{statistics.median(filtered):.2f} |"
            )


async def guide_table(requests: int = 100) -> None:
    from model.checkpoint import SHIPPED_MODELS, shipped
    from model.library import Library
    from model.library.align import Similarity
    from sketch_server.config import ServerConfig
    from sketch_server.server import run_server
    from tests.conftest import Client

    print(
        "\n| model | library drawings | guides | server p50 ms | server p95 ms | "
        "round trip p50 ms |"
    )
    print("|---|---|---|---|---|---|")
    async with run_server(ServerConfig(port=0)) as server:
        client = await Client.open(server.url)
        for name in (n for n in SHIPPED_MODELS if (shipped(n) / "library.npz").is_file()):
            lib = Library.load(shipped(name))
            rng = np.random.default_rng(1)
            server_ms, trip_ms = [], []
            for r in range(requests):
                i = int(rng.integers(len(lib)))
                lines = lib.polylines(i)
                half = Similarity(2.0, 0.05, (100.0, 40.0)).apply_all(
                    lines[: max(1, len(lines) // 2)]
                )
                started = time.perf_counter()
                await client.send(
                    {
                        "type": "guide",
                        "id": r,
                        "model": name,
                        "strokes": [p.tolist() for p in half],
                        "conditions": lib.conditions(i),
                    }
                )
                reply = await client.recv()
                trip_ms.append((time.perf_counter() - started) * 1000)
                assert reply["type"] == "guide", reply
                server_ms.append(reply["elapsed_ms"])
            p50, p95 = _percentiles(server_ms)
            print(
                f"| {name} | {len(lib):,} | {requests} | {p50:.0f} | {p95:.0f} | "
                f"{statistics.median(trip_ms):.1f} |"
            )
        await client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k and 100k entries only")
    args = ap.parse_args()
    search_table([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    asyncio.run(guide_table())


if __name__ == "__main__":
    main()
