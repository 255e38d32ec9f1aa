"""An outside yardstick: Magenta's pretrained Sketch-RNN decoders (sketch-rnn-js JSON files).

python -m lab.reference --pretrained bird.gen.json ... --data PREPARED --checkpoint DIR

Loads each unconditional decoder (int16 weights scaled by 10 / 32767, TensorFlow's LSTM gate
order i, j, f, o with forget bias 1) and prints its l_r beside the checkpoint's on the same
drawings of that category, both normalised by N_max = 250 and both in the same units: each model
scores offsets divided by its own scale factor, so the offset densities are brought back to the
256 box (a density in units of 1/s is s^2 times one in box units, per point). Reference only:
never shipped.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import numpy as np
import torch

from model import cli
from model import strokes as S
from model.checkpoint import Checkpoint, load
from model.cli import CommandError, read_json
from model.losses import reconstruction_loss
from model.mixture import MixtureParams

from .batches import Batcher
from .data import PreparedData
from .evaluate import sketch_l_r

N_MAX = 250


def box_units(l_r: float, scale: float, points: int) -> float:
    """An l_r computed on offsets divided by `scale`, as it reads for offsets in box units:
    each of the `points` offset densities is divided by scale^2 (l_r is per N_MAX)."""
    return l_r + 2.0 * float(np.log(scale)) * points / N_MAX


class MagentaDecoder:
    """The decoder of a sketch-rnn-js model: one LSTM and a 20-component mixture head."""

    def __init__(self, path: str | Path) -> None:
        what = "a sketch-rnn-js model (.json)"
        try:
            info, shapes, blobs = read_json(path, what)
            weights = [
                torch.tensor(
                    np.frombuffer(base64.b64decode(b), dtype="<i2").astype(np.float32)
                    * 10.0
                    / 32767
                ).view(*shape)
                for b, shape in zip(blobs, shapes)
            ]
            self.out_w, self.out_b, w_xh, w_hh, self.bias = weights
            self.name, self.scale = str(info["name"]), float(info["scale_factor"])
        except (ValueError, TypeError, KeyError, RuntimeError, binascii.Error) as e:
            raise CommandError(f"{path} is not {what}: {type(e).__name__} {e}") from None
        self.kernel = torch.cat([w_xh, w_hh])  # [5 + H, 4H]
        self.hidden = w_hh.shape[0]
        self.num_mixture = (self.out_b.shape[0] - 3) // 6

    @torch.no_grad()
    def params(self, rows: torch.Tensor) -> MixtureParams:
        """Mixture parameters after each input row; rows is [B, T, 5] (start token first)."""
        b = rows.shape[0]
        h = c = torch.zeros(b, self.hidden)
        outs = []
        for t in range(rows.shape[1]):
            i, j, f, o = (torch.cat([rows[:, t], h], -1) @ self.kernel + self.bias).chunk(4, -1)
            c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
            h = torch.tanh(c) * torch.sigmoid(o)
            outs.append(h)
        z = torch.stack(outs, 1) @ self.out_w + self.out_b  # [B, T, 6M + 3]
        m = self.num_mixture
        pen, pi, mu1, mu2, s1, s2, corr = z.split([3, m, m, m, m, m, m], -1)
        return MixtureParams(
            torch.log_softmax(pi, -1),
            torch.stack([mu1, mu2], -1),
            torch.stack([s1, s2], -1),
            torch.tanh(corr),
            pen,
        )

    def l_r(self, sketches: list[np.ndarray]) -> float:
        """Mean l_r (magenta's eval: real points only) over stroke-3 sketches, in box units."""
        values = []
        for s3 in sketches:
            s5 = S.stroke3_to_stroke5(S.normalize(s3, self.scale))
            seq = torch.tensor(np.concatenate([S.START_TOKEN[None], s5, S.PAD_ROW[None]]))[None]
            p = self.params(seq[:, :-1])
            l_r = float(
                reconstruction_loss(p, seq[:, 1:], torch.tensor([len(s3)]), N_MAX, mask_pen=True)
            )
            values.append(box_units(l_r, self.scale, len(s3)))
        return float(np.mean(values))


@torch.no_grad()
def checkpoint_l_r(ckpt: Checkpoint, data: PreparedData, indices: np.ndarray) -> float:
    """Mean l_r of a checkpoint on the given sketches, per N_MAX and in box units."""
    cfg = ckpt.config
    batcher = Batcher(
        data,
        "train",
        100,
        raster_size=cfg.raster_size if cfg.needs_raster else 0,
        scale=ckpt.scale_factor,
        vocab=ckpt.vocab,
        indices=indices,
    )
    values = [
        box_units(v, ckpt.scale_factor, int(n))
        for batch in batcher.iterate_once()
        for v, n in zip(sketch_l_r(ckpt, batch, N_MAX), batch.lengths.tolist())
    ]
    return float(np.mean(values))


PROG = "python -m lab.reference"


def main(argv: list[str] | None = None) -> None:
    """Compare from the command line; every input file is read before any measuring."""
    ap = cli.parser(
        PROG,
        "Score Magenta's pretrained Sketch-RNN decoders and a checkpoint on the same drawings.",
        epilog="example:\n  python -m lab.reference "
        "--pretrained ../shared/data/pretrained/sketch-rnn-js/*.json --data "
        "data/objects.npz --checkpoint model/weights/objects\n\n" + __doc__.split("\n\n", 2)[2],
    )
    ap.add_argument(
        "--pretrained",
        nargs="+",
        required=True,
        metavar="JSON",
        help="sketch-rnn-js model files (e.g. bird.gen.json)",
    )
    ap.add_argument(
        "--data", required=True, metavar="NPZ", help="prepared .npz with those categories"
    )
    ap.add_argument("--checkpoint", required=True, metavar="DIR", help="checkpoint folder")
    ap.add_argument("--splits", default="valid,test", help="comma-separated splits to measure on")
    args = ap.parse_args(argv)
    missing = [p for p in [*args.pretrained, args.data] if not Path(p).is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(missing)}")
    splits = args.splits.split(",")
    unknown = [s for s in splits if s not in ("train", "valid", "test")]
    if unknown:
        ap.error(f"--splits: unknown split {unknown[0]!r}; use train, valid and/or test")
    references = [MagentaDecoder(path) for path in args.pretrained]
    data, ckpt = PreparedData.load(args.data), load(args.checkpoint)
    names = data.vocab.values["category"]
    print(
        f"l_r on the same QuickDraw drawings ({'+'.join(splits)} splits), N_max {N_MAX}, "
        "offsets in the 256 box for both\n"
    )
    print("| category | drawings | Magenta Sketch-RNN (pretrained) | this checkpoint |")
    print("|---|---|---|---|")
    for ref in references:
        label = names.index(ref.name) if ref.name in names else -1
        idx = np.concatenate([data.indices(s) for s in splits])
        idx = idx[data.labels[idx, 0] == label]
        if not len(idx):
            print(f"| {ref.name} | 0 | - | - |")
            continue
        sketches = [data.sketch(int(i)).astype(np.float64) for i in idx]
        print(
            f"| {ref.name} | {len(idx)} | {ref.l_r(sketches):.4f} | "
            f"{checkpoint_l_r(ckpt, data, idx):.4f} |"
        )


if __name__ == "__main__":
    cli.exit_with(main, PROG)
