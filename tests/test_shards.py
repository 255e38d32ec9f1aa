"""Sharded prepared data: the writer and reader agree, ranks split blocks, memory stays flat."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lab.data import FORMAT, PreparedData
from lab.prepare import main as prepare_main
from lab.shards import ShardedData, ShardWriter, StreamBatcher
from lab.train import main as train_main
from model import checkpoint

from .test_train_eval import prepared  # noqa: F401  (the module-scoped data fixture)


def rss_mb() -> float:
    """This process's resident set now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def synthetic(n: int, rows: int, seed: int) -> PreparedData:
    """n random sketches of `rows` rows each, two categories, 90% train / 10% valid."""
    rng = np.random.default_rng(seed)
    points = np.zeros((n * rows, 3), np.int16)
    points[:, :2] = rng.integers(-20, 21, size=(n * rows, 2))
    points[rows - 1 :: rows, 2] = 1
    points[9::10, 2] = 1
    meta = {
        "format": FORMAT,
        "attributes": ["category"],
        "vocab": {"category": ["a", "b"]},
        "scale_factor": 12.0,
        "max_len": rows,
    }
    return PreparedData(
        points,
        np.arange(0, n * rows + 1, rows, dtype=np.int64),
        (np.arange(n) % 10 == 9).astype(np.uint8),
        (np.arange(n) % 2).astype(np.int16)[:, None],
        meta,
    )


def test_prepare_shards_hold_the_same_sketches_as_the_npz(prepared, tmp_path):  # noqa: F811
    """--shard-size writes the same sketches, labels and scale factor as the single .npz."""
    src = Path(prepared).parent
    out = tmp_path / "shards"
    assert prepare_main(["--out", str(out), "--shard-size", "7", "--quiet", str(src)]) == 0
    whole, sharded = PreparedData.load(prepared), ShardedData(out)
    assert len(sharded) == len(whole) and len(sharded.shards) > 4
    assert sharded.scale_factor == pytest.approx(whole.scale_factor)
    every = sharded.read(sharded.blocks(1000))
    assert every.vocab == whole.vocab

    def bag(d: PreparedData) -> Counter:
        return Counter((d.sketch(i).tobytes(), int(d.labels[i, 0])) for i in range(len(d)))

    assert bag(every) == bag(whole)


def test_ranks_read_disjoint_blocks_that_cover_the_data(tmp_path):
    """Two ranks' first-epoch blocks are disjoint and together are every block once."""
    writer = ShardWriter(tmp_path / "s", 50)
    writer.add(synthetic(400, 12, 0))
    data = ShardedData(writer.close())
    mine = [
        StreamBatcher(data, 4, rank=rank, world=2, max_len=12, raster_size=0).epoch_blocks(0)
        for rank in (0, 1)
    ]
    assert not set(mine[0]) & set(mine[1])
    assert sorted(mine[0] + mine[1], key=str) == sorted(data.blocks(32), key=str)
    assert len(mine[0]) == len(mine[1]) > 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_streaming_more_data_than_a_memory_budget_keeps_memory_flat(tmp_path):
    """An epoch over ~24 MB of shards grows the resident set by well under that (measured)."""
    writer = ShardWriter(tmp_path / "big", 4000)
    for part in range(4):
        writer.add(synthetic(10_000, 100, part))
    data = ShardedData(writer.close())
    budget_mb = data.nbytes() / 1e6 / 4
    assert data.nbytes() > 20e6  # more than 4 x the budget lies on disk
    stream = StreamBatcher(data, 64, max_len=100, raster_size=0, augment=False)
    next(stream)  # warm up: imports, allocator pools
    start, peak, seen = rss_mb(), 0.0, 0
    while stream.epoch < 2:  # one full epoch over every shard
        seen += len(next(stream).lengths)
        peak = max(peak, rss_mb())
    assert seen > 30_000
    assert peak - start < budget_mb, f"RSS grew {peak - start:.1f} MB; budget {budget_mb:.1f} MB"


def test_train_streams_a_shard_folder(tmp_path):
    """lab.train takes a shard folder as --data and writes a checkpoint with its vocabulary."""
    writer = ShardWriter(tmp_path / "s", 100)
    writer.add(synthetic(300, 12, 1))
    out = tmp_path / "run"
    args = ["--small", "--data", str(writer.close()), "--out", str(out), "--quiet"]
    train_main([*args, "--steps", "3", "--batch-size", "8", "--set", "eval_every=3"])
    ckpt = checkpoint.load(out)
    assert ckpt.step == 3 and ckpt.vocab.values["category"] == ("a", "b")
    train_main([*args, "--steps", "5", "--batch-size", "8", "--set", "loader_workers=2"])
    assert checkpoint.load(out).step == 5  # streamed by two worker processes, blocks shared


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_training_on_200_mb_of_shards_grows_memory_by_under_a_quarter_of_it(tmp_path):
    """lab.train on ~196 MB of shards: the resident set (sampled every 10 ms) stays flat."""
    warm = ShardWriter(tmp_path / "warm", 100)
    warm.add(synthetic(300, 100, 9))
    big = ShardWriter(tmp_path / "big", 20_000)
    for part in range(16):
        big.add(synthetic(20_000, 100, part))
    data = ShardedData(big.close())
    assert data.nbytes() > 190e6
    args = ["--small", "--steps", "3", "--batch-size", "64", "--quiet", "--set", "max_seq_len=100"]
    train_main([*args, "--data", str(warm.close()), "--out", str(tmp_path / "w")])  # warm up
    base, samples, done = rss_mb(), [], threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_mb())
            time.sleep(0.01)

    watcher = threading.Thread(target=sample)
    watcher.start()
    try:
        train_main([*args, "--data", str(data.folder), "--out", str(tmp_path / "run")])
    finally:
        done.set()
        watcher.join()
    growth, budget = max(samples) - base, data.nbytes() / 1e6 / 4
    assert growth < budget, f"RSS grew {growth:.1f} MB training on {4 * budget:.0f} MB of shards"


def test_prepare_quickdraw_categories_as_shards(prepared, tmp_path):  # noqa: F811
    """--quickdraw CAT... --shard-size reads each category file from --from into shards."""
    src = str(Path(prepared).parent)
    out = tmp_path / "qd"
    args = ["--out", str(out), "--quickdraw", "circle", "square", "--from", src]
    assert prepare_main([*args, "--shard-size", "20", "--quiet"]) == 0
    data = ShardedData(out)
    assert len(data) == 60 and [s["sketches"] for s in data.shards] == [20, 10, 20, 10]
    assert data.index["vocab"]["category"] == ["circle", "square"]
