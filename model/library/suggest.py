"""What the library offers each mode: aligned neighbours, their remaining strokes, varied copies,
and the projection of an artist's latent onto its nearest real drawings.

Everything here works in document coordinates: neighbours are fitted onto the artist's strokes
(model.library.align), so what comes back lies where the artist drew.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from model.checkpoint import Checkpoint
from model.strokes import reach_box, within

from .align import Fit, Similarity, fit, resample, size_of
from .embed import embed, query_polylines
from .search import VectorIndex, make_index
from .store import Library

CANDIDATES = 8  # drawings fitted per query; the embedding ranks, the fit decides
GUIDE_SHARPNESS = 0.02  # fit error (share of size) at which a neighbour's weight falls to 1/e


@dataclass(frozen=True)
class Neighbour:
    """A library drawing fitted onto the artist's strokes through its first `shown` strokes."""

    drawing: int
    shown: int
    fit: Fit
    source: str


@dataclass(frozen=True)
class Drawn:
    """A finished alternative from the library, in document coordinates."""

    strokes: list[np.ndarray]
    source: str
    # A whole library drawing's latent z (no c) and conditions, who it draws; None for a part.
    latent: np.ndarray | None = None
    conditions: Mapping[str, str] | None = None


class SketchLibrary:
    """A model's library, searchable: the stored drawings plus an index over their entries."""

    def __init__(self, library: Library, ckpt: Checkpoint) -> None:
        if library.latents.shape[1] != ckpt.model.z_dim - ckpt.model.cond_dim:
            raise ValueError(
                "the library was built with another model; rebuild it with "
                "`python -m lab.library build`"
            )
        self.library, self.ckpt = library, ckpt
        self.index: VectorIndex = make_index(library.embeddings.astype(np.float32))
        self.latents = library.latents.astype(np.float32)

    def __len__(self) -> int:
        return len(self.library)

    def _allowed(self, conditions: Mapping[str, str], unfinished: bool) -> np.ndarray:
        lib = self.library
        allowed = lib.matching(conditions)[lib.entry_drawing]
        if unfinished:  # entries that leave strokes to add
            allowed &= lib.entry_strokes < lib.stroke_counts[lib.entry_drawing]
        return allowed

    def neighbours(
        self,
        polylines: Sequence[np.ndarray],
        conditions: Mapping[str, str],
        k: int,
        unfinished: bool = False,
        pause: Callable[[], None] | None = None,
    ) -> list[Neighbour]:
        """The k library drawings that best fit the artist's strokes, best first.

        `unfinished` keeps only stages that leave strokes to add (for completion); `pause`, if
        given, is called before each fit (a few milliseconds each), so a server can let other
        work go first.
        """
        lib = self.library
        query = query_polylines(polylines)
        if not query:
            return []
        allowed = self._allowed(conditions, unfinished)
        if not allowed.any():
            return []
        entries, _ = self.index.search(embed(self.ckpt, [query])[0], 8 * CANDIDATES, allowed)
        seen: dict[int, int] = {}
        for e in entries:  # the best-ranked stage of each drawing
            seen.setdefault(int(lib.entry_drawing[e]), int(lib.entry_strokes[e]))
            if len(seen) >= max(k, CANDIDATES):
                break
        target = [np.asarray(p, dtype=np.float64) for p in polylines if len(p)]
        found = []
        for d, shown in seen.items():
            if pause is not None:
                pause()
            found.append(Neighbour(d, shown, fit(lib.polylines(d, shown), target), lib.ids[d]))
        found.sort(key=lambda n: n.fit.error)
        return found[:k]

    def guide(
        self,
        polylines: Sequence[np.ndarray],
        conditions: Mapping[str, str],
        k: int,
        pause: Callable[[], None] | None = None,
    ) -> list[tuple[list[np.ndarray], float, str]]:
        """The k best-fitting whole drawings in document coordinates, with blend weights
        (`pause` as for neighbours)."""
        found = self.neighbours(polylines, conditions, k, pause=pause)
        if not found:
            return []
        errors = np.array([n.fit.error for n in found])
        weights = np.exp(-(errors - errors.min()) / GUIDE_SHARPNESS)
        weights /= weights.sum()
        return [
            (n.fit.transform.apply_all(self.library.polylines(n.drawing)), float(w), n.source)
            for n, w in zip(found, weights)
        ]

    def continuations(
        self,
        polylines: Sequence[np.ndarray],
        conditions: Mapping[str, str],
        n: int,
        temperature: float,
        seed: int,
    ) -> list[Drawn]:
        """Up to n completions: the strokes each best-fitting neighbour has beyond the part that
        matches the artist's, fitted onto the artist's drawing and lightly varied. A fit that
        would put them far from the drawing (beyond model.strokes.REACH) is passed over."""
        region = reach_box([p for p in polylines if len(p)])
        out = []
        for i, nb in enumerate(
            self.neighbours(polylines, conditions, max(2 * n, CANDIDATES), True)
        ):
            rest = self.library.polylines(nb.drawing)[nb.shown :]
            placed = nb.fit.transform.apply_all(rest)
            if not all(within(p, region) for p in placed):
                continue
            rng = np.random.default_rng([seed % 2**64, i, 2])
            varied = vary(rest, rng, temperature, whole=False)
            out.append(Drawn(nb.fit.transform.apply_all(varied), nb.source))
            if len(out) == n:
                break
        return out

    def person_of(self, latent: np.ndarray) -> int | None:
        """The person a character kept from a library sample shows: that of the drawing whose
        latent it carries (equal after the wire's float16); None for any other latent."""
        people = self.library.people
        assert people is not None
        known = np.flatnonzero(people >= 0)
        if not len(known) or latent.shape != self.latents.shape[1:]:
            return None
        gap = np.abs(self.latents[known] - latent).max(1)
        j = int(np.argmin(gap))
        if gap[j] > 1e-3 * (1.0 + float(np.abs(latent).max())):
            return None
        return int(people[known[j]])

    def drawings(
        self,
        conditions: Mapping[str, str],
        n: int,
        temperature: float,
        seed: int,
        person: int | None = None,
    ) -> list[Drawn]:
        """n different library drawings of the conditions (box units), each varied; fewer when
        the library holds fewer. With a person (person_of), only that person's drawings."""
        keep = self.library.matching(conditions)
        if person is not None:
            keep &= self.library.people == person
        matching = np.flatnonzero(keep)
        if not len(matching):
            return []
        rng = np.random.default_rng([seed % 2**64, 3])
        picks = rng.choice(matching, size=min(n, len(matching)), replace=False)
        out = []
        for i, d in enumerate(picks):
            varied = vary(
                self.library.polylines(int(d)),
                np.random.default_rng([seed % 2**64, i, 4]),
                temperature,
                whole=True,
            )
            out.append(
                Drawn(
                    varied,
                    self.library.ids[int(d)],
                    self.latents[int(d)],
                    self.library.conditions(int(d)),
                )
            )
        return out

    def project(
        self, z: np.ndarray, conditions: Mapping[str, str], k: int = 8
    ) -> tuple[np.ndarray, list[tuple[str, float]]] | None:
        """Sketch2Anime's projection: the convex combination of the k nearest library latents
        closest to z, and the (id, weight) of each neighbour used; None if nothing matches."""
        matching = np.flatnonzero(self.library.matching(conditions))
        if not len(matching):
            return None
        d2 = ((self.latents[matching] - z) ** 2).sum(1)
        near = matching[np.argsort(d2)[:k]]
        basis = self.latents[near]  # [K, D]
        w = simplex_least_squares(basis.T, z)
        ids = [(self.library.ids[int(j)], float(wj)) for j, wj in zip(near, w) if wj > 1e-3]
        return w @ basis, sorted(ids, key=lambda x: -x[1])


def simplex_least_squares(a: np.ndarray, b: np.ndarray, iterations: int = 500) -> np.ndarray:
    """argmin ||a w - b|| over w >= 0, sum(w) = 1 (projected gradient; a is [D, K], K small)."""
    k = a.shape[1]
    w = np.full(k, 1.0 / k)
    gram, ab = a.T @ a, a.T @ b
    step = 1.0 / max(float(np.linalg.eigvalsh(gram).max()), 1e-12)
    for _ in range(iterations):
        w_new = project_simplex(w - step * (gram @ w - ab))
        if np.abs(w_new - w).max() < 1e-9:
            return w_new
        w = w_new
    return w


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto {w >= 0, sum(w) = 1} (Duchi et al. 2008)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    rho = np.flatnonzero(u - css / np.arange(1, len(v) + 1) > 0)[-1]
    return np.maximum(v - css[rho] / (rho + 1.0), 0.0)


def vary(
    polylines: Sequence[np.ndarray], rng: np.random.Generator, temperature: float, whole: bool
) -> list[np.ndarray]:
    """A hand-made variation of real strokes: each stroke nudged, turned and bent a little, and
    (for a whole drawing) the drawing stretched, more at higher temperature."""
    lines = [np.asarray(p, dtype=np.float64) for p in polylines if len(p)]
    if not lines:
        return []
    t = float(np.clip(temperature / 0.5, 0.2, 3.0))  # 1 at the default temperature
    points = np.concatenate(lines)
    size, centre = size_of(points), points.mean(axis=0)
    out = []
    for p in lines:
        c = p.mean(axis=0)
        turn = Similarity(1.0 + rng.normal(0, 0.015 * t), rng.normal(0, 0.015 * t))
        q = turn.apply(p - c) + c + rng.normal(0, 0.006 * t * size, 2)
        if len(q) > 2:  # a smooth bend along the stroke, zero at its ends, to its own scale
            along = np.linspace(0.0, np.pi, len(q))[:, None]
            q = q + np.sin(along) * rng.normal(0, 0.015 * t * size_of(p), 2)
        out.append(q)
    if whole:
        stretch = np.diag(1.0 + rng.normal(0, 0.04 * t, 2))
        out = [(q - centre) @ stretch.T + centre for q in out]
    return out


def distance(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """Symmetric mean nearest-point distance between two drawings, as a share of b's size."""
    pa, _ = resample(a)
    pb, _ = resample(b)
    d2 = ((pa[:, None] - pb[None]) ** 2).sum(-1)
    return float((np.sqrt(d2.min(1)).mean() + np.sqrt(d2.min(0)).mean()) / 2 / size_of(pb))
