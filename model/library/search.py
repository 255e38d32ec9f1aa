"""k-nearest-neighbour search over unit embeddings, filtered to the entries a request allows.

One small interface with two engines: exact numpy search (exact, no build time, fast up to a
few hundred thousand entries) and a faiss inverted-file index for the millions of entries a
library built from full QuickDraw categories holds. A filter that leaves few entries is always
searched exactly: that is both faster and exact.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

FAISS_FROM = 200_000  # entries from which a library is searched through faiss
EXACT_BELOW = 50_000  # allowed entries under which a filtered search is exact anyway


class VectorIndex(Protocol):
    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best entries for a unit query (d,): indices and cosine similarities, best
        first; `allowed` is a boolean mask over entries (None: all)."""
        ...


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class ExactIndex:
    """Brute-force inner products in float32."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32)
        if allowed is None:
            scores = self.vectors @ q
            best = _top(scores, k)
            return best, scores[best]
        ids = np.flatnonzero(allowed)
        scores = self.vectors[ids] @ q
        best = _top(scores, k)
        return ids[best], scores[best]


class FaissIndex:
    """An inverted-file faiss index (inner product) with an exact path for narrow filters."""

    def __init__(self, vectors: np.ndarray, nprobe: int = 16, seed: int = 0) -> None:
        import faiss  # only large libraries need it

        self.exact = ExactIndex(vectors)
        v = self.exact.vectors
        n, d = v.shape
        nlist = int(min(4096, max(16, 4 * np.sqrt(n))))
        self._index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = v[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
        self._index.train(sample)
        self._index.add(v)
        self._index.nprobe = nprobe
        self._faiss = faiss

    def __len__(self) -> int:
        return len(self.exact)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32)[None]
        params = None
        if allowed is not None:
            if allowed.sum() < EXACT_BELOW:
                return self.exact.search(query, k, allowed)
            bitmap = np.packbits(allowed.astype(np.uint8), bitorder="little")
            params = self._faiss.SearchParametersIVF(
                sel=self._faiss.IDSelectorBitmap(len(allowed), self._faiss.swig_ptr(bitmap)),
                nprobe=self._index.nprobe,
            )
        scores, ids = self._index.search(q, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]


def make_index(vectors: np.ndarray) -> VectorIndex:
    """The right engine for a library of this size."""
    return FaissIndex(vectors) if len(vectors) >= FAISS_FROM else ExactIndex(vectors)
