"""Tests for the prepared format and the condition vocabulary (Batcher: test_batches.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.data import ConditionVocab, PreparedData, PreparedDataError
from model.prepare import build
from model.sources import Sketch
from model.strokes import scale_factor


def zigzag(n: int, step: int = 5, strokes: int = 1) -> np.ndarray:
    rows = np.array([[step, (-1) ** i * step, 0] for i in range(n)], dtype=np.int16)
    ends = np.linspace(0, n - 1, strokes + 1).astype(int)[1:]
    rows[ends, 2] = 1
    return rows


def make_data(specs: list[tuple[int, str, str, dict]]) -> PreparedData:
    """PreparedData from (length, category, split, attributes) tuples."""
    sketches = [
        Sketch(zigzag(n, strokes=1 + n // 10), cat, attrs, split) for n, cat, split, attrs in specs
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
