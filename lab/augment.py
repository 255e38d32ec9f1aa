"""Training augmentation as Sketch-RNN's: random x/y stretch and dropped pen-down points."""

from __future__ import annotations

import numpy as np


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
