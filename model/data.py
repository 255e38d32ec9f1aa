"""The prepared data format, the condition vocabulary, augmentation and training batches.

A prepared file (written by `python -m model.prepare`) is a plain `.npz` readable with
allow_pickle=False: concatenated int16 stroke-3 rows, row offsets, split codes, label indices and
a UTF-8 JSON `meta` array. See `PreparedData` for the exact layout.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

from model.raster import rasterize_stroke3
from model.strokes import START_TOKEN, normalize, scale_factor, stroke3_to_stroke5
from model.vocab import ConditionVocab, sort_values

FORMAT = "ai-sketcher-prepared/1"
SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
_ARRAYS = ("points", "offsets", "split", "labels", "meta")
_MAX_VOCAB = 32767  # label indices are int16


class PreparedDataError(ValueError):
    """A prepared data file or array is malformed; the message says which part and why."""


_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"\x93NUMPY", "a single .npy array"),
    (b"\x80", "a Python pickle"),
    (b"{", "JSON or ndjson text"),
    (b"<", "XML or SVG text"),
)


def file_kind(head: bytes) -> str:
    """What a file's first bytes say it is, for errors about files of the wrong kind."""
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "not a zip archive"


def train_scale_factor(points: np.ndarray, offsets: np.ndarray, split: np.ndarray) -> float:
    """`scale_factor` over the train split's rows (over all rows when there is no train split)."""
    in_train = np.repeat(split == SPLIT_CODES["train"], np.diff(offsets))
    rows = points[in_train] if in_train.any() else points
    return scale_factor([rows])


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise PreparedDataError(message)


def _check_meta(meta: Any) -> None:
    _check(isinstance(meta, dict), "meta must be a JSON object")
    fmt = meta.get("format")
    if isinstance(fmt, str) and fmt.startswith("ai-sketcher-prepared/") and fmt != FORMAT:
        raise PreparedDataError(
            f"format {fmt!r} is not supported (this code reads {FORMAT!r}); "
            "run `python -m model.prepare` again with this version"
        )
    _check(fmt == FORMAT, f"not an AI-Sketcher prepared file (format {fmt!r}, want {FORMAT!r})")
    attrs = meta.get("attributes")
    _check(
        isinstance(attrs, list)
        and attrs[:1] == ["category"]
        and all(isinstance(a, str) and a for a in attrs)
        and len(set(attrs)) == len(attrs),
        "meta.attributes must be distinct names starting with 'category'",
    )
    vocab = meta.get("vocab")
    _check(
        isinstance(vocab, dict) and set(vocab) == set(attrs),
        "meta.vocab must have one list of values per attribute",
    )
    for a in attrs:
        vals = vocab[a]
        _check(
            isinstance(vals, list)
            and all(isinstance(v, str) for v in vals)
            and len(set(vals)) == len(vals)
            and len(vals) <= _MAX_VOCAB,
            f"meta.vocab['{a}'] must be a list of at most {_MAX_VOCAB} distinct strings",
        )
    scale = meta.get("scale_factor")
    _check(
        isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0,
        f"meta.scale_factor must be a positive number; got {scale!r}",
    )
    max_len = meta.get("max_len")
    _check(
        isinstance(max_len, int) and max_len >= 1,
        f"meta.max_len must be a positive integer; got {max_len!r}",
    )
    _check(isinstance(meta.get("sources", []), list), "meta.sources must be a list")
    _check(isinstance(meta.get("counts", {}), dict), "meta.counts must be an object")
    keys = meta.get("keys", [])
    _check(
        isinstance(keys, list) and all(k is None or isinstance(k, str) for k in keys),
        "meta.keys must be a list of strings or nulls",
    )


@dataclass(eq=False)
class PreparedData:
    """Sketches in the prepared format; construction validates every array against `meta`.

    points int16 (rows, 3) stroke-3; offsets int64 (n+1,) so sketch i is
    points[offsets[i]:offsets[i+1]]; split uint8 (n,) 0 train / 1 valid / 2 test; labels int16
    (n, len(meta["attributes"])) indexing meta["vocab"][attribute], -1 = absent.
    """

    points: np.ndarray
    offsets: np.ndarray
    split: np.ndarray
    labels: np.ndarray
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        _check_meta(self.meta)
        p, o, s, lab = self.points, self.offsets, self.split, self.labels
        _check(
            p.dtype == np.int16 and p.ndim == 2 and p.shape[1] == 3,
            f"points must be int16 (rows, 3); got {p.dtype} {p.shape}",
        )
        _check(np.isin(p[:, 2], (0, 1)).all(), "points[:, 2] (pen_lifted) must be 0 or 1")
        _check(
            o.dtype == np.int64 and o.ndim == 1 and len(o) >= 1,
            f"offsets must be int64 (n+1,); got {o.dtype} {o.shape}",
        )
        _check(
            o[0] == 0 and o[-1] == len(p) and (np.diff(o) > 0).all(),
            f"offsets must rise from 0 to {len(p)} (the row count), every sketch non-empty",
        )
        n = len(o) - 1
        _check(
            s.dtype == np.uint8 and s.shape == (n,) and (s <= 2).all(),
            f"split must be uint8 ({n},) of 0/1/2; got {s.dtype} {s.shape}",
        )
        attrs = self.meta["attributes"]
        _check(len(self.meta.get("keys", [None] * n)) == n, f"meta.keys must have {n} entries")
        _check(
            lab.dtype == np.int16 and lab.shape == (n, len(attrs)),
            f"labels must be int16 ({n}, {len(attrs)}); got {lab.dtype} {lab.shape}",
        )
        for j, a in enumerate(attrs):
            size = len(self.meta["vocab"][a])
            _check(
                ((lab[:, j] >= -1) & (lab[:, j] < size)).all(),
                f"labels of '{a}' must lie in -1..{size - 1}",
            )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(self.meta["attributes"])

    @property
    def scale_factor(self) -> float:
        return float(self.meta["scale_factor"])

    @property
    def max_len(self) -> int:
        return int(self.meta["max_len"])

    @cached_property
    def lengths(self) -> np.ndarray:
        """Rows per sketch, int64 (n,)."""
        return np.diff(self.offsets)

    @cached_property
    def vocab(self) -> ConditionVocab:
        return ConditionVocab(
            self.attributes, {a: tuple(self.meta["vocab"][a]) for a in self.attributes}
        )

    def sketch(self, i: int) -> np.ndarray:
        """Sketch i as a new int16 stroke-3 array."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"sketch {i} is out of range; there are {len(self)}")
        i %= len(self)
        return self.points[self.offsets[i] : self.offsets[i + 1]].copy()

    def key(self, i: int) -> str | None:
        """The source's id of sketch i (a QuickDraw key_id), when the data recorded one."""
        keys = self.meta.get("keys")
        return keys[i] if keys else None

    def part(self, indices: np.ndarray, k: int, n: int) -> np.ndarray:
        """The k-th (0-based) of n interleaved parts of `indices`, taken per category, so every
        part covers every category (the library and its judge get disjoint halves)."""
        if not 0 <= k < n:
            raise ValueError(f"part {k + 1}/{n} does not exist; K must be 1..{n}")
        rank, seen = np.zeros(len(indices), dtype=np.int64), {}
        for j, label in enumerate(self.labels[indices, 0].tolist()):
            rank[j] = seen.get(label, 0)
            seen[label] = rank[j] + 1
        return np.asarray(indices, dtype=np.int64)[rank % n == k]

    def indices(self, split: str) -> np.ndarray:
        """Indices (int64) of the sketches in 'train', 'valid' or 'test'."""
        if split not in SPLIT_CODES:
            raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLIT_CODES)}")
        return np.flatnonzero(self.split == SPLIT_CODES[split]).astype(np.int64)

    @classmethod
    def load(cls, path: str | Path) -> PreparedData:
        """Read and validate a prepared .npz (never unpickles)."""
        path = Path(path)
        if not path.is_file():
            raise PreparedDataError(
                f"{path}: no such file; create it with "
                f"`python -m model.prepare --out {path} SOURCES...`"
            )
        try:
            with path.open("rb") as handle:
                head = handle.read(8)
            if not head.startswith(b"PK\x03\x04"):  # an .npz is a zip archive
                raise PreparedDataError(
                    f"{path}: not a prepared .npz: it is {file_kind(head)}; "
                    f"make one with `python -m model.prepare --out {path} "
                    "SOURCES...`"
                )
            archive = np.load(path, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise PreparedDataError(f"{path}: holds one array, not a prepared .npz archive")
            with archive:
                missing = [k for k in _ARRAYS if k not in archive.files]
                if missing:
                    raise PreparedDataError(
                        f"{path}: not a prepared data file; it lacks "
                        f"{', '.join(missing)} (a raw Sketch-RNN .npz is "
                        "turned into one by `python -m model.prepare`)"
                    )
                arrays = {k: archive[k] for k in _ARRAYS}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, PreparedDataError):
                raise
            if "pickle" in str(exc):  # numpy refuses object arrays without allow_pickle
                raise PreparedDataError(
                    f"{path}: holds Python objects, which prepared data "
                    "never does; prepare the source with `python -m "
                    "model.prepare`"
                ) from None
            raise PreparedDataError(f"{path}: not a readable prepared .npz ({exc})") from None
        try:
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PreparedDataError(f"{path}: meta is not UTF-8 JSON ({exc})") from None
        try:
            return cls(meta=meta, **arrays)
        except PreparedDataError as exc:
            raise PreparedDataError(f"{path}: {exc}") from None

    def save(self, path: str | Path) -> None:
        """Write the prepared .npz atomically (a temporary file renamed into place)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = np.frombuffer(
            json.dumps(self.meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8
        )
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(
                    handle,
                    points=self.points,
                    offsets=self.offsets,
                    split=self.split,
                    labels=self.labels,
                    meta=meta,
                )
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def merge(cls, datasets: Sequence[PreparedData]) -> PreparedData:
        """Concatenate datasets: vocabularies united, labels remapped, scale factor recomputed."""
        if not datasets:
            raise ValueError("merge needs at least one dataset")
        attrs = ["category"]
        attrs += list(dict.fromkeys(a for d in datasets for a in d.attributes[1:]))
        vocab = {
            a: sort_values(
                [v for d in datasets if a in d.meta["vocab"] for v in d.meta["vocab"][a]]
            )
            for a in attrs
        }
        index = {a: {v: i for i, v in enumerate(vocab[a])} for a in attrs}
        labels = np.full((sum(len(d) for d in datasets), len(attrs)), -1, dtype=np.int16)
        row = 0
        for d in datasets:
            for j, a in enumerate(d.attributes):
                lut = np.array([index[a][v] for v in d.meta["vocab"][a]] + [-1], dtype=np.int16)
                labels[row : row + len(d), attrs.index(a)] = lut[d.labels[:, j]]  # -1 -> lut[-1]
            row += len(d)
        points = np.concatenate([d.points for d in datasets])
        starts = np.cumsum([0] + [len(d.points) for d in datasets])
        offsets = np.concatenate([[0]] + [d.offsets[1:] + s for d, s in zip(datasets, starts)])
        split = np.concatenate([d.split for d in datasets])
        counts: dict[str, Any] = {}
        for d in datasets:
            for k, v in d.meta.get("counts", {}).items():
                if isinstance(v, (int, float)):
                    counts[k] = counts.get(k, 0) + v
        meta = {
            "format": FORMAT,
            "attributes": attrs,
            "vocab": vocab,
            "scale_factor": train_scale_factor(points, offsets, split),
            "max_len": max(d.max_len for d in datasets),
            "sources": [s for d in datasets for s in d.meta.get("sources", [])],
            "counts": counts,
        }
        if any("keys" in d.meta for d in datasets):
            meta["keys"] = [k for d in datasets for k in d.meta.get("keys", [None] * len(d))]
        return cls(points, offsets.astype(np.int64), split, labels, meta)


# ---------------------------------------------------------------- augmentation


def random_scale(s3: np.ndarray, rng: np.random.Generator, factor: float = 0.15) -> np.ndarray:
    """Stretch x and y independently by uniform(1 - factor, 1 + factor), as Sketch-RNN does."""
    out = np.array(s3, dtype=np.float64)
    out[:, :2] *= rng.uniform(1.0 - factor, 1.0 + factor, size=2)
    return out


def drop_points(s3: np.ndarray, rng: np.random.Generator, prob: float = 0.1) -> np.ndarray:
    """Drop pen-down points inside strokes with chance `prob`, exactly as magenta's
    augment_strokes does (tests/test_data.py restates it and compares on random draws).

    One uniform is drawn per row. A row can go only when it and the two rows before it in its
    stroke are pen-down, so every stroke keeps its first three points and its last; a dropped
    row's offset joins the kept row before it, which moves that point onto the dropped one.
    """
    arr = np.asarray(s3)
    pen = arr[:, 2]
    u = rng.random(len(arr))
    inner = np.zeros(len(arr), dtype=bool)
    inner[1:] = (pen[1:] == 0) & (pen[:-1] == 0)
    # count: how many rows in a row have been `inner` up to here (magenta's `count`)
    breaks = np.flatnonzero(~inner)
    run_start = breaks[np.searchsorted(breaks, np.arange(len(arr)), side="right") - 1]
    count = np.arange(len(arr)) - run_start
    keep = ~((count > 2) & (u < prob))
    if keep.all():
        return arr.copy()
    kept = np.flatnonzero(keep)
    last = np.r_[kept[1:] - 1, len(arr) - 1]  # each kept row absorbs the dropped ones after it
    positions = np.cumsum(arr[:, :2].astype(np.float64), axis=0)[last]
    out = arr[kept].copy()
    out[:, :2] = np.diff(positions, axis=0, prepend=np.zeros((1, 2)))
    return out


# ---------------------------------------------------------------- batches


@dataclass
class Batch:
    """One training batch; strokes[:, 0] is START_TOKEN and rows after lengths[i] + 1 are PAD.

    strokes float32 [B, T+1, 5] (T = longest sketch in the batch + 1, so every sketch has an end
    row and the pen loss learns to stop; offsets divided by the scale
    factor); lengths int64 [B]; conditions float32 [B, vocab.dim]; raster float32 [B, 1, R, R]
    or None; labels int64 [B, n_attributes]; indices int64 [B] (which sketches these are);
    enc_lengths int64 [B]: the rows the encoders see (a prefix of whole strokes when the batcher
    teaches completion, else lengths); the raster shows the same prefix.
    """

    strokes: torch.Tensor
    lengths: torch.Tensor
    conditions: torch.Tensor
    raster: torch.Tensor | None
    labels: torch.Tensor
    indices: torch.Tensor
    enc_lengths: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        """A copy with every tensor on `device`."""
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: None if v is None else v.to(device) for k, v in moved.items()})


def _label_map(
    source: ConditionVocab, target: ConditionVocab
) -> list[tuple[int | None, np.ndarray]]:
    """Per target attribute: its source column (None if absent) and a table from source
    label + 1 to target label, -1 meaning unknown."""
    maps: list[tuple[int | None, np.ndarray]] = []
    for name in target.attributes:
        if name not in source.values:
            maps.append((None, np.full(1, -1, dtype=np.int64)))
            continue
        index = {v: i for i, v in enumerate(target.values[name])}
        table = np.array([-1] + [index.get(v, -1) for v in source.values[name]], dtype=np.int64)
        maps.append((source.attributes.index(name), table))
    return maps


class Batcher:
    """Batches of one split: endless shuffled epochs via iteration, or one pass via iterate_once.

    With bucket=True sketches of similar length are batched together (buckets of batch_size * 8
    in length order), so each batch pads only to its own longest sketch.
    """

    def __init__(
        self,
        data: PreparedData,
        split: str,
        batch_size: int,
        *,
        max_len: int = 250,
        augment: bool = False,
        raster_size: int = 48,
        seed: int = 0,
        bucket: bool = True,
        scale_jitter: float = 0.15,
        drop_prob: float = 0.1,
        prefix_prob: float = 0.0,
        scale: float | None = None,
        vocab: ConditionVocab | None = None,
        indices: np.ndarray | None = None,
    ) -> None:
        """scale and vocab default to the data's; a checkpoint's own are passed when a model is
        evaluated on other data, so offsets and condition vectors mean what they meant in training.
        indices, when given, batches exactly those sketches instead of the split's.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        if not isinstance(raster_size, int) or raster_size < 0:
            raise ValueError(
                f"raster_size must be 0 (no raster) or a pixel count; got {raster_size!r}"
            )
        indices = data.indices(split) if indices is None else np.asarray(indices, np.int64)
        fits = data.lengths[indices] <= max_len
        self.skipped_long = int((~fits).sum())
        if not fits.any():
            longer = (
                f" ({self.skipped_long} are longer than max_len {max_len})"
                if self.skipped_long
                else ""
            )
            raise ValueError(
                f"the '{split}' split has no sketches to batch{longer}; prepare "
                "more data, change the split fractions, or pick another split"
            )
        self.data, self.split, self.batch_size = data, split, batch_size
        self.max_len, self.augment, self.raster_size = max_len, augment, raster_size
        self.bucket, self.scale_jitter, self.drop_prob = bucket, scale_jitter, drop_prob
        self.prefix_prob = prefix_prob  # chance, when augmenting, that encoders see a prefix
        self.indices = indices[fits]
        self.vocab = vocab or data.vocab
        self.scale = data.scale_factor if scale is None else float(scale)
        self._label_map = None if self.vocab == data.vocab else _label_map(data.vocab, self.vocab)
        self.epoch = 0
        self._rng = np.random.default_rng(seed)
        self._queue: deque[np.ndarray] = deque()

    def __iter__(self) -> Batcher:
        return self

    def __next__(self) -> Batch:
        if not self._queue:
            self._queue.extend(self._epoch_batches())
            self.epoch += 1
        return self._batch(self._queue.popleft(), self.augment)

    def iterate_once(self) -> Iterator[Batch]:
        """Every sketch of the split once, in a fixed order (length order when bucketing)."""
        order = self.indices
        if self.bucket:
            order = order[np.argsort(self.data.lengths[order], kind="stable")]
        for start in range(0, len(order), self.batch_size):
            yield self._batch(order[start : start + self.batch_size], augment=False)

    def _epoch_batches(self) -> list[np.ndarray]:
        """One epoch's batches; a remainder smaller than batch_size waits for the next epoch."""
        rng, size = self._rng, self.batch_size
        order = self.indices[rng.permutation(len(self.indices))]
        if len(order) <= size:
            return [order]
        if not self.bucket:
            return [order[s : s + size] for s in range(0, len(order) - size + 1, size)]
        order = order[np.argsort(self.data.lengths[order], kind="stable")]  # ties stay shuffled
        batches, carry = [], order[:0]
        for start in range(0, len(order), size * 8):
            bucket = rng.permutation(np.concatenate([carry, order[start : start + size * 8]]))
            full = len(bucket) // size * size
            batches += [bucket[s : s + size] for s in range(0, full, size)]
            carry = bucket[full:]  # leftovers join the next (slightly longer) bucket
        return [batches[i] for i in rng.permutation(len(batches))]

    def _batch(self, idx: np.ndarray, augment: bool) -> Batch:
        import torch  # here, so `python -m model.prepare` and vocabulary users skip its import

        sketches = [self.data.sketch(int(i)) for i in idx]
        if augment:
            sketches = [
                drop_points(
                    random_scale(s, self._rng, self.scale_jitter), self._rng, self.drop_prob
                )
                for s in sketches
            ]
        longest = max(len(s) for s in sketches) + 1  # every sketch gets an end row to learn
        strokes = np.empty((len(idx), longest + 1, 5), dtype=np.float32)
        strokes[:, 0] = START_TOKEN
        for b, s in enumerate(sketches):
            strokes[b, 1:] = stroke3_to_stroke5(normalize(s, self.scale), longest)
        seen = [self._prefix_length(s) if augment else len(s) for s in sketches]
        raster = None
        if self.raster_size:
            images = np.stack(
                [rasterize_stroke3(s[:k], size=self.raster_size) for s, k in zip(sketches, seen)]
            )
            raster = torch.from_numpy(images[:, None])
        labels = self.data.labels[idx]
        if self._label_map is not None:
            labels = np.stack(
                [
                    table[labels[:, col] + 1] if col is not None else np.full(len(labels), -1)
                    for col, table in self._label_map
                ],
                1,
            )
        return Batch(
            strokes=torch.from_numpy(strokes),
            lengths=torch.tensor([len(s) for s in sketches], dtype=torch.int64),
            conditions=torch.from_numpy(self.vocab.encode_labels(labels)),
            raster=raster,
            labels=torch.from_numpy(labels.astype(np.int64)),
            indices=torch.from_numpy(np.asarray(idx, dtype=np.int64)),
            enc_lengths=torch.tensor(seen, dtype=torch.int64),
        )

    def _prefix_length(self, s3: np.ndarray) -> int:
        """Rows of the first k whole strokes (k < all, at random) with chance prefix_prob.

        The encoders then see a drawing's beginning while the decoder still learns the whole
        drawing, which is what completing an artist's strokes asks of the model.
        """
        ends = np.flatnonzero(s3[:-1, 2] == 1)  # stroke ends before the last stroke's
        if not len(ends) or self._rng.random() >= self.prefix_prob:
            return len(s3)
        return int(ends[self._rng.integers(len(ends))]) + 1
