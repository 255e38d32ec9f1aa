"""Embeddings for the library: what a drawing looks like, and where it sits in the model's latent.

Search uses the model's own raster branch (the CNN autoencoder's z_r): it sees the drawing as an
image fitted to its bounds, so a drawing's look is matched whatever its size, place or stroke
order (docs/experiments.md, The library, compares it with the stroke encoder's latent).
Projection ("refine") uses the decoder's latent z without its condition block.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from model import strokes as S
from model.checkpoint import Checkpoint
from model.network import Inputs
from model.raster import rasterize

BATCH = 256
SIMPLIFY = 2.0  # the training data's RDP epsilon in the box; queries are simplified the same way


def search_dim(ckpt: Checkpoint) -> int:
    """Length of a search embedding for this model."""
    if not ckpt.config.needs_raster:
        raise ValueError(
            f"the {ckpt.config.preset} model has no raster branch to search with; "
            "a library needs an ai-sketcher or sketch-pix2seq model"
        )
    return ckpt.config.raster_z_size


@torch.no_grad()
def embed(ckpt: Checkpoint, drawings: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Unit-length search embeddings (B, d) float32 of drawings given as polylines (any units)."""
    search_dim(ckpt)
    size = ckpt.config.raster_size
    out = []
    for start in range(0, len(drawings), BATCH):
        images = np.stack([rasterize(d, size=size) for d in drawings[start : start + BATCH]])
        x = torch.from_numpy(images[:, None]).to(ckpt.device)
        out.append(ckpt.model.raster_encoder(x).float().cpu().numpy())
    vectors = np.concatenate(out) if out else np.zeros((0, search_dim(ckpt)), np.float32)
    return normalise(vectors)


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def query_polylines(polylines: Sequence[np.ndarray]) -> list[np.ndarray]:
    """An artist's strokes as the library saw its drawings: in the 256 box, simplified."""
    lines = [np.asarray(p, dtype=np.float64) for p in polylines if len(p)]
    return [p for p in S.simplify(S.fit_to_box(lines), SIMPLIFY) if len(p)]


@torch.no_grad()
def latents(ckpt: Checkpoint, sketches: Sequence[np.ndarray], conditions: np.ndarray) -> np.ndarray:
    """The decoder's latent z (its condition block left out) of each stroke-3 sketch (box units).

    conditions is (B, vocab.dim); the encoder reads c too, so a drawing's latent is taken under
    its own labels.
    """
    cfg, model = ckpt.config, ckpt.model
    out = []
    for start in range(0, len(sketches), BATCH):
        part = [
            np.asarray(s, dtype=np.float64)[: cfg.max_seq_len]
            for s in sketches[start : start + BATCH]
        ]
        out.append(_latent_batch(ckpt, part, conditions[start : start + BATCH]))
    if not out:
        return np.zeros((0, model.z_dim - model.cond_dim), np.float32)
    return np.concatenate(out)


def _latent_batch(
    ckpt: Checkpoint, sketches: list[np.ndarray], conditions: np.ndarray
) -> np.ndarray:
    cfg, model, device = ckpt.config, ckpt.model, ckpt.device
    longest = max(len(s) for s in sketches)
    rows = np.zeros((len(sketches), longest + 1, 5), dtype=np.float32)
    rows[:, 0] = S.START_TOKEN
    for b, s in enumerate(sketches):
        if ckpt.starts_at_origin and len(s):  # the encoder learnt row 0 as about (0, 0)
            s = np.concatenate([[[0.0, 0.0, s[0, 2]]], s[1:]])
        rows[b, 1:] = S.stroke3_to_stroke5(S.normalize(s, ckpt.scale_factor), longest)
    raster = None
    if cfg.needs_raster:
        images = np.stack(
            [rasterize(S.stroke3_to_polylines(s), size=cfg.raster_size) for s in sketches]
        )
        raster = torch.from_numpy(images[:, None]).to(device)
    inp = Inputs(
        torch.from_numpy(rows).to(device),
        torch.tensor([len(s) for s in sketches], device=device),
        torch.from_numpy(np.asarray(conditions, np.float32)).to(device),
        raster,
    )
    z = model.encode(inp, sample=False).z
    return z[:, : model.z_dim - model.cond_dim].float().cpu().numpy()


def stages(stroke_count: int, most: int = 12) -> list[int]:
    """How many strokes each library entry of a drawing shows: up to `most` prefix stages,
    spread evenly over a long drawing, then the whole drawing."""
    if stroke_count <= most + 1:
        return list(range(1, stroke_count + 1))
    picks = np.unique(np.linspace(1, stroke_count - 1, most).round().astype(int))
    return [*map(int, picks), stroke_count]
