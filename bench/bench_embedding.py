"""Which embedding finds the right drawings? Top-1 category agreement of half-drawn queries.

The library is the training split; queries are held-out (valid + test) drawings cut after half of
their strokes (or whole). Each embedding is searched without a category filter, so the figure is
how often the nearest real drawing is of the query's own category.

    python bench/bench_embedding.py --data data/objects.npz --checkpoint model/weights/objects
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.data import PreparedData  # noqa: E402
from model.checkpoint import load  # noqa: E402
from model.library.embed import embed, latents, normalise, stages  # noqa: E402
from model.raster import rasterize  # noqa: E402
from model.strokes import stroke3_to_polylines  # noqa: E402


def pixels(drawings: list, size: int) -> np.ndarray:
    return normalise(np.stack([rasterize(d, size=size).ravel() for d in drawings]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--checkpoint", required=True)
    args = ap.parse_args()
    ckpt, data = load(args.checkpoint), PreparedData.load(args.data)
    cats = data.labels[:, 0]
    lib = data.indices("train")
    queries = np.concatenate([data.indices("valid"), data.indices("test")])
    lib_views, lib_cat, lib_s3 = [], [], []
    for i in lib:
        lines = stroke3_to_polylines(data.sketch(int(i)).astype(float))
        for k in stages(len(lines)):
            lib_views.append(lines[:k])
            lib_cat.append(cats[i])
            lib_s3.append(data.sketch(int(i))[: sum(len(p) for p in lines[:k])])
    lib_cat = np.asarray(lib_cat)
    zero_c = np.zeros((len(lib_s3), ckpt.vocab.dim), np.float32)
    rows = []
    for cut in ("half", "whole"):
        q_views, q_s3 = [], []
        for i in queries:
            lines = stroke3_to_polylines(data.sketch(int(i)).astype(float))
            k = max(1, len(lines) // 2) if cut == "half" else len(lines)
            q_views.append(lines[:k])
            q_s3.append(data.sketch(int(i))[: sum(len(p) for p in lines[:k])])
        q_cat = cats[queries]
        zq = np.zeros((len(q_s3), ckpt.vocab.dim), np.float32)
        z_dim = ckpt.config.z_size
        candidates = {
            "raster branch z_r (chosen)": (embed(ckpt, lib_views), embed(ckpt, q_views)),
            "stroke encoder mu_s (c = 0)": (
                normalise(latents(ckpt, lib_s3, zero_c)[:, :z_dim]),
                normalise(latents(ckpt, q_s3, zq)[:, :z_dim]),
            ),
            "whole latent [mu_s; z_r; mu_a] (c = 0)": (
                normalise(latents(ckpt, lib_s3, zero_c)),
                normalise(latents(ckpt, q_s3, zq)),
            ),
            "raw pixels 32x32 (no model)": (pixels(lib_views, 32), pixels(q_views, 32)),
        }
        for name, (lv, qv) in candidates.items():
            top = (qv @ lv.T).argmax(axis=1)
            rows.append((cut, name, float((lib_cat[top] == q_cat).mean())))
    print(
        f"library: {len(lib)} training drawings ({len(lib_views)} entries); "
        f"queries: {len(queries)} held-out drawings; chance about "
        f"{1 / len(np.unique(cats)):.1%}"
    )
    print("| query | embedding | nearest entry of the same category |\n|---|---|---|")
    for cut, name, acc in rows:
        print(f"| {cut} | {name} | {acc:.1%} |")


if __name__ == "__main__":
    main()
