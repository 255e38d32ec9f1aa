"""Tests for lab.batches: batch layout, buckets, vocabularies, prefixes and padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lab.batches import Batcher
from lab.data import PreparedData
from model.strokes import PAD_ROW, START_TOKEN

from .test_data import mixed_data


@pytest.fixture
def data() -> PreparedData:
    return mixed_data()


def test_batch_layout(data: PreparedData) -> None:
    batcher = Batcher(data, "train", 8, raster_size=16, seed=3)
    batch = next(batcher)
    lengths = batch.lengths.numpy()
    longest = int(lengths.max())
    assert batch.strokes.shape == (8, longest + 2, 5) and batch.strokes.dtype == torch.float32
    assert batch.raster.shape == (8, 1, 16, 16) and float(batch.raster.max()) > 0
    assert batch.conditions.shape == (8, data.vocab.dim)
    assert batch.labels.dtype == torch.int64 and batch.labels.shape == (8, 2)
    strokes = batch.strokes.numpy()
    for b, i in enumerate(batch.indices.tolist()):
        s3 = data.sketch(i)
        assert lengths[b] == len(s3)
        np.testing.assert_array_equal(strokes[b, 0], START_TOKEN)
        real = strokes[b, 1 : lengths[b] + 1]
        np.testing.assert_allclose(real[:, :2] * data.scale_factor, s3[:, :2], rtol=1e-5)
        np.testing.assert_array_equal(real[:, 3], s3[:, 2])
        pads = strokes[b, lengths[b] + 1 :]
        assert len(pads) >= 1 and (pads == PAD_ROW).all()
        assert (
            data.vocab.decode(batch.conditions[b].numpy())["category"]
            == data.meta["vocab"]["category"][data.labels[i, 0]]
        )
    moved = batch.to("cpu")
    assert moved.strokes.device.type == "cpu" and moved.raster is not None


def test_bucketing_pads_each_batch_to_its_own_longest(data: PreparedData) -> None:
    bucketed = Batcher(data, "train", 4, raster_size=0, seed=0)
    spans, seen = [], []
    for _ in range(22):  # one epoch: 90 sketches -> 22 full batches
        batch = next(bucketed)
        assert batch.raster is None
        assert batch.strokes.shape[1] == int(batch.lengths.max()) + 2
        spans.append(int(batch.lengths.max() - batch.lengths.min()))
        seen += batch.indices.tolist()
    assert len(set(seen)) == 88 and bucketed.epoch == 1
    plain = Batcher(data, "train", 4, raster_size=0, seed=0, bucket=False)
    plain_spans = [int(b.lengths.max() - b.lengths.min()) for b in (next(plain) for _ in range(22))]
    assert np.mean(spans) < np.mean(plain_spans) / 2


def test_augmented_batches_stay_within_max_len(data: PreparedData) -> None:
    batcher = Batcher(data, "train", 16, augment=True, raster_size=8, max_len=40, seed=1)
    assert batcher.skipped_long > 0
    for _ in range(10):
        batch = next(batcher)
        assert int(batch.lengths.max()) <= 40
        assert (batch.strokes[:, 0] == torch.from_numpy(START_TOKEN)).all()


def test_iterate_once_covers_each_sketch_once(data: PreparedData) -> None:
    batcher = Batcher(data, "train", 7, raster_size=0)
    first = [b.indices.tolist() for b in batcher.iterate_once()]
    second = [b.indices.tolist() for b in batcher.iterate_once()]
    flat = [i for batch in first for i in batch]
    assert sorted(flat) == data.indices("train").tolist()
    assert first == second  # deterministic
    valid = Batcher(data, "valid", 100, raster_size=0)
    (only,) = list(valid.iterate_once())
    assert sorted(only.indices.tolist()) == data.indices("valid").tolist()


def test_given_indices_are_batched_instead_of_a_split(data: PreparedData) -> None:
    """indices= batches exactly those sketches, whatever split they are in."""
    picked = np.concatenate([data.indices("valid")[:2], data.indices("train")[:3]])
    batcher = Batcher(data, "train", 100, raster_size=0, indices=picked)
    (only,) = list(batcher.iterate_once())
    assert sorted(only.indices.tolist()) == sorted(picked.tolist())


def test_empty_split_is_a_clear_error(data: PreparedData) -> None:
    with pytest.raises(ValueError, match="the 'test' split has no sketches"):
        Batcher(data, "test", 4)
    with pytest.raises(ValueError, match="longer than max_len 2"):
        Batcher(data, "valid", 4, max_len=2)


def test_batcher_speaks_a_checkpoint_vocabulary_and_scale(data: PreparedData) -> None:
    """With another vocab and scale, labels are re-mapped by name and offsets re-normalised."""
    from lab.data import ConditionVocab

    names = list(data.vocab.values["category"])
    other = ConditionVocab(
        ("shape", "category"), {"shape": ("round",), "category": (names[1], "zebra", names[0])}
    )
    batcher = Batcher(data, "train", 8, raster_size=0, scale=2.0, vocab=other, seed=3)
    batch = next(batcher)
    for b, i in enumerate(batch.indices.tolist()):
        decoded = other.decode(batch.conditions[b].numpy())
        name = names[data.labels[i, 0]]
        assert decoded == ({"category": name} if name in names[:2] else {})
        s3 = data.sketch(i)
        np.testing.assert_allclose(batch.strokes[b, 1, :2].numpy() * 2.0, s3[0, :2], rtol=1e-5)


def test_prefix_batches_show_the_encoders_whole_first_strokes(data: PreparedData) -> None:
    """With prefix_prob 1 the encoders see the first k < all strokes; the decoder sees all."""
    batcher = Batcher(
        data,
        "train",
        8,
        augment=True,
        raster_size=0,
        seed=2,
        prefix_prob=1.0,
        drop_prob=0.0,
        scale_jitter=0.0,
    )
    batch = next(batcher)
    assert batch.enc_lengths is not None
    for b, i in enumerate(batch.indices.tolist()):
        s3, k = data.sketch(i), int(batch.enc_lengths[b])
        assert int(batch.lengths[b]) == len(s3)
        if (s3[:-1, 2] == 1).any():
            assert k < len(s3) and s3[k - 1, 2] == 1  # ends on a pen lift: whole strokes
        else:
            assert k == len(s3)
    plain = next(Batcher(data, "train", 8, raster_size=0, seed=2))
    assert torch.equal(plain.enc_lengths, plain.lengths)
