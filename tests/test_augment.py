"""Tests for lab.augment, against a restatement of magenta's sketch_rnn utils."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.augment import drop_points, random_scale
from model.strokes import stroke3_to_polylines

from .test_data import zigzag


def positions(s3: np.ndarray) -> np.ndarray:
    return np.cumsum(np.asarray(s3, dtype=np.float64)[:, :2], axis=0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(-40, 40), st.integers(-40, 40)), min_size=1, max_size=12),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 2**32 - 1),
)
def test_drop_points_keeps_stroke_ends_and_pen_structure(strokes: list, seed: int) -> None:
    rows = []
    for stroke in strokes:
        rows += [[dx, dy, 0] for dx, dy in stroke]
        rows[-1][2] = 1
    s3 = np.array(rows, dtype=np.int16)
    out = drop_points(s3, np.random.default_rng(seed), prob=0.5)
    assert out.dtype == np.int16 and len(out) <= len(s3)
    before, after = stroke3_to_polylines(s3), stroke3_to_polylines(out)
    assert len(before) == len(after)
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a[[0, -1]], b[[0, -1]])
        assert {tuple(p) for p in a} <= {tuple(p) for p in b}  # kept points do not move


def test_drop_points_drops_some_interior_points() -> None:
    s3 = zigzag(200)
    out = drop_points(s3, np.random.default_rng(0), prob=0.5)
    assert 60 < len(out) < 140
    np.testing.assert_array_equal(drop_points(s3, np.random.default_rng(0), prob=0.0), s3)


def test_random_scale_stretches_axes_within_factor() -> None:
    s3 = zigzag(30, strokes=3)
    for seed in range(20):
        out = random_scale(s3, np.random.default_rng(seed), factor=0.15)
        np.testing.assert_array_equal(out[:, 2], s3[:, 2])
        ratio = out[:, :2] / s3[:, :2]
        assert np.allclose(ratio, ratio[0]) and ((ratio > 0.85) & (ratio < 1.15)).all()


def _magenta_augment_strokes(strokes: list[list[int]], u: np.ndarray, prob: float) -> np.ndarray:
    """magenta/models/sketch_rnn/utils.py augment_strokes, restated line for line, with its
    np.random.rand() calls replaced by u (one per row, in order)."""
    result, prev_stroke, count, stroke = [], [0, 0, 1], 0, [0, 0, 1]
    for i in range(len(strokes)):
        candidate = [strokes[i][0], strokes[i][1], strokes[i][2]]
        if candidate[2] == 1 or prev_stroke[2] == 1:
            count = 0
        else:
            count += 1
        if candidate[2] == 0 and prev_stroke[2] == 0 and count > 2 and u[i] < prob:
            stroke[0] += candidate[0]
            stroke[1] += candidate[1]
        else:
            stroke = candidate
            prev_stroke = stroke
            result.append(stroke)
    return np.array(result)


class _Uniforms:
    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def random(self, n: int) -> np.ndarray:
        assert n == len(self.u)
        return self.u


def test_drop_points_is_magentas_augment_strokes() -> None:
    """On the same random numbers, drop_points keeps and merges exactly the rows magenta does."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(2, 60))
        s3 = np.zeros((n, 3), dtype=np.int16)
        s3[:, :2] = rng.integers(-20, 20, (n, 2))
        s3[:, 2] = rng.random(n) < 0.2
        s3[-1, 2] = rng.random() < 0.7
        u, prob = rng.random(n), float(rng.choice([0.1, 0.5, 0.9]))
        want = _magenta_augment_strokes(s3.tolist(), u, prob)
        np.testing.assert_array_equal(drop_points(s3, _Uniforms(u), prob), want)


def _magenta_random_scale(data: np.ndarray, u: np.ndarray, factor: float) -> np.ndarray:
    """magenta's DataLoader.random_scale with its two np.random.random() calls replaced by u."""
    x_scale_factor = (u[0] - 0.5) * 2 * factor + 1.0
    y_scale_factor = (u[1] - 0.5) * 2 * factor + 1.0
    result = np.copy(data).astype(np.float64)
    result[:, 0] *= x_scale_factor
    result[:, 1] *= y_scale_factor
    return result


def _magenta_to_big_strokes(stroke: np.ndarray, max_len: int) -> np.ndarray:
    """magenta's utils.to_big_strokes, restated."""
    result = np.zeros((max_len, 5), dtype=float)
    n = len(stroke)
    result[0:n, 0:2] = stroke[:, 0:2]
    result[0:n, 3] = stroke[:, 2]
    result[0:n, 2] = 1 - result[0:n, 3]
    result[n:, 4] = 1
    return result


def test_random_scale_and_stroke5_are_magentas() -> None:
    """On the same uniforms, random_scale stretches as magenta's does; stroke-5 padding is
    magenta's to_big_strokes, and the batch's first row its start token."""
    from model.strokes import START_TOKEN, stroke3_to_stroke5

    rng = np.random.default_rng(3)
    for seed in range(200):
        n = int(rng.integers(1, 40))
        s3 = np.column_stack([rng.integers(-30, 30, (n, 2)), rng.random(n) < 0.3]).astype(np.int16)
        u = np.random.default_rng(seed).random(2)
        ours = random_scale(s3, np.random.default_rng(seed), 0.15)
        np.testing.assert_allclose(ours, _magenta_random_scale(s3, u, 0.15), rtol=1e-12)
        want = _magenta_to_big_strokes(s3, 50)
        np.testing.assert_array_equal(stroke3_to_stroke5(s3, 50), want)
    np.testing.assert_array_equal(START_TOKEN, [0, 0, 1, 0, 0])  # magenta's pad_batch start row
