"""Training batches of prepared data: stroke-5 padding, length buckets, augmentation, prefixes."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

from lab.augment import drop_points, random_scale
from lab.data import PreparedData
from model.raster import rasterize_stroke3
from model.strokes import START_TOKEN, normalize, stroke3_to_stroke5
from model.vocab import ConditionVocab


@dataclass
class Batch:
    """One training batch; strokes[:, 0] is START_TOKEN and rows after lengths[i] + 1 are PAD.

    strokes float32 [B, T+1, 5] (T = longest sketch in the batch + 1, so every sketch has an end
    row and the pen loss learns to stop, or T = N_max when the Batcher pads to it as magenta
    does; offsets divided by the scale factor); lengths int64 [B]; conditions float32
    [B, vocab.dim]; raster float32 [B, 1, R, R] or None; labels int64 [B, n_attributes];
    indices int64 [B] (which sketches these are);
    enc_lengths int64 [B]: the rows the encoders see (a prefix of whole strokes when the batcher
    teaches completion, else lengths); the raster shows the same prefix;
    source: another batch, row for row, whose drawings the encoders read instead (another
    drawing of the same person: cross-reconstruction), or None.
    """

    strokes: torch.Tensor
    lengths: torch.Tensor
    conditions: torch.Tensor
    raster: torch.Tensor | None
    labels: torch.Tensor
    indices: torch.Tensor
    enc_lengths: torch.Tensor | None = None
    source: Batch | None = None  # what the encoders read instead (Batcher's `cross`)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """A copy with every tensor on `device`."""
        return self._map(lambda v: v.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        """A copy in page-locked memory, for a fast copy to a GPU (DataLoader calls this)."""
        return self._map(lambda v: v.pin_memory())

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        mapped: dict[str, Any] = {
            f.name: None if v is None else v._map(fn) if isinstance(v, Batch) else fn(v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return replace(self, **mapped)


def _label_map(
    source: ConditionVocab, target: ConditionVocab
) -> list[tuple[int | None, np.ndarray]]:
    """Per target attribute: its source column (None if absent) and a table from source
    label + 1 to target label, -1 meaning unknown."""
    maps: list[tuple[int | None, np.ndarray]] = []
    for name in target.attributes:
        if name not in source.values:
            maps.append((None, np.full(1, -1, dtype=np.int64)))
            continue
        index = {v: i for i, v in enumerate(target.values[name])}
        table = np.array([-1] + [index.get(v, -1) for v in source.values[name]], dtype=np.int64)
        maps.append((source.attributes.index(name), table))
    return maps


class Batcher:
    """Batches of one split: endless shuffled epochs via iteration, or one pass via iterate_once.

    With bucket=True sketches of similar length are batched together (buckets of batch_size * 8
    in length order), so each batch pads only to its own longest sketch + 1. With
    pad_to_max_len every batch is padded to max_len rows instead (magenta's N_max padding; a
    sketch of exactly max_len rows then has no end row, as in magenta).
    """

    def __init__(
        self,
        data: PreparedData,
        split: str,
        batch_size: int,
        *,
        max_len: int = 250,
        augment: bool = False,
        raster_size: int = 48,
        seed: int = 0,
        bucket: bool = True,
        scale_jitter: float = 0.15,
        drop_prob: float = 0.1,
        prefix_prob: float = 0.0,
        scale: float | None = None,
        vocab: ConditionVocab | None = None,
        indices: np.ndarray | None = None,
        pad_to_max_len: bool = False,
        cross: float = 0.0,
    ) -> None:
        """scale and vocab default to the data's; a checkpoint's own are passed when a model is
        evaluated on other data, so offsets and condition vectors mean what they meant in training.
        indices, when given, batches exactly those sketches instead of the split's. With `cross`
        > 0 and identity-labelled data, that share of each augmented batch's rows is encoded from
        another drawing of the same person among these sketches (Batch.source).
        """
        if not 0.0 <= cross <= 1.0:
            raise ValueError(f"cross must be between 0 and 1; got {cross!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        if not isinstance(raster_size, int) or raster_size < 0:
            raise ValueError(
                f"raster_size must be 0 (no raster) or a pixel count; got {raster_size!r}"
            )
        indices = data.indices(split) if indices is None else np.asarray(indices, np.int64)
        fits = data.lengths[indices] <= max_len
        self.skipped_long = int((~fits).sum())
        if not fits.any():
            longer = (
                f" ({self.skipped_long} are longer than max_len {max_len})"
                if self.skipped_long
                else ""
            )
            raise ValueError(
                f"the '{split}' split has no sketches to batch{longer}; prepare "
                "more data, change the split fractions, or pick another split"
            )
        self.data, self.split, self.batch_size = data, split, batch_size
        self.max_len, self.augment, self.raster_size = max_len, augment, raster_size
        self.bucket, self.scale_jitter, self.drop_prob = bucket, scale_jitter, drop_prob
        self.prefix_prob = prefix_prob  # chance, when augmenting, that encoders see a prefix
        self.pad_to_max_len = pad_to_max_len
        self.indices = indices[fits]
        self.vocab = vocab or data.vocab
        self.scale = data.scale_factor if scale is None else float(scale)
        self._label_map = None if self.vocab == data.vocab else _label_map(data.vocab, self.vocab)
        self.epoch = 0
        self._rng = np.random.default_rng(seed)
        self._queue: deque[np.ndarray] = deque()
        self.cross = cross
        self._people: dict[int, np.ndarray] = {}  # identity -> its sketches here (2 or more)
        if cross > 0:
            ids = data.identity[self.indices]
            for person in np.unique(ids[ids >= 0]):
                same = self.indices[ids == person]
                if len(same) > 1:
                    self._people[int(person)] = same

    def __iter__(self) -> Batcher:
        return self

    def __next__(self) -> Batch:
        if not self._queue:
            self._queue.extend(self._epoch_batches())
            self.epoch += 1
        return self._batch(self._queue.popleft(), self.augment)

    def iterate_once(self) -> Iterator[Batch]:
        """Every sketch of the split once, in a fixed order (length order when bucketing)."""
        order = self.indices
        if self.bucket:
            order = order[np.argsort(self.data.lengths[order], kind="stable")]
        for start in range(0, len(order), self.batch_size):
            yield self._batch(order[start : start + self.batch_size], augment=False)

    def _epoch_batches(self) -> list[np.ndarray]:
        """One epoch's batches; a remainder smaller than batch_size waits for the next epoch."""
        rng, size = self._rng, self.batch_size
        order = self.indices[rng.permutation(len(self.indices))]
        if len(order) <= size:
            return [order]
        if not self.bucket:
            return [order[s : s + size] for s in range(0, len(order) - size + 1, size)]
        order = order[np.argsort(self.data.lengths[order], kind="stable")]  # ties stay shuffled
        batches, carry = [], order[:0]
        for start in range(0, len(order), size * 8):
            bucket = rng.permutation(np.concatenate([carry, order[start : start + size * 8]]))
            full = len(bucket) // size * size
            batches += [bucket[s : s + size] for s in range(0, full, size)]
            carry = bucket[full:]  # leftovers join the next (slightly longer) bucket
        return [batches[i] for i in rng.permutation(len(batches))]

    def _batch(self, idx: np.ndarray, augment: bool) -> Batch:
        batch = self._build(idx, augment)
        if augment and self._people:
            partners = self._partners(idx)
            if partners is not None:
                batch.source = self._build(partners, augment)
        return batch

    def _partners(self, idx: np.ndarray) -> np.ndarray | None:
        """Per row, with chance `cross`, another sketch of the same person (else the row's own);
        None when no row got one."""
        out, swapped = np.array(idx, dtype=np.int64), False
        for row, i in enumerate(out):
            same = self._people.get(int(self.data.identity[i]))
            if same is None or self._rng.random() >= self.cross:
                continue
            other = same[self._rng.integers(len(same) - 1)]
            out[row] = other if other != i else same[-1]  # any of the others, uniformly
            swapped = True
        return out if swapped else None

    def _build(self, idx: np.ndarray, augment: bool) -> Batch:
        import torch  # here, so `python -m lab.prepare` and vocabulary users skip its import

        sketches = [self.data.sketch(int(i)) for i in idx]
        if augment:
            sketches = [
                drop_points(
                    random_scale(s, self._rng, self.scale_jitter), self._rng, self.drop_prob
                )
                for s in sketches
            ]
        if self.pad_to_max_len:
            rows = self.max_len
        else:
            rows = max(len(s) for s in sketches) + 1  # every sketch gets an end row to learn
        strokes = np.empty((len(idx), rows + 1, 5), dtype=np.float32)
        strokes[:, 0] = START_TOKEN
        for b, s in enumerate(sketches):
            strokes[b, 1:] = stroke3_to_stroke5(normalize(s, self.scale), rows)
        seen = [self._prefix_length(s) if augment else len(s) for s in sketches]
        raster = None
        if self.raster_size:
            images = np.stack(
                [rasterize_stroke3(s[:k], size=self.raster_size) for s, k in zip(sketches, seen)]
            )
            raster = torch.from_numpy(images[:, None])
        labels = self.data.labels[idx]
        if self._label_map is not None:
            labels = np.stack(
                [
                    table[labels[:, col] + 1] if col is not None else np.full(len(labels), -1)
                    for col, table in self._label_map
                ],
                1,
            )
        return Batch(
            strokes=torch.from_numpy(strokes),
            lengths=torch.tensor([len(s) for s in sketches], dtype=torch.int64),
            conditions=torch.from_numpy(self.vocab.encode_labels(labels)),
            raster=raster,
            labels=torch.from_numpy(labels.astype(np.int64)),
            indices=torch.from_numpy(np.asarray(idx, dtype=np.int64)),
            enc_lengths=torch.tensor(seen, dtype=torch.int64),
        )

    def _prefix_length(self, s3: np.ndarray) -> int:
        """Rows of the first k whole strokes (k < all, at random) with chance prefix_prob.

        The encoders then see a drawing's beginning while the decoder still learns the whole
        drawing, which is what completing an artist's strokes asks of the model.
        """
        ends = np.flatnonzero(s3[:-1, 2] == 1)  # stroke ends before the last stroke's
        if not len(ends) or self._rng.random() >= self.prefix_prob:
            return len(s3)
        return int(ends[self._rng.integers(len(ends))]) + 1
