"""Sharded prepared data for data sets larger than memory: a writer, a reader and a streamer.

A shard folder holds `index.json` (format, the united condition vocabulary, the global scale
factor, the shard list) and, per shard, `shard-NNNNN.json` (that shard's prepared-data meta,
with its own vocabulary) beside four plain `.npy` arrays read with allow_pickle=False and
mmap_mode="r": points int16 (rows, 3), offsets int64 (n+1,), split uint8 (n,), labels int16
(n, attributes). No pickle anywhere. `StreamBatcher` reads blocks of consecutive sketches from
random shards through short-lived memory maps, so a process holds a window of blocks at a time
and its memory stays flat whatever the data size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.batches import Batch, Batcher
from lab.data import (
    DEFAULT_N_MAX,
    DEFAULT_ROW0,
    FORMAT,
    SPLIT_CODES,
    PreparedData,
    sort_values,
)

SHARD_FORMAT = "ai-sketcher-shards/1"
INDEX = "index.json"
_ARRAYS = ("points", "offsets", "split", "labels")


class ShardError(ValueError):
    """A shard folder is missing or malformed; the message names the file and what to do."""


def is_shard_folder(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a folder with a shard index (what `--shard-size` writes)."""
    return (Path(path) / INDEX).is_file()


def _moments(data: PreparedData) -> list[float]:
    """(count, mean, M2) of the train split's dx and dy values, to merge into a global std."""
    in_train = np.repeat(data.split == SPLIT_CODES["train"], data.lengths)
    values = data.points[in_train][:, :2].astype(np.float64).ravel()
    if not len(values):
        return [0.0, 0.0, 0.0]
    mean = float(values.mean())
    return [float(len(values)), mean, float(((values - mean) ** 2).sum())]


def _merge_moments(parts: Sequence[Sequence[float]]) -> float:
    """The std over all parts' values (Chan et al.'s pairwise merge), 1.0 when there are none."""
    count, mean, m2 = 0.0, 0.0, 0.0
    for n_b, mean_b, m2_b in parts:
        if not n_b:
            continue
        total = count + n_b
        delta = mean_b - mean
        mean += delta * n_b / total
        m2 += m2_b + delta * delta * count * n_b / total
        count = total
    std = float(np.sqrt(m2 / count)) if count else 0.0
    return std if std > 0 else 1.0


class ShardWriter:
    """Writes PreparedData pieces as shards of at most `shard_size` sketches, then the index."""

    def __init__(self, out: str | os.PathLike[str], shard_size: int) -> None:
        if shard_size < 1:
            raise ValueError(f"shard_size must be at least 1; got {shard_size}")
        self.out, self.shard_size = Path(out), shard_size
        self.out.mkdir(parents=True, exist_ok=True)
        self.shards: list[dict[str, Any]] = []

    def add(self, data: PreparedData) -> None:
        """Write `data` as one or more shards (it is split at shard_size sketches)."""
        for start in range(0, len(data), self.shard_size):
            self._write(_slice(data, start, min(start + self.shard_size, len(data))))

    def _write(self, data: PreparedData) -> None:
        name = f"shard-{len(self.shards):05d}"
        for key in _ARRAYS:
            np.save(self.out / f"{name}.{key}.npy", getattr(data, key), allow_pickle=False)
        meta = {**data.meta, "moments": _moments(data)}
        meta.pop("keys", None)  # keys stay out of the streamed format (they would fill memory)
        (self.out / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False))
        counts = {s: int((data.split == c).sum()) for s, c in SPLIT_CODES.items()}
        self.shards.append(
            {"name": name, "sketches": len(data), "rows": len(data.points), **counts, "meta": meta}
        )

    def close(self, sources: list[dict] | None = None, counts: dict | None = None) -> Path:
        """Write index.json (united vocabulary, global scale factor); returns the folder."""
        if not self.shards:
            raise ValueError("there are no sketches to write")
        metas = [s.pop("meta") for s in self.shards]
        attrs = ["category"] + list(dict.fromkeys(a for m in metas for a in m["attributes"][1:]))
        vocab = {
            a: sort_values([v for m in metas if a in m["vocab"] for v in m["vocab"][a]])
            for a in attrs
        }
        index = {
            "format": SHARD_FORMAT,
            "attributes": attrs,
            "vocab": vocab,
            "scale_factor": _merge_moments([m["moments"] for m in metas]),
            "max_len": max(m["max_len"] for m in metas),
            "n_max": max(m.get("n_max", DEFAULT_N_MAX) for m in metas),
            "row0": _one_row0(metas),
            "sources": sources or [s for m in metas for s in m.get("sources", [])],
            "counts": counts or {},
            "shards": self.shards,
        }
        tmp = self.out / (INDEX + ".tmp")
        tmp.write_text(json.dumps(index, ensure_ascii=False, indent=1))
        tmp.replace(self.out / INDEX)
        return self.out


def _one_row0(metas: list[dict[str, Any]]) -> str:
    """The shards' common row-0 convention; shards of one folder never mix them."""
    found = {m.get("row0", DEFAULT_ROW0) for m in metas}
    if len(found) > 1:
        raise ValueError(f"the shards mix row-0 conventions ({', '.join(sorted(found))})")
    return found.pop()


def _slice(data: PreparedData, a: int, b: int) -> PreparedData:
    """Sketches a..b-1 of `data` as their own PreparedData (same meta, keys cut to match)."""
    o = data.offsets
    meta = dict(data.meta)
    if "keys" in meta:
        meta["keys"] = meta["keys"][a:b]
    return PreparedData(
        np.ascontiguousarray(data.points[o[a] : o[b]]),
        (o[a : b + 1] - o[a]).astype(np.int64),
        data.split[a:b].copy(),
        data.labels[a:b].copy(),
        meta,
    )


@dataclass(frozen=True)
class Block:
    """Sketches start..stop-1 of one shard: the unit a rank reads."""

    shard: int
    start: int
    stop: int


class ShardedData:
    """The index of a shard folder; reads blocks of sketches on demand, never the whole set."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        path = self.folder / INDEX
        if not path.is_file():
            raise ShardError(
                f"{self.folder}: no {INDEX}; write shards with "
                f"`python -m lab.prepare --shard-size N --out {self.folder} ...`"
            )
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ShardError(f"{path}: not UTF-8 JSON ({exc})") from None
        if not isinstance(index, dict) or index.get("format") != SHARD_FORMAT:
            raise ShardError(f"{path}: not a shard index (want format {SHARD_FORMAT!r})")
        self.index = index
        self.shards: list[dict[str, Any]] = index["shards"]
        # The global-vocabulary meta every block is built with, so batches encode one way.
        self.meta = {
            "format": FORMAT,
            "attributes": index["attributes"],
            "vocab": index["vocab"],
            "scale_factor": index["scale_factor"],
            "max_len": index["max_len"],
            "sources": index.get("sources", []),
        }
        for key in ("n_max", "row0"):  # recorded since issue 15; older indexes use the defaults
            if key in index:
                self.meta[key] = index[key]
        self._luts: dict[int, list[tuple[int, np.ndarray]]] = {}

    @property
    def scale_factor(self) -> float:
        return float(self.index["scale_factor"])

    def __len__(self) -> int:
        return sum(s["sketches"] for s in self.shards)

    def nbytes(self) -> int:
        """Bytes of every shard's arrays on disk."""
        return sum(f.stat().st_size for f in self.folder.glob("shard-*.npy"))

    def _lut(self, k: int) -> list[tuple[int, np.ndarray]]:
        """Per shard attribute: its global column and a table from label + 1 to global label."""
        if k not in self._luts:
            shard_meta = json.loads((self.folder / f"{self.shards[k]['name']}.json").read_text())
            vocab, attrs = self.index["vocab"], self.meta["attributes"]
            self._luts[k] = [
                (
                    attrs.index(a),
                    np.array([-1] + [vocab[a].index(v) for v in shard_meta["vocab"][a]], np.int16),
                )
                for a in shard_meta["attributes"]
            ]
        return self._luts[k]

    def _maps(self, k: int) -> dict[str, np.ndarray]:
        """Shard k's arrays as read-only memory maps (dropped by the caller after copying)."""
        name = self.shards[k]["name"]
        return {
            a: np.load(self.folder / f"{name}.{a}.npy", mmap_mode="r", allow_pickle=False)
            for a in _ARRAYS
        }

    def _part(self, k: int, lengths: np.ndarray, split: np.ndarray, labels: np.ndarray) -> tuple:
        """(lengths, split, labels remapped to the global vocabulary) of picked sketches."""
        glob = np.full((len(lengths), len(self.meta["attributes"])), -1, np.int16)
        for j, (col, lut) in enumerate(self._lut(k)):
            glob[:, col] = lut[labels[:, j].astype(np.int64) + 1]
        return lengths, split, glob

    def read(self, blocks: Sequence[Block], split: str | None = None) -> PreparedData:
        """The blocks' sketches (of one split, when given) as one in-memory PreparedData."""
        parts = []
        for blk in blocks:
            maps = self._maps(blk.shard)
            o = np.array(maps["offsets"][blk.start : blk.stop + 1])
            keep = np.array(maps["split"][blk.start : blk.stop])
            lab = np.array(maps["labels"][blk.start : blk.stop])
            rows = np.array(maps["points"][o[0] : o[-1]])  # a copy; the maps are dropped below
            del maps
            mine = np.ones(len(keep), bool) if split is None else keep == SPLIT_CODES[split]
            lengths = np.diff(o)
            parts.append(
                (rows[np.repeat(mine, lengths)],)
                + self._part(blk.shard, lengths[mine], keep[mine], lab[mine])
            )
        return self._assemble(parts)

    def _assemble(self, parts: list[tuple]) -> PreparedData:
        n_attr = len(self.meta["attributes"])
        lens = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        return PreparedData(
            np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 3), np.int16),
            np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
            np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.uint8),
            np.concatenate([p[3] for p in parts]) if parts else np.zeros((0, n_attr), np.int16),
            dict(self.meta),
        )

    def blocks(self, size: int) -> list[Block]:
        """Every shard cut into blocks of `size` consecutive sketches, in shard order."""
        return [
            Block(k, a, min(a + size, s["sketches"]))
            for k, s in enumerate(self.shards)
            for a in range(0, s["sketches"], size)
        ]

    def sample(self, split: str, limit: int) -> PreparedData:
        """Up to `limit` sketches of a split taken evenly from every shard (for validation)."""
        total = sum(s[split] for s in self.shards)
        if not total:
            raise ShardError(f"{self.folder}: the shards hold no '{split}' sketches")
        take = min(1.0, limit / total)
        parts = []
        for k, shard in enumerate(self.shards):
            if not shard[split]:
                continue
            maps = self._maps(k)
            picked = np.flatnonzero(np.asarray(maps["split"]) == SPLIT_CODES[split])
            picked = picked[: max(1, int(len(picked) * take))]
            o = np.asarray(maps["offsets"])
            rows = [np.array(maps["points"][o[i] : o[i + 1]]) for i in picked]  # these alone
            parts.append(
                (np.concatenate(rows),)
                + self._part(
                    k,
                    np.diff(o)[picked],
                    np.array(maps["split"][picked]),
                    np.array(maps["labels"][picked]),
                )
            )
            del maps, o
        return self._assemble(parts)


class StreamBatcher:
    """Endless training batches streamed from shards: random blocks, per-rank shares, bucketing.

    Each epoch shuffles every block of every shard with a seed all ranks share and gives rank r
    the blocks r, r+world, ...; it reads `window` blocks at a time and batches them with
    data.Batcher (the same augmentation and length buckets as in-memory training).
    """

    def __init__(
        self,
        data: ShardedData,
        batch_size: int,
        *,
        rank: int = 0,
        world: int = 1,
        window: int = 8,
        seed: int = 0,
        **batcher_args: Any,
    ) -> None:
        self.data, self.batch_size, self.rank, self.world = data, batch_size, rank, world
        self.window, self.seed, self.batcher_args = window, seed, batcher_args
        self.block_size = batch_size * 8
        self.epoch = 0
        self._batches: Iterator[Batch] = iter(())
        self._blocks: list[Block] = []
        self._rng = np.random.default_rng(seed + 7919 * rank)

    def __iter__(self) -> StreamBatcher:
        return self

    def __next__(self) -> Batch:
        for _ in range(10_000):
            batch = next(self._batches, None)
            if batch is not None:
                return batch
            self._batches = self._next_window()
        raise ShardError(f"{self.data.folder}: no training sketches reach this rank")

    def epoch_blocks(self, epoch: int) -> list[Block]:
        """This rank's blocks of an epoch: a shuffle every rank agrees on, dealt round-robin."""
        every = self.data.blocks(self.block_size)
        order = np.random.default_rng(self.seed + epoch).permutation(len(every))
        return [every[i] for i in order[self.rank :: self.world]]

    def _next_window(self) -> Iterator[Batch]:
        if not self._blocks:
            self._blocks = self.epoch_blocks(self.epoch)
            self.epoch += 1
        taken, self._blocks = self._blocks[: self.window], self._blocks[self.window :]
        window = self.data.read(taken, "train")
        if not len(window):
            return iter(())
        max_len = self.batcher_args.get("max_len", 250)
        if not (window.lengths <= max_len).any():
            return iter(())
        batcher = Batcher(
            window,
            "train",
            self.batch_size,
            seed=int(self._rng.integers(2**31)),
            **self.batcher_args,
        )
        return (batcher._batch(idx, batcher.augment) for idx in batcher._epoch_batches())
