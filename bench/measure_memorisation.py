"""How close a model's drawings come to its training drawings: a check that recognition is not
bought by copying.

For each category, the network alone draws sketches as `lab.evaluate`'s recognition figure
draws them (same seeds and temperature); each drawing's nearest training drawing of the same
category is found by perceptual hash (64 bits, on 64 px rasters). The same is done for the
held-out real drawings (valid and test splits) of those categories, which nobody copied: a model
that copies sits much closer to its training set than they do.

    python bench/measure_memorisation.py --checkpoint model/weights/objects --data data/objects.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.data import PreparedData  # noqa: E402
from lab.evaluate import SLIDE_CATEGORIES, phashes  # noqa: E402
from model import cli  # noqa: E402
from model import strokes as S  # noqa: E402
from model.checkpoint import load  # noqa: E402
from model.sample import SketchRequest, sample  # noqa: E402

NEAR = 8  # bits of 64: at most this far counts as a near-copy


def hashes(sketches: list) -> np.ndarray:
    """64-bit perceptual hashes (lab.evaluate's) as [N, 64] booleans."""
    return np.array([h.hash.ravel() for h in phashes(sketches)])


def nearest(queries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Each query's Hamming distance to its nearest pool hash."""
    return (queries[:, None, :] != pool[None, :, :]).sum(-1).min(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--per-category", type=int, default=30)
    ap.add_argument("--temperature", type=float, default=0.4)
    args = ap.parse_args()
    args.per_category = cli.quick(args.per_category, 1, "--per-category")
    ckpt = load(args.checkpoint)
    data = PreparedData.load(args.data)
    column = data.attributes.index("category")
    names = data.vocab.values["category"]
    known = set(ckpt.vocab.values["category"])
    generated, held_out = [], []
    for k, name in enumerate(SLIDE_CATEGORIES):
        if name not in names or name not in known:
            continue
        label = names.index(name)
        of_category = np.flatnonzero(data.labels[:, column] == label)
        train = [i for i in of_category if data.split[i] == 0]
        real = [i for i in of_category if data.split[i] != 0]
        if not train:
            continue
        pool = hashes([S.stroke3_to_polylines(data.sketch(int(i))) for i in train])
        drawn = sample(
            ckpt,
            SketchRequest(
                conditions={"category": name},
                n=args.per_category,
                temperature=args.temperature,
                seed=k,
                use_library=False,
            ),
        )
        generated += nearest(hashes(drawn), pool).tolist()
        if real:
            held_out += nearest(
                hashes([S.stroke3_to_polylines(data.sketch(int(i))) for i in real]), pool
            ).tolist()
    print(f"{args.checkpoint}: nearest training drawing of the same category, phash bits of 64\n")
    print(f"| drawings | count | median | mean | within {NEAR} bits |\n|---|---|---|---|---|")
    for label, d in (("generated (network alone)", generated), ("held-out real", held_out)):
        if not d:
            continue
        d = np.asarray(d)
        print(
            f"| {label} | {len(d)} | {np.median(d):.0f} | {d.mean():.1f} | "
            f"{100 * np.mean(d <= NEAR):.1f} % |"
        )


if __name__ == "__main__":
    main()
