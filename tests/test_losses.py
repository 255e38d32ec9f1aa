"""Tests for model.losses: which rows the pen loss covers, on a hand-made batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lab.batches import Batcher
from lab.prepare import build
from lab.sources import SourceDrawing
from model.config import TrainConfig
from model.losses import reconstruction_loss
from model.mixture import MixtureParams

SHORT = np.array([[1, 0, 0], [0, 1, 1]], dtype=np.int16)  # 2 rows
LONG = np.array([[1, 1, 0], [2, 0, 0], [0, 0, 0], [1, 0, 1]], dtype=np.int16)  # 4 rows
N_MAX = 6


def _batch(pad_to_max_len: bool):
    data = build(
        [SourceDrawing(SHORT, "a", {}, "train"), SourceDrawing(LONG, "a", {}, "train")],
        [0, 0],
        max_len=6,
    )
    batcher = Batcher(
        data, "train", 2, max_len=N_MAX, raster_size=0, scale=1.0, pad_to_max_len=pad_to_max_len
    )
    (batch,) = list(batcher.iterate_once())
    return batch


def _unit_params(rows: int) -> MixtureParams:
    """One standard normal for (dx, dy) and equal pen logits: every row's pen loss is ln 3."""
    one = torch.zeros(2, rows, 1)  # [B, T, M] with M = 1 component
    xy = torch.zeros(2, rows, 1, 2)
    return MixtureParams(one, xy, xy, one, torch.zeros(2, rows, 3))


@pytest.mark.parametrize(
    ("pad_to_max_len", "mask_pen", "pen_rows", "target_rows"),
    [
        (False, False, 2 * 5, 5),  # "batch": both padded to the longest (4) + 1
        (True, False, 2 * N_MAX, N_MAX),  # "padded": magenta's N_max rows for each sketch
        (False, True, 2 + 4, 5),  # evaluation: real rows only
        (True, True, 2 + 4, N_MAX),  # ... whatever the padding
    ],
)
def test_pen_loss_covers_the_rows_it_says(
    pad_to_max_len: bool, mask_pen: bool, pen_rows: int, target_rows: int
) -> None:
    batch = _batch(pad_to_max_len)
    target = batch.strokes[:, 1:]
    assert target.shape[1] == target_rows
    l_r = reconstruction_loss(_unit_params(target_rows), target, batch.lengths, N_MAX, mask_pen)
    # offsets: -log N(d; 0, I) = ln(2 pi) + |d|^2 / 2 over the 6 real rows, |d|^2 summing to 9
    l_s = 6 * math.log(2 * math.pi) + 9 / 2
    want = (l_s + pen_rows * math.log(3)) / (2 * N_MAX)
    assert float(l_r) == pytest.approx(want, rel=1e-6)


def test_padded_batches_end_in_pad_rows_up_to_n_max() -> None:
    strokes = _batch(True).strokes.numpy()
    assert strokes.shape == (2, N_MAX + 1, 5)
    assert (strokes[0, 3:, 4] == 1).all() and (strokes[1, 5:, 4] == 1).all()


def test_pen_loss_rows_is_checked() -> None:
    assert TrainConfig(pen_loss_rows="padded").pen_loss_rows == "padded"
    with pytest.raises(ValueError, match="pen_loss_rows"):
        TrainConfig(pen_loss_rows="all")  # type: ignore[arg-type]


def test_the_learning_rate_decays_as_magenta_and_restarts_where_asked() -> None:
    from lab.train import learning_rate

    cfg = TrainConfig(learning_rate=1e-3, lr_decay=0.9999, min_learning_rate=1e-5)
    assert learning_rate(0, cfg) == pytest.approx(1e-3)
    assert learning_rate(40_000, cfg) == pytest.approx(0.99e-3 * 0.9999**40_000 + 1e-5)
    warm = TrainConfig(learning_rate=3e-4, lr_decay=0.9997, lr_restart_step=40_000)
    assert learning_rate(39_999, warm) == pytest.approx(2.9e-4 * 0.9997**39_999 + 1e-5)
    assert learning_rate(40_000, warm) == pytest.approx(3e-4)
    assert learning_rate(41_000, warm) == pytest.approx(2.9e-4 * 0.9997**1_000 + 1e-5)
    with pytest.raises(ValueError, match="lr_restart_step must be 0 or more"):
        TrainConfig(lr_restart_step=-1)
