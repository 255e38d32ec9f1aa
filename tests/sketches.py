"""Tiny real-looking sketches for tests: circles, squares and zigzags in QuickDraw's box."""

from __future__ import annotations

import numpy as np


def circle(cx: float = 128, cy: float = 128, r: float = 80, n: int = 16) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def square(x0: float = 40, y0: float = 40, side: float = 150) -> np.ndarray:
    return np.array(
        [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]], dtype=float
    )


def zigzag(x0: float = 20, y0: float = 200, n: int = 8) -> np.ndarray:
    return np.array([[x0 + 25 * i, y0 - 30 * (i % 2)] for i in range(n)], dtype=float)


def face() -> list[np.ndarray]:
    """A head, two eyes and a mouth: four strokes."""
    return [
        circle(),
        circle(95, 105, 10, 6),
        circle(160, 105, 10, 6),
        np.array([[90, 160], [128, 180], [166, 160]], dtype=float),
    ]


def house() -> list[np.ndarray]:
    return [square(60, 110, 130), np.array([[60, 110], [125, 40], [190, 110]], dtype=float)]


def make_inputs(
    sketches: list[list[np.ndarray]], conditions: np.ndarray, raster_size: int, scale: float = 30.0
):
    """Network Inputs for a list of sketches (polylines in the 256 box), padded by one end row."""
    import torch

    from model import strokes as S
    from model.network import Inputs
    from model.raster import rasterize

    s3s = [S.normalize(S.polylines_to_stroke3(p), scale) for p in sketches]
    longest = max(len(s) for s in s3s) + 1
    rows = np.stack(
        [np.concatenate([S.START_TOKEN[None], S.stroke3_to_stroke5(s, longest)]) for s in s3s]
    )
    raster = None
    if raster_size:
        raster = torch.tensor(np.stack([rasterize(p, size=raster_size) for p in sketches]))[:, None]
    return Inputs(
        torch.tensor(rows),
        torch.tensor([len(s) for s in s3s]),
        torch.tensor(conditions, dtype=torch.float32),
        raster,
    )
