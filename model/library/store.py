"""The sketch library of a model: real drawings, their labels and provenance, and their embeddings.

Stored beside the checkpoint as `library.npz` (plain arrays, loadable with allow_pickle=False) and
`library.json` (labels' vocabulary, ids, licence). An entry is a drawing after its first k
strokes (k = 1 .. all), so an artist's half-drawn sketch can meet the right stage of a whole one.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from model.files import write_npz
from model.strokes import stroke3_to_polylines
from model.vocab import ConditionVocab

FORMAT = "ai-sketcher-library/1"
ARRAYS, META = "library.npz", "library.json"
_KEYS = ("points", "offsets", "labels", "entry_drawing", "entry_strokes", "embeddings", "latents")


class LibraryError(ValueError):
    """A library folder or file that cannot be used, with the reason in words."""


@dataclass(eq=False)
class Library:
    """Drawings in stroke-3 (int16, the model's 256 box) with labels, ids and embeddings.

    points (rows, 3) int16 and offsets (n+1,) int64 as in the prepared format; labels (n, A)
    int16 indexing vocab per attribute (-1 = absent); entry_drawing / entry_strokes (E,) say
    which drawing and how many of its strokes each embedding row shows; embeddings (E, d)
    float16, unit length; latents (n, D) float16, the model's z of each whole drawing (no c);
    people (n,) int32, the person each drawing shows (a procedural face's identity), -1 unknown.
    """

    points: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    entry_drawing: np.ndarray
    entry_strokes: np.ndarray
    embeddings: np.ndarray
    latents: np.ndarray
    vocab: ConditionVocab
    ids: list[str]
    licence: str
    source: str
    meta: dict[str, Any]
    people: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, e = len(self.offsets) - 1, len(self.entry_drawing)
        if self.people is None:  # a library built before people were recorded
            self.people = np.full(n, -1, dtype=np.int32)
        checks = (
            (
                self.points.dtype == np.int16
                and self.points.ndim == 2
                and self.points.shape[1] == 3,
                "points must be int16 (rows, 3)",
            ),
            (
                self.offsets.dtype == np.int64
                and n >= 0
                and self.offsets[0] == 0
                and self.offsets[-1] == len(self.points)
                and (np.diff(self.offsets) > 0).all(),
                "offsets must rise from 0 to the row count",
            ),
            (
                self.labels.dtype == np.int16
                and self.labels.shape == (n, len(self.vocab.attributes)),
                f"labels must be int16 ({n}, {len(self.vocab.attributes)})",
            ),
            (
                self.entry_strokes.shape == (e,)
                and ((self.entry_drawing >= 0) & (self.entry_drawing < n)).all(),
                "entries must name drawings of the library",
            ),
            (self.embeddings.ndim == 2 and len(self.embeddings) == e, "one embedding per entry"),
            (self.latents.ndim == 2 and len(self.latents) == n, "one latent per drawing"),
            (len(self.ids) == n, "one id per drawing"),
            (
                self.people.dtype == np.int32 and self.people.shape == (n,),
                f"people must be int32 ({n},)",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise LibraryError(f"malformed library: {message}")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def stroke3(self, i: int) -> np.ndarray:
        return self.points[self.offsets[i] : self.offsets[i + 1]]

    def polylines(self, i: int, strokes: int | None = None) -> list[np.ndarray]:
        """Drawing i (its first `strokes` strokes) as polylines in the 256 box."""
        lines = stroke3_to_polylines(self.stroke3(i).astype(np.float64))
        return lines if strokes is None else lines[:strokes]

    @cached_property
    def stroke_counts(self) -> np.ndarray:
        """Strokes per drawing, (n,) int64."""
        lifts = np.add.reduceat(self.points[:, 2].astype(np.int64), self.offsets[:-1])
        last_up = self.points[self.offsets[1:] - 1, 2] == 1
        return lifts + ~last_up

    def conditions(self, i: int) -> dict[str, str]:
        """The labels of drawing i by attribute name."""
        return {
            a: self.vocab.values[a][v]
            for a, v in zip(self.vocab.attributes, self.labels[i])
            if v >= 0
        }

    def matching(self, conditions: Mapping[str, str]) -> np.ndarray:
        """Boolean (n,): drawings whose labels agree with every given condition the library has.

        A condition the library does not label (or a value it has never seen) matches nothing
        only when it names an attribute it knows; unknown attributes are the model's to refuse.
        """
        keep = np.ones(len(self), dtype=bool)
        for name, value in conditions.items():
            if name not in self.vocab.values or value is None:
                continue
            values = self.vocab.values[name]
            column = self.labels[:, self.vocab.attributes.index(name)]
            keep &= column == (values.index(value) if value in values else -2)
        return keep

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write library.npz then library.json into a (model) folder."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        write_npz(
            out / ARRAYS,
            points=self.points,
            offsets=self.offsets,
            labels=self.labels,
            entry_drawing=self.entry_drawing,
            entry_strokes=self.entry_strokes,
            embeddings=self.embeddings,
            latents=self.latents,
            people=self.people,
        )
        meta = {
            "format": FORMAT,
            "conditions": self.vocab.to_json(),
            "ids": self.ids,
            "licence": self.licence,
            "source": self.source,
            "meta": self.meta,
        }
        (out / META).write_text(json.dumps(meta, ensure_ascii=False))
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Library:
        """Read a library folder; never unpickles."""
        folder = Path(directory)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LibraryError(
                f"{folder} has no {META}; build one with `python -m lab.library build`"
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LibraryError(f"{folder / META} is not JSON: {e}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise LibraryError(f"{folder / META} is not an AI-Sketcher library ({FORMAT})")
        try:
            with np.load(folder / ARRAYS, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in _KEYS}
                people = archive["people"] if "people" in archive.files else None
            vocab = ConditionVocab.from_json(meta["conditions"])
            return cls(
                **arrays,
                vocab=vocab,
                ids=[str(i) for i in meta["ids"]],
                licence=str(meta["licence"]),
                source=str(meta["source"]),
                meta=dict(meta.get("meta") or {}),
                people=people,
            )
        except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as e:
            if isinstance(e, LibraryError):
                raise
            raise LibraryError(f"{folder / ARRAYS}: not a readable library ({e})") from None


def exists(directory: str | os.PathLike[str]) -> bool:
    """True when a model folder carries a library."""
    return (Path(directory) / META).is_file()
