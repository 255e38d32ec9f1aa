"""Fit one drawing onto another with a similarity transform, and score the fit.

ICP on points resampled at even arc length: each round pairs every point with the nearest point
of the other drawing (both ways, so neither can shrink onto a corner of the other), drops the
worst pairs (a neighbour's extra strokes are not errors), and solves the least-squares
similarity (Umeyama 1991) with the rotation kept small. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLE_POINTS = 64  # points per drawing for matching
MAX_ROTATION = np.deg2rad(20.0)  # a neighbour is an upright drawing; a large turn is a bad fit
ROUNDS = 40
KEEP = 0.8  # share of point pairs kept each round (trimmed ICP)
POINT_WEIGHT = 0.1  # weight of point-to-point next to point-to-line residuals


@dataclass(frozen=True)
class Similarity:
    """x -> scale * R(angle) x + shift, for points as rows (K, 2)."""

    scale: float = 1.0
    angle: float = 0.0  # radians, counter-clockwise in a y-up frame (clockwise on a y-down page)
    shift: tuple[float, float] = (0.0, 0.0)

    @property
    def matrix(self) -> np.ndarray:
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.scale * np.array([[c, -s], [s, c]])

    def apply(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) @ self.matrix.T + np.asarray(self.shift)

    def apply_all(self, polylines: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.apply(p) for p in polylines]

    def then(self, other: Similarity) -> Similarity:
        """The transform that applies self, then other."""
        shift = other.apply(np.asarray(self.shift)[None])[0]
        return Similarity(
            self.scale * other.scale, self.angle + other.angle, (float(shift[0]), float(shift[1]))
        )


@dataclass(frozen=True)
class Fit:
    """Where a source drawing lands on a target, and how well: error as a share of its size."""

    transform: Similarity
    error: float  # trimmed mean symmetric nearest-point distance / target size
    full_error: float  # the same over every point: what a part that matches nothing costs


def resample(
    polylines: Sequence[np.ndarray], count: int = RESAMPLE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """`count` points spread evenly along the strokes' total length, and each point's unit normal.

    A stroke gets points in proportion to its length (at least one); a point's normal is
    perpendicular to the stroke there (zero for a stroke that is a single point).
    """
    strokes = [np.asarray(p, dtype=np.float64) for p in polylines if len(p)]
    if not strokes:
        raise ValueError("cannot resample a drawing with no points")
    seg_lengths = [np.hypot(*np.diff(p, axis=0).T) for p in strokes]
    total = sum(float(s.sum()) for s in seg_lengths)
    points, normals = [], []
    for p, seg in zip(strokes, seg_lengths):
        length = float(seg.sum())
        if length <= 0:
            points.append(p[:1])
            normals.append(np.zeros((1, 2)))
            continue
        n = max(2, round(count * length / total))
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        at = np.linspace(0.0, length, n)
        pts = np.stack([np.interp(at, cum, p[:, 0]), np.interp(at, cum, p[:, 1])], axis=1)
        tangent = np.gradient(pts, axis=0)
        norm = np.hypot(*tangent.T)[:, None]
        tangent = np.divide(tangent, norm, out=np.zeros_like(tangent), where=norm > 0)
        points.append(pts)
        normals.append(np.stack([-tangent[:, 1], tangent[:, 0]], axis=1))
    return np.concatenate(points), np.concatenate(normals)


def size_of(points: np.ndarray) -> float:
    """The larger side of the points' bounding box (at least a tiny positive number)."""
    extent = points.max(axis=0) - points.min(axis=0)
    return max(float(extent.max()), 1e-9)


def _pairs(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-point pairs both ways: source indices, target indices, distances."""
    d2 = ((src[:, None, :] - dst[None, :, :]) ** 2).sum(-1)  # [S, D]
    i_sd, i_ds = d2.argmin(axis=1), d2.argmin(axis=0)
    s_idx, d_idx = np.arange(len(src)), np.arange(len(dst))
    dist = np.sqrt(np.concatenate([d2[s_idx, i_sd], d2[i_ds, d_idx]]))
    return np.concatenate([s_idx, i_ds]), np.concatenate([i_sd, d_idx]), dist


def _solve(p: np.ndarray, q: np.ndarray, n: np.ndarray, max_angle: float) -> Similarity:
    """Least squares similarity taking p onto q: mostly point-to-line along q's normals n (fast
    to converge on curves), a little point-to-point (so lines cannot slide); angle clamped."""
    w = POINT_WEIGHT
    # x' = a x - b y + tx, y' = b x + a y + ty: linear in (a, b, tx, ty).
    line = np.stack(
        [
            n[:, 0] * p[:, 0] + n[:, 1] * p[:, 1],
            n[:, 1] * p[:, 0] - n[:, 0] * p[:, 1],
            n[:, 0],
            n[:, 1],
        ],
        axis=1,
    )
    one, zero = np.ones(len(p)), np.zeros(len(p))
    px = np.stack([p[:, 0], -p[:, 1], one, zero], axis=1)
    py = np.stack([p[:, 1], p[:, 0], zero, one], axis=1)
    rows = np.concatenate([line, w * px, w * py])
    rhs = np.concatenate([(n * q).sum(1), w * q[:, 0], w * q[:, 1]])
    a, b, tx, ty = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    angle = float(np.arctan2(b, a))
    if abs(angle) <= max_angle:
        return Similarity(max(float(np.hypot(a, b)), 1e-9), angle, (float(tx), float(ty)))
    angle = float(np.clip(angle, -max_angle, max_angle))  # re-solve scale and shift at the limit
    c, s = np.cos(angle), np.sin(angle)
    rp = p @ np.array([[c, -s], [s, c]]).T
    rows = np.concatenate(
        [
            np.stack([(n * rp).sum(1), n[:, 0], n[:, 1]], axis=1),
            w * np.stack([rp[:, 0], one, zero], axis=1),
            w * np.stack([rp[:, 1], zero, one], axis=1),
        ]
    )
    scale, tx, ty = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    return Similarity(max(float(scale), 1e-9), angle, (float(tx), float(ty)))


def _trimmed(d: np.ndarray) -> np.ndarray:
    return np.argsort(d)[: max(3, int(len(d) * KEEP))]


def fit(
    source: Sequence[np.ndarray],
    target: Sequence[np.ndarray],
    max_angle: float = MAX_ROTATION,
    rounds: int = ROUNDS,
) -> Fit:
    """The similarity that best lays `source` over `target`, and its error.

    Starts from matching centroids and spreads, then refines by trimmed ICP.
    """
    src, _ = resample(source)
    dst, normals = resample(target)
    size = size_of(dst)
    spread_s = float(np.sqrt(((src - src.mean(0)) ** 2).sum(1).mean()))
    spread_d = float(np.sqrt(((dst - dst.mean(0)) ** 2).sum(1).mean()))
    scale = spread_d / spread_s if spread_s > 0 else 1.0
    shift = dst.mean(0) - scale * src.mean(0)
    current = Similarity(scale, 0.0, (float(shift[0]), float(shift[1])))
    best, best_err, stale = current, np.inf, 0
    for _ in range(rounds):
        i, j, d = _pairs(current.apply(src), dst)
        keep = _trimmed(d)
        err = float(d[keep].mean())
        if err < best_err * (1 - 1e-4):
            best, best_err, stale = current, err, 0
        elif (stale := stale + 1) >= 4:
            break
        current = _solve(src[i[keep]], dst[j[keep]], normals[j[keep]], max_angle)
    _, _, d = _pairs(best.apply(src), dst)
    return Fit(best, float(d[_trimmed(d)].mean()) / size, float(d.mean()) / size)
