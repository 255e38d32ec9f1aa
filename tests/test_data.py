"""Tests for the prepared format, condition vocabulary, augmentation and the Batcher."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from model.data import (
    Batcher,
    ConditionVocab,
    PreparedData,
    PreparedDataError,
    drop_points,
    random_scale,
)
from model.prepare import build
from model.sources import SourceDrawing
from model.strokes import PAD_ROW, START_TOKEN, scale_factor, stroke3_to_polylines


def zigzag(n: int, step: int = 5, strokes: int = 1) -> np.ndarray:
    rows = np.array([[step, (-1) ** i * step, 0] for i in range(n)], dtype=np.int16)
    ends = np.linspace(0, n - 1, strokes + 1).astype(int)[1:]
    rows[ends, 2] = 1
    return rows


def make_data(specs: list[tuple[int, str, str, dict]]) -> PreparedData:
    """PreparedData from (length, category, split, attributes) tuples."""
    sketches = [
        SourceDrawing(zigzag(n, strokes=1 + n // 10), cat, attrs, split)
        for n, cat, split, attrs in specs
    ]
    codes = np.array([{"train": 0, "valid": 1, "test": 2}[s] for _, _, s, _ in specs])
    return build(sketches, codes, max_len=250)


@pytest.fixture
def data() -> PreparedData:
    rng = np.random.default_rng(1)
    specs = [
        (
            int(rng.integers(2, 60)),
            ["apple", "cat", "dog"][i % 3],
            "train",
            {"style": "ink"} if i % 4 == 0 else {},
        )
        for i in range(90)
    ]
    specs += [(7, "cat", "valid", {}), (9, "dog", "valid", {}), (3, "apple", "valid", {})]
    return make_data(specs)


def test_save_load_round_trip(tmp_path: Path, data: PreparedData) -> None:
    path = tmp_path / "d.npz"
    data.save(path)
    back = PreparedData.load(path)
    for name in ("points", "offsets", "split", "labels"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.meta == data.meta and back.vocab == data.vocab
    assert len(back.indices("valid")) == 3
    assert len(back.indices("train")) + 3 == len(back)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        back.indices("dev")


def _rewrite(path: Path, **changes: object) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta.update(changes.pop("meta", {}))
    arrays.update(changes)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"meta": {"format": "ai-sketcher-prepared/2"}}, "format 'ai-sketcher-prepared/2' is not"),
        ({"meta": {"format": "other"}}, "not an AI-Sketcher prepared file"),
        ({"meta": {"attributes": ["label", "category"]}}, "starting with 'category'"),
        ({"meta": {"scale_factor": -1}}, "scale_factor must be a positive number"),
        ({"offsets": np.array([0, 5], dtype=np.int64)}, "offsets must rise from 0"),
        ({"points": np.zeros((4, 2), dtype=np.int16)}, "points must be int16 (rows, 3)"),
        ({"split": np.full(93, 7, dtype=np.uint8)}, "split must be uint8"),
        ({"labels": np.full((93, 2), 9, dtype=np.int16)}, "labels of 'category' must lie in"),
    ],
)
def test_load_rejects_bad_files(
    tmp_path: Path, data: PreparedData, changes: dict, message: str
) -> None:
    path = tmp_path / "d.npz"
    data.save(path)
    _rewrite(path, **changes)
    with pytest.raises(PreparedDataError) as err:
        PreparedData.load(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_load_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(PreparedDataError, match="no such file; create it with"):
        PreparedData.load(tmp_path / "nope.npz")
    np.savez(tmp_path / "obj.npz", train=np.array([np.zeros(2), np.zeros(3)], dtype=object))
    with pytest.raises(PreparedDataError, match="lacks points, offsets"):
        PreparedData.load(tmp_path / "obj.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(PreparedDataError, match="not a prepared .npz: it is not a zip archive"):
        PreparedData.load(tmp_path / "text.npz")
    (tmp_path / "image.npz").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    with pytest.raises(PreparedDataError, match="it is a PNG image; make one with") as raised:
        PreparedData.load(tmp_path / "image.npz")
    assert "pickle" not in str(raised.value)


def test_merge_unites_vocabularies_and_remaps_labels() -> None:
    a = make_data([(5, "cat", "train", {"label": "1"}), (6, "zebra", "valid", {"label": "0"})])
    b = make_data([(7, "apple", "train", {"style": "ink"}), (8, "cat", "test", {})])
    merged = PreparedData.merge([a, b])
    assert merged.attributes == ("category", "label", "style")
    assert merged.meta["vocab"]["category"] == ["apple", "cat", "zebra"]
    named = [
        {attr: merged.meta["vocab"][attr][v] for attr, v in zip(merged.attributes, row) if v >= 0}
        for row in merged.labels.tolist()
    ]
    assert named == [
        {"category": "cat", "label": "1"},
        {"category": "zebra", "label": "0"},
        {"category": "apple", "style": "ink"},
        {"category": "cat"},
    ]
    assert merged.split.tolist() == [0, 1, 0, 2]
    np.testing.assert_array_equal(merged.sketch(2), b.sketch(0))
    np.testing.assert_array_equal(merged.sketch(-1), b.sketch(1))
    train = [merged.sketch(i) for i in merged.indices("train")]
    assert merged.scale_factor == pytest.approx(scale_factor(train))
    assert len(merged.meta["sources"]) == 0 and merged.meta["counts"] == {}


def test_condition_vocab_encode_decode_and_errors() -> None:
    vocab = ConditionVocab(
        ("category", "style"), {"category": ("apple", "cat", "dog"), "style": ("ink", "pencil")}
    )
    assert vocab.dim == 5
    vec = vocab.encode({"category": "dog", "style": "ink"})
    assert vec.dtype == np.float32 and vec.tolist() == [0, 0, 1, 1, 0]
    assert vocab.decode(vec) == {"category": "dog", "style": "ink"}
    assert vocab.encode({"style": "pencil"}).tolist() == [0, 0, 0, 0, 1]
    assert vocab.decode(vocab.encode({})) == {}
    with pytest.raises(
        ValueError, match="unknown value 'cow' for condition 'category'; known: apple, cat, dog"
    ):
        vocab.encode({"category": "cow"})
    with pytest.raises(ValueError, match="unknown condition 'colour'; known: category, style"):
        vocab.encode({"colour": "red"})
    np.testing.assert_array_equal(vocab.encode_labels(np.array([1, -1])), [0, 1, 0, 0, 0])
    rows = vocab.encode_labels(np.array([[0, 1], [2, 0]], dtype=np.int16))
    assert rows.shape == (2, 5) and rows.sum() == 4
    with pytest.raises(ValueError, match="out of range"):
        vocab.encode_labels(np.array([3, 0]))
    again = ConditionVocab.from_json(json.loads(json.dumps(vocab.to_json())))
    assert again == vocab and hash(again) == hash(vocab)
    assert isinstance(again.values["category"], tuple)
    assert ConditionVocab.from_json(json.dumps(vocab.to_json())) == vocab
    with pytest.raises(ValueError, match="distinct"):
        ConditionVocab(("category",), {"category": ("a", "a")})


def positions(s3: np.ndarray) -> np.ndarray:
    return np.cumsum(np.asarray(s3, dtype=np.float64)[:, :2], axis=0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(-40, 40), st.integers(-40, 40)), min_size=1, max_size=12),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 2**32 - 1),
)
def test_drop_points_keeps_stroke_ends_and_pen_structure(strokes: list, seed: int) -> None:
    rows = []
    for stroke in strokes:
        rows += [[dx, dy, 0] for dx, dy in stroke]
        rows[-1][2] = 1
    s3 = np.array(rows, dtype=np.int16)
    out = drop_points(s3, np.random.default_rng(seed), prob=0.5)
    assert out.dtype == np.int16 and len(out) <= len(s3)
    before, after = stroke3_to_polylines(s3), stroke3_to_polylines(out)
    assert len(before) == len(after)
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a[[0, -1]], b[[0, -1]])
        assert {tuple(p) for p in a} <= {tuple(p) for p in b}  # kept points do not move


def test_drop_points_drops_some_interior_points() -> None:
    s3 = zigzag(200)
    out = drop_points(s3, np.random.default_rng(0), prob=0.5)
    assert 60 < len(out) < 140
    np.testing.assert_array_equal(drop_points(s3, np.random.default_rng(0), prob=0.0), s3)


def test_random_scale_stretches_axes_within_factor() -> None:
    s3 = zigzag(30, strokes=3)
    for seed in range(20):
        out = random_scale(s3, np.random.default_rng(seed), factor=0.15)
        np.testing.assert_array_equal(out[:, 2], s3[:, 2])
        ratio = out[:, :2] / s3[:, :2]
        assert np.allclose(ratio, ratio[0]) and ((ratio > 0.85) & (ratio < 1.15)).all()


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
    from model.data import ConditionVocab

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


def _magenta_augment_strokes(strokes: list[list[int]], u: np.ndarray, prob: float) -> np.ndarray:
    """magenta/models/sketch_rnn/utils.py augment_strokes, restated line for line, with its
    np.random.rand() calls replaced by u (one per row, in order)."""
    result, prev_stroke, count, stroke = [], [0, 0, 1], 0, [0, 0, 1]
    for i in range(len(strokes)):
        candidate = [strokes[i][0], strokes[i][1], strokes[i][2]]
        if candidate[2] == 1 or prev_stroke[2] == 1:
            count = 0
        else:
            count += 1
        if candidate[2] == 0 and prev_stroke[2] == 0 and count > 2 and u[i] < prob:
            stroke[0] += candidate[0]
            stroke[1] += candidate[1]
        else:
            stroke = candidate
            prev_stroke = stroke
            result.append(stroke)
    return np.array(result)


class _Uniforms:
    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def random(self, n: int) -> np.ndarray:
        assert n == len(self.u)
        return self.u


def test_drop_points_is_magentas_augment_strokes() -> None:
    """On the same random numbers, drop_points keeps and merges exactly the rows magenta does."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(2, 60))
        s3 = np.zeros((n, 3), dtype=np.int16)
        s3[:, :2] = rng.integers(-20, 20, (n, 2))
        s3[:, 2] = rng.random(n) < 0.2
        s3[-1, 2] = rng.random() < 0.7
        u, prob = rng.random(n), float(rng.choice([0.1, 0.5, 0.9]))
        want = _magenta_augment_strokes(s3.tolist(), u, prob)
        np.testing.assert_array_equal(drop_points(s3, _Uniforms(u), prob), want)
