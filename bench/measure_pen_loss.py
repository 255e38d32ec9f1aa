"""The pen loss's scale and the training cost of each `pen_loss_rows` choice.

l_r of a model on the test split with the pen term over real rows (evaluation), over the rows
of length-bucketed batches padded to their longest sketch + 1 ("batch", training today), and
over N_max rows (magenta's "padded"); then the time of training steps with each padding.

    python bench/measure_pen_loss.py --checkpoint model/weights/objects --data data/objects.npz
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.batches import Batcher  # noqa: E402
from lab.data import PreparedData  # noqa: E402
from lab.validation import to_inputs  # noqa: E402
from model.checkpoint import load  # noqa: E402


def l_r(ckpt, data: PreparedData, pad: bool, mask_pen: bool) -> tuple[float, float]:
    """Mean l_r and the mean count of pen rows a sketch contributes."""
    cfg = ckpt.config
    raster = cfg.raster_size if cfg.needs_raster else 0
    batcher = Batcher(
        data, "test", 64, max_len=cfg.max_seq_len, raster_size=raster, pad_to_max_len=pad,
        scale=ckpt.scale_factor, vocab=ckpt.vocab,
    )  # fmt: skip
    torch.manual_seed(0)
    total, rows, n = 0.0, 0, 0
    with torch.no_grad():
        for batch in batcher.iterate_once():
            terms = ckpt.model(to_inputs(batch, ckpt.device), cfg.kl_weight, mask_pen=mask_pen)
            b = len(batch.lengths)
            total += float(terms.l_r) * b
            rows += int(batch.lengths.sum()) if mask_pen else b * (batch.strokes.shape[1] - 1)
            n += b
    return total / n, rows / n


def step_time(ckpt, data: PreparedData, pad: bool, steps: int) -> float:
    cfg = ckpt.config
    raster = cfg.raster_size if cfg.needs_raster else 0
    model = ckpt.model.float().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    batches = Batcher(
        data, "train", 64, max_len=cfg.max_seq_len, raster_size=raster, augment=True,
        pad_to_max_len=pad, scale=ckpt.scale_factor, vocab=ckpt.vocab, seed=0,
    )  # fmt: skip
    started = time.perf_counter()
    for _ in range(steps):
        terms = model(to_inputs(next(batches), ckpt.device), cfg.kl_weight)
        opt.zero_grad()
        terms.loss.backward()
        opt.step()
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = PreparedData.load(args.data)
    ckpt = load(args.checkpoint)
    ckpt.model.float()
    for name, pad, mask in (
        ("real rows (evaluation)", False, True),
        ("batch: longest + 1", False, False),
        ("padded: N_max", True, False),
    ):
        value, rows = l_r(ckpt, data, pad, mask)
        print(f"test l_r, pen over {name}: {value:.4f} ({rows:.1f} pen rows a sketch)")
    for name, pad in (("batch", False), ("padded", True)):
        seconds = step_time(load(args.checkpoint), data, pad, args.steps)
        print(f"training step, batch 64, pen_loss_rows {name}: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
