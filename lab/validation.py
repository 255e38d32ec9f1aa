"""Feeding batches to the network and the validation pass, shared by training and evaluation."""

from __future__ import annotations

import dataclasses

import torch

from model.network import Inputs, SketchModel
from model.vocab import ConditionVocab

from .batches import Batch, Batcher
from .data import PreparedData


def to_inputs(batch: Batch, device: torch.device) -> Inputs:
    """A data batch as network inputs on the device (through pinned memory to a GPU)."""
    # an already pinned batch (from a loader worker) is not copied again
    b = batch.pin_memory().to(device, True) if device.type == "cuda" else batch.to(device)
    return _inputs(b)


def _inputs(b: Batch) -> Inputs:
    source = None if b.source is None else _inputs(b.source)
    return Inputs(b.strokes, b.lengths, b.conditions, b.raster, b.enc_lengths, source)


@torch.no_grad()
def evaluate_losses(
    model: SketchModel,
    data: PreparedData,
    split: str,
    device: torch.device,
    batch_size: int = 100,
    alpha: float | None = None,
    scale: float | None = None,
    vocab: ConditionVocab | None = None,
) -> dict[str, float]:
    """Mean l_r, l_kl (and l_img, loss) over every sketch of a split, as magenta's eval.

    scale and vocab are the checkpoint's when the data is not what the model was trained on.
    """
    cfg = model.cfg
    alpha = cfg.kl_weight if alpha is None else alpha
    was_training = model.training
    model.eval()
    torch.manual_seed(0)
    sums: dict[str, float] = {}
    count = 0
    batcher = Batcher(
        data,
        split,
        batch_size,
        max_len=cfg.max_seq_len,
        augment=False,
        raster_size=cfg.raster_size if cfg.needs_raster else 0,
        scale=scale,
        vocab=vocab,
    )
    for batch in batcher.iterate_once():
        terms = model(to_inputs(batch, device), alpha, mask_pen=True)
        n = batch.lengths.shape[0]
        for name, value in dataclasses.asdict(terms).items():
            sums[name] = sums.get(name, 0.0) + float(value) * n
        count += n
    model.train(was_training)
    return {k: v / max(count, 1) for k, v in sums.items()}
