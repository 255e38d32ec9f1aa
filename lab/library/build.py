"""Build a model's sketch library from prepared data: pick drawings, embed every stage, save."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from lab.data import SPLIT_CODES, PreparedData
from model.checkpoint import Checkpoint
from model.library.embed import embed, latents, stages
from model.library.store import Library
from model.strokes import stroke3_to_polylines

QUICKDRAW_LICENCE = (
    "Quick, Draw! drawings by Google, Inc. and its players, CC BY 4.0 "
    "(https://quickdraw.withgoogle.com/data)"
)


@dataclass(frozen=True)
class Selection:
    """Which drawings of the data go into the library."""

    splits: tuple[str, ...] = ("train", "valid", "test")
    part: tuple[int, int] = (0, 1)  # (k, n): the k-th of n interleaved parts of each category
    # at most this many drawings per full label combination (0: all); drawings with a label
    # missing are all kept
    per_combination: int = 0


def select(data: PreparedData, sel: Selection) -> np.ndarray:
    """Indices of the chosen drawings, in data order."""
    codes = [SPLIT_CODES[s] for s in sel.splits]
    chosen = np.flatnonzero(np.isin(data.split, codes))
    chosen = data.part(chosen, *sel.part)
    if sel.per_combination:
        counts: dict[tuple[int, ...], int] = {}
        keep = []
        for i in chosen:
            combo = tuple(int(v) for v in data.labels[i])
            if min(combo) < 0:  # a drawing not labelled in full (a real QuickDraw face) stays
                keep.append(i)
            elif counts.get(combo, 0) < sel.per_combination:
                counts[combo] = counts.get(combo, 0) + 1
                keep.append(i)
        chosen = np.asarray(keep, dtype=np.int64)
    return chosen


def _provenance(data: PreparedData) -> tuple[str, str]:
    """The library's source and licence text, from the prepared data's source records."""
    kinds, licences = [], []
    for src in data.meta.get("sources", []):
        kind = {"procedural": "procedural faces", "teacher": "drawn by a model"}.get(
            src.get("kind"), "Quick, Draw!"
        )
        licence = src.get("licence") or (QUICKDRAW_LICENCE if kind == "Quick, Draw!" else "")
        kinds.append(kind)
        licences.append(licence)
    return ", ".join(dict.fromkeys(kinds)) or "unknown", "; ".join(
        dict.fromkeys(x for x in licences if x)
    ) or "unknown"


def drawing_id(data: PreparedData, i: int, source: str) -> str:
    """Where drawing i came from, as done.sources names it: "quickdraw:CATEGORY:KEY_ID" for a
    Quick, Draw! drawing (its key_id is a number), "faces:CATEGORY:SEED:INDEX" for a procedural
    face, "teacher:..." for a model's drawing, else the data's index."""
    key = data.key(i)
    category = data.vocab.values["category"][data.labels[i, 0]]
    if key is not None and key.isdigit():
        return f"quickdraw:{category}:{key}"
    tag = (
        "faces"
        if "procedural faces" in source
        else "teacher"
        if "drawn by a model" in source
        else "quickdraw"
    )
    return f"{tag}:{category}:{key if key is not None else i}"


def _label_table(data: PreparedData, ckpt: Checkpoint) -> np.ndarray:
    """The data's labels re-indexed into the model's vocabulary (-1 where it has no value)."""
    vocab = ckpt.vocab
    out = np.full((len(data), len(vocab.attributes)), -1, dtype=np.int16)
    for j, name in enumerate(vocab.attributes):
        if name not in data.attributes:
            continue
        col = data.attributes.index(name)
        index = {v: i for i, v in enumerate(vocab.values[name])}
        table = np.array([index.get(v, -1) for v in data.meta["vocab"][name]] + [-1], np.int16)
        out[:, j] = table[data.labels[:, col]]
    return out


def build(
    ckpt: Checkpoint,
    datasets: Sequence[PreparedData],
    sel: Selection = Selection(),
    progress: bool = True,
) -> Library:
    """A library of the selected drawings, embedded with `ckpt`'s encoders."""
    data = PreparedData.merge(list(datasets)) if len(datasets) > 1 else datasets[0]
    chosen = select(data, sel)
    if not len(chosen):
        raise ValueError("no drawings were selected for the library; check --split and --part")
    labels = _label_table(data, ckpt)[chosen]
    if (labels[:, 0] < 0).any():
        unknown = sorted(
            {data.vocab.values["category"][data.labels[i, 0]] for i in chosen[labels[:, 0] < 0]}
        )
        raise ValueError(
            f"the model does not know the categories {', '.join(unknown[:8])}; "
            "build the library from data the model was trained on"
        )
    sketches = [data.sketch(int(i)) for i in chosen]
    entry_drawing, entry_strokes, views = [], [], []
    for j, s3 in enumerate(sketches):
        lines = stroke3_to_polylines(s3.astype(np.float64))
        for k in stages(len(lines)):
            entry_drawing.append(j)
            entry_strokes.append(k)
            views.append(lines[:k])
    bar = tqdm(
        total=len(views) + len(sketches), desc="embedding", unit="drawing", disable=not progress
    )
    vectors = []
    for start in range(0, len(views), 1024):
        vectors.append(embed(ckpt, views[start : start + 1024]))
        bar.update(len(views[start : start + 1024]))
    conditions = (
        ckpt.vocab.encode_labels(labels)
        if ckpt.config.use_condition
        else np.zeros((len(labels), 0), np.float32)
    )
    zs = []
    for start in range(0, len(sketches), 1024):
        zs.append(latents(ckpt, sketches[start : start + 1024], conditions[start : start + 1024]))
        bar.update(len(sketches[start : start + 1024]))
    bar.close()
    source, licence = _provenance(data)
    ids = [drawing_id(data, int(i), source) for i in chosen]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sketches])]).astype(np.int64)
    return Library(
        points=np.concatenate(sketches).astype(np.int16),
        offsets=offsets,
        labels=labels,
        entry_drawing=np.asarray(entry_drawing, np.int32),
        entry_strokes=np.asarray(entry_strokes, np.int16),
        embeddings=np.concatenate(vectors).astype(np.float16),
        latents=np.concatenate(zs).astype(np.float16),
        vocab=ckpt.vocab,
        ids=ids,
        licence=licence,
        source=source,
        meta={
            "drawings": len(chosen),
            "entries": len(views),
            "splits": list(sel.splits),
            "part": list(sel.part),
            "per_combination": sel.per_combination,
        },
        people=data.identity[chosen].astype(np.int32),
    )
