"""The prepared data format: validation, loading, saving and merging (batches: lab/batches.py).

A prepared file (written by `python -m lab.prepare`) is a plain `.npz` readable with
allow_pickle=False: concatenated int16 stroke-3 rows, row offsets, split codes, label indices and
a UTF-8 JSON `meta` array, and, when its sketches know who they draw (procedural faces), an
optional `identity` array. See `PreparedData` for the exact layout.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from model.files import write_npz
from model.strokes import scale_factor
from model.vocab import ConditionVocab, sort_values

FORMAT = "ai-sketcher-prepared/1"
SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
_ARRAYS = ("points", "offsets", "split", "labels", "meta")
# Optional arrays: files without them (all files written before issue 30) read as the default.
# Code that predates them ignores them, so the format's version stays the same.
_OPTIONAL = ("identity",)
NO_IDENTITY = -1  # identity of a sketch whose person is unknown (every non-procedural sketch)
_MAX_VOCAB = 32767  # label indices are int16

# Data conventions recorded in meta (docs/experiments.md, "Data conventions"). Files written before
# they were recorded hold neither field and read as these defaults, which is what they are.
DEFAULT_N_MAX = 250  # N_max: what l_r is normalised by and magenta pads to
# Row 0 of a sketch: "box", the first point's position in QuickDraw's 0..255 box (what ndjson
# and SVG sources give); "start", no position: row 0's offset is (0, 0) for drawings read from
# ndjson or SVG, and a Sketch-RNN .npz's own (small) first offset is kept as recorded.
ROW0 = ("box", "start")
DEFAULT_ROW0 = "box"


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


def start_row0(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A copy of concatenated stroke-3 rows with each sketch's row 0 offset set to (0, 0):
    the "box" row-0 convention turned into "start"."""
    out = points.copy()
    out[offsets[:-1], :2] = 0
    return out


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise PreparedDataError(message)


def _check_meta(meta: Any) -> None:
    _check(isinstance(meta, dict), "meta must be a JSON object")
    fmt = meta.get("format")
    if isinstance(fmt, str) and fmt.startswith("ai-sketcher-prepared/") and fmt != FORMAT:
        raise PreparedDataError(
            f"format {fmt!r} is not supported (this code reads {FORMAT!r}); "
            "run `python -m lab.prepare` again with this version"
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
    n_max = meta.get("n_max", DEFAULT_N_MAX)
    _check(
        isinstance(n_max, int) and not isinstance(n_max, bool) and n_max >= 1,
        f"meta.n_max must be a positive integer; got {n_max!r}",
    )
    row0 = meta.get("row0", DEFAULT_ROW0)
    _check(row0 in ROW0, f"meta.row0 must be one of {', '.join(ROW0)}; got {row0!r}")
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
    (n, len(meta["attributes"])) indexing meta["vocab"][attribute], -1 = absent; identity int32
    (n,), the person a sketch draws (sketches with the same id >= 0 draw the same person, e.g.
    a procedural face's identity), -1 = unknown. Passing identity=None means all unknown; the
    file holds the array only when some sketch's identity is known.
    """

    points: np.ndarray
    offsets: np.ndarray
    split: np.ndarray
    labels: np.ndarray
    meta: dict[str, Any]
    identity: np.ndarray | None = None

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
        longest = int(np.diff(o).max()) if n else 0
        _check(
            longest <= self.meta.get("n_max", longest),
            f"meta.n_max is {self.meta.get('n_max')}, below the longest sketch ({longest} rows)",
        )
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
        if self.identity is None:
            self.identity = np.full(n, NO_IDENTITY, dtype=np.int32)
        ident = self.identity
        _check(
            isinstance(ident, np.ndarray) and ident.dtype == np.int32 and ident.shape == (n,),
            f"identity must be int32 ({n},); got {getattr(ident, 'dtype', type(ident).__name__)} "
            f"{getattr(ident, 'shape', '')}",
        )
        _check(bool((ident >= NO_IDENTITY).all()), "identity must be -1 (unknown) or an id >= 0")

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
        """The length limit sketches were kept under when prepared (longer ones were dropped)."""
        return int(self.meta["max_len"])

    @property
    def n_max(self) -> int:
        """N_max: the longest sketch of the data set, as magenta's get_max_len (or as given)."""
        return int(self.meta.get("n_max", DEFAULT_N_MAX))

    @property
    def row0(self) -> str:
        """What row 0 of a sketch holds: "box" or "start" (see ROW0)."""
        return str(self.meta.get("row0", DEFAULT_ROW0))

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

    def of_category(self, name: str, held_out: bool) -> np.ndarray:
        """Indices (int64, in order) of a category's held-out (valid and test) or training
        sketches; none for a category the data does not hold."""
        names = self.vocab.values.get("category", ())
        if name not in names:
            return np.zeros(0, dtype=np.int64)
        mine = self.labels[:, 0] == names.index(name)
        return np.flatnonzero(mine & ((self.split != SPLIT_CODES["train"]) == held_out))

    @classmethod
    def load(cls, path: str | Path) -> PreparedData:
        """Read and validate a prepared .npz (never unpickles)."""
        path = Path(path)
        if not path.is_file():
            raise PreparedDataError(
                f"{path}: no such file; create it with "
                f"`python -m lab.prepare --out {path} SOURCES...`"
            )
        try:
            with path.open("rb") as handle:
                head = handle.read(8)
            if not head.startswith(b"PK\x03\x04"):  # an .npz is a zip archive
                raise PreparedDataError(
                    f"{path}: not a prepared .npz: it is {file_kind(head)}; "
                    f"make one with `python -m lab.prepare --out {path} "
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
                        "turned into one by `python -m lab.prepare`)"
                    )
                arrays = {k: archive[k] for k in _ARRAYS + _OPTIONAL if k in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, PreparedDataError):
                raise
            if "pickle" in str(exc):  # numpy refuses object arrays without allow_pickle
                raise PreparedDataError(
                    f"{path}: holds Python objects, which prepared data "
                    "never does; prepare the source with `python -m "
                    "lab.prepare`"
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
        meta = np.frombuffer(
            json.dumps(self.meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8
        )
        optional = {"identity": self.identity} if (self.identity != NO_IDENTITY).any() else {}
        write_npz(
            path,
            points=self.points,
            offsets=self.offsets,
            split=self.split,
            labels=self.labels,
            meta=meta,
            **optional,
        )

    @classmethod
    def merge(cls, datasets: Sequence[PreparedData]) -> PreparedData:
        """Concatenate datasets: vocabularies united, labels remapped, scale factor recomputed.

        N_max is the largest of the datasets'. When their row-0 conventions differ, every
        sketch is put in the "start" one (a "box" start point can be dropped, not made up).
        An identity id names a person within one dataset, so each dataset's known ids are
        shifted past the ids before it: people of different datasets never share an id.
        """
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
        row0 = datasets[0].row0 if len({d.row0 for d in datasets}) == 1 else "start"
        points = np.concatenate(
            [start_row0(d.points, d.offsets) if d.row0 != row0 else d.points for d in datasets]
        )
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
            "n_max": max(d.n_max for d in datasets),
            "row0": row0,
            "sources": [s for d in datasets for s in d.meta.get("sources", [])],
            "counts": counts,
        }
        if any("keys" in d.meta for d in datasets):
            meta["keys"] = [k for d in datasets for k in d.meta.get("keys", [None] * len(d))]
        identity, base = [], 0
        for d in datasets:
            known = d.identity != NO_IDENTITY
            identity.append(np.where(known, d.identity.astype(np.int64) + base, NO_IDENTITY))
            if known.any():
                base += int(d.identity.max()) + 1
        if base > np.iinfo(np.int32).max:
            raise ValueError(f"merged identity ids reach {base - 1}, more than int32 holds")
        ids = np.concatenate(identity).astype(np.int32)
        return cls(points, offsets.astype(np.int64), split, labels, meta, ids)
