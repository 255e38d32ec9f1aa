"""Tests for the prepared format and the condition vocabulary (Batcher: test_batches.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lab.data import ConditionVocab, PreparedData, PreparedDataError
from lab.prepare import build
from lab.sources import SourceDrawing
from model.strokes import scale_factor


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


def mixed_data() -> PreparedData:
    """90 train sketches of 2..59 points over three categories (every fourth styled "ink"),
    and three valid ones."""
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


@pytest.fixture
def data() -> PreparedData:
    return mixed_data()


def test_of_category_picks_a_categorys_held_out_or_training_sketches_in_order() -> None:
    data = make_data(
        [
            (5, "cat", "train", {}),
            (6, "dog", "valid", {}),
            (7, "cat", "test", {}),
            (8, "cat", "valid", {}),
            (9, "cat", "train", {}),
        ]
    )
    assert data.of_category("cat", held_out=True).tolist() == [2, 3]
    assert data.of_category("cat", held_out=False).tolist() == [0, 4]
    assert data.of_category("dog", held_out=False).tolist() == []
    assert data.of_category("owl", held_out=True).tolist() == []


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
        ({"meta": {"n_max": 0}}, "n_max must be a positive integer"),
        ({"meta": {"n_max": 3}}, "n_max is 3, below the longest sketch"),
        ({"meta": {"row0": "corner"}}, "row0 must be one of box, start"),
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


def test_n_max_is_the_longest_sketch_and_old_files_read_250(tmp_path: Path) -> None:
    """build records N_max as magenta's get_max_len; a file without the field reads 250."""
    data = make_data([(12, "a", "train", {}), (30, "b", "valid", {}), (5, "a", "test", {})])
    assert data.n_max == 30 and data.max_len == 250
    given = build([SourceDrawing(zigzag(9), "a", {}, "train")], np.zeros(1), max_len=250, n_max=40)
    assert given.n_max == 40
    with pytest.raises(ValueError, match="below the longest"):
        build([SourceDrawing(zigzag(9), "a", {}, "train")], np.zeros(1), max_len=250, n_max=8)
    path = tmp_path / "old.npz"
    data.save(path)
    with np.load(path, allow_pickle=False) as z:  # as written before issue 15: no fields
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta"].tobytes())
    del meta["n_max"], meta["row0"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)
    old = PreparedData.load(path)
    assert "n_max" not in old.meta and old.n_max == 250 and old.row0 == "box"
    merged = PreparedData.merge([data, given])
    assert merged.n_max == 40
    assert PreparedData.merge([old, data]).n_max == 250


def test_row0_start_drops_the_box_start_point_and_merges_agree() -> None:
    """'start' zeroes row 0 of ndjson/SVG drawings, keeps a Sketch-RNN .npz's own; merging
    data of both conventions puts every sketch in 'start'."""
    s3 = zigzag(6)
    s3[0, :2] = (70, 90)  # the first point, 70 and 90 units into the box
    npz_s3 = zigzag(6)
    npz_s3[0, :2] = (3, -2)
    sketches = [
        SourceDrawing(s3, "a", {}, "train", "a.ndjson"),
        SourceDrawing(npz_s3, "a", {}, "train", "b.npz"),
    ]
    box = build(sketches[:1], np.zeros(1), max_len=250)
    start = build(sketches, np.zeros(2), max_len=250, row0="start")
    assert box.row0 == "box" and box.sketch(0)[0, :2].tolist() == [70, 90]
    assert start.row0 == "start"
    assert start.sketch(0)[0, :2].tolist() == [0, 0] and start.sketch(1)[0, :2].tolist() == [3, -2]
    np.testing.assert_array_equal(start.sketch(0)[1:], s3[1:])
    with pytest.raises(ValueError, match="no position in the box"):
        build(sketches, np.zeros(2), max_len=250)
    merged = PreparedData.merge([box, start])
    assert merged.row0 == "start" and merged.sketch(0)[0, :2].tolist() == [0, 0]
    assert merged.scale_factor == pytest.approx(scale_factor([merged.points]))
    assert PreparedData.merge([box]).row0 == "box"  # one dataset: nothing converted
    np.testing.assert_array_equal(PreparedData.merge([box]).points, box.points)


def faces_with_ids(ids: list[int | None]) -> PreparedData:
    """Sketches of category "face" whose identities are `ids` (None: unknown)."""
    sketches = [SourceDrawing(zigzag(5 + i), "face", {}, identity=j) for i, j in enumerate(ids)]
    return build(sketches, np.zeros(len(ids)), max_len=250)


def test_identity_is_written_and_read_back(tmp_path: Path) -> None:
    """build keeps each drawing's identity (-1 when unknown); save writes it; load reads it."""
    data = faces_with_ids([4, None, 4, 0])
    assert data.identity.dtype == np.int32 and data.identity.tolist() == [4, -1, 4, 0]
    path = tmp_path / "faces.npz"
    data.save(path)
    with np.load(path, allow_pickle=False) as z:
        assert "identity" in z.files
    assert PreparedData.load(path).identity.tolist() == [4, -1, 4, 0]


def test_files_without_identity_load_with_unknown_ids(tmp_path: Path, data: PreparedData) -> None:
    """Files written before the identity array (or of drawings with no identity) read as -1,
    and saving such data writes no identity array, so the file is as before."""
    assert data.identity.tolist() == [-1] * len(data)
    path = tmp_path / "old.npz"
    data.save(path)
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["labels", "meta", "offsets", "points", "split"]
    back = PreparedData.load(path)
    assert back.identity.dtype == np.int32 and (back.identity == -1).all()


@pytest.mark.parametrize(
    "identity, message",
    [
        (np.zeros(93, dtype=np.int64), "identity must be int32 (93,)"),
        (np.zeros(5, dtype=np.int32), "identity must be int32 (93,)"),
        (np.full(93, -2, dtype=np.int32), "identity must be -1 (unknown) or an id >= 0"),
    ],
)
def test_load_rejects_bad_identity(
    tmp_path: Path, data: PreparedData, identity: np.ndarray, message: str
) -> None:
    path = tmp_path / "d.npz"
    data.save(path)
    _rewrite(path, identity=identity)
    with pytest.raises(PreparedDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PreparedData.load(path)


def test_merge_keeps_people_of_different_files_apart() -> None:
    """Merged ids stay equal within a file and are shifted past the earlier files' ids."""
    a, b = faces_with_ids([0, 2, 0]), faces_with_ids([1, None, 0])
    plain = make_data([(5, "cat", "train", {})])
    merged = PreparedData.merge([a, plain, b])
    assert merged.identity.tolist() == [0, 2, 0, -1, 4, -1, 3]
    assert PreparedData.merge([plain, plain]).identity.tolist() == [-1, -1]
