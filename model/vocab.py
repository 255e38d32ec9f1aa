"""The condition vocabulary: attribute names, their values, and the multi one-hot vectors the
network reads. Its own module so a checkpoint can be read without the data pipeline (Pillow)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def sort_values(values: Sequence[str]) -> list[str]:
    """Vocabulary order: whole numbers numerically first ("2" before "10"), then text."""
    return sorted(set(values), key=lambda v: (0, int(v), "") if v.isdigit() else (1, 0, v))


def _listing(values: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


# ---------------------------------------------------------------- condition vocabulary


@dataclass(frozen=True)
class ConditionVocab:
    """Named condition attributes and their values; encodes conditions as multi one-hot vectors.

    The vector is one block per attribute (in `attributes` order) of len(values[a]) entries.
    """

    attributes: tuple[str, ...]
    values: dict[str, tuple[str, ...]] = field(hash=False)

    def __post_init__(self) -> None:
        attrs = tuple(self.attributes)
        if any(not isinstance(a, str) or not a for a in attrs) or len(set(attrs)) != len(attrs):
            raise ValueError(f"attributes must be distinct non-empty names; got {attrs!r}")
        if set(self.values) != set(attrs):
            raise ValueError(
                f"values must have exactly the keys {list(attrs)}; got {list(self.values)}"
            )
        values = {a: tuple(self.values[a]) for a in attrs}
        for a, vals in values.items():
            if any(not isinstance(v, str) for v in vals) or len(set(vals)) != len(vals):
                raise ValueError(f"values of '{a}' must be distinct strings")
        object.__setattr__(self, "attributes", attrs)
        object.__setattr__(self, "values", values)
        starts = np.cumsum([0] + [len(values[a]) for a in attrs])
        object.__setattr__(self, "_starts", {a: int(s) for a, s in zip(attrs, starts)})
        object.__setattr__(
            self, "_index", {a: {v: i for i, v in enumerate(values[a])} for a in attrs}
        )

    @property
    def dim(self) -> int:
        """Length of an encoded condition vector."""
        return sum(len(v) for v in self.values.values())

    def encode(self, conditions: Mapping[str, str | None]) -> np.ndarray:
        """Multi one-hot float32 (dim,); an attribute that is missing (or None) gets zeros."""
        out = np.zeros(self.dim, dtype=np.float32)
        for name, value in conditions.items():
            if name not in self._index:
                raise ValueError(f"unknown condition '{name}'; known: {_listing(self.attributes)}")
            if value is None:
                continue
            index = self._index[name].get(value)
            if index is None:
                close = difflib.get_close_matches(value, self.values[name], n=3)
                hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
                raise ValueError(
                    f"unknown value '{value}' for condition '{name}'; {hint}"
                    f"known: {_listing(self.values[name])}"
                )
            out[self._starts[name] + index] = 1.0
        return out

    def encode_labels(self, labels: Any) -> np.ndarray:
        """Encode label indices (-1 = absent): row (A,) -> (dim,); rows (B, A) -> (B, dim)."""
        arr = np.asarray(labels)
        rows = np.atleast_2d(arr)
        if (
            arr.ndim not in (1, 2)
            or rows.shape[1] != len(self.attributes)
            or (rows.size and arr.dtype.kind not in "iu")
        ):
            raise ValueError(
                f"labels must be integers shaped ({len(self.attributes)},) or "
                f"(B, {len(self.attributes)}); got {arr.dtype} {arr.shape}"
            )
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        for j, name in enumerate(self.attributes):
            col = rows[:, j].astype(np.int64)
            if ((col < -1) | (col >= len(self.values[name]))).any():
                raise ValueError(f"label of '{name}' out of range -1..{len(self.values[name]) - 1}")
            hit = np.flatnonzero(col >= 0)
            out[hit, self._starts[name] + col[hit]] = 1.0
        return out[0] if arr.ndim == 1 else out

    def decode(self, vector: Any) -> dict[str, str]:
        """{attribute: value} from each block's largest positive entry; zero blocks left out."""
        vec = np.asarray(vector, dtype=np.float64)
        if vec.shape != (self.dim,):
            raise ValueError(f"condition vector must have shape ({self.dim},); got {vec.shape}")
        out = {}
        for name in self.attributes:
            block = vec[self._starts[name] : self._starts[name] + len(self.values[name])]
            if block.size and block.max() > 0:
                out[name] = self.values[name][int(block.argmax())]
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_json` rebuilds an equal vocabulary from it."""
        return {
            "attributes": list(self.attributes),
            "values": {a: list(self.values[a]) for a in self.attributes},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> ConditionVocab:
        """Rebuild from `to_json()`'s dict (or that dict as a JSON string)."""
        obj = json.loads(data) if isinstance(data, str) else data
        if (
            not isinstance(obj, Mapping)
            or not isinstance(obj.get("attributes"), list)
            or not isinstance(obj.get("values"), Mapping)
        ):
            raise ValueError("condition vocabulary JSON needs 'attributes' (a list) and 'values'")
        return cls(tuple(obj["attributes"]), {a: tuple(v) for a, v in obj["values"].items()})


# ---------------------------------------------------------------- prepared data
