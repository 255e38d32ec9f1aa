"""Tests that the prepare CLI turns mixed sources into a valid, pickle-free prepared .npz."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lab.data import PreparedData
from lab.prepare import assign_splits, main, parse_split
from lab.sources import SourceError
from model.cli import CommandError
from model.strokes import scale_factor

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def object_array(items: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def zigzag(n: int, step: int = 7) -> np.ndarray:
    rows = np.array([[step, (-1) ** i * step, 0] for i in range(n)], dtype=np.int16)
    rows[-1, 2] = 1
    return rows


def ndjson(word: str, key: str, drawing: list) -> str:
    return json.dumps({"word": word, "key_id": key, "recognized": True, "drawing": drawing})


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A folder with a labelled .npz, simplified + raw ndjson (one shared key) and two SVGs."""
    root = tmp_path / "src"
    (root / "house").mkdir(parents=True)
    np.savez(
        root / "sheep.npz",
        train=object_array([zigzag(5), zigzag(6), zigzag(300)]),
        valid=object_array([zigzag(4)]),
        test=object_array([zigzag(3), zigzag(1)]),
        train_label=np.array([0, 1, 1]),
        valid_label=np.array([1]),
        test_label=np.array([0, 0]),
    )
    simple = [[[0, 50, 100], [0, 80, 0]], [[10, 20], [30, 40]]]
    (root / "cat.ndjson").write_text(
        "\n".join(ndjson("cat", f"k{i}", simple) for i in range(5)) + "\n{broken\n"
    )
    raw = [[[100, 400, 700], [100, 600, 100], [0, 10, 20]]]
    (root / "cat_raw.ndjson").write_text(
        ndjson("cat", "k0", raw) + "\n" + ndjson("cat", "r1", raw) + "\n"
    )
    for i in range(3):
        (root / "house" / f"h{i}.svg").write_text(
            '<svg xmlns="http://www.w3.org/2000/svg"><g transform="scale(3)">'
            f'<path d="M0 0 L 50 {i * 10} L 50 50 Z"/></g><polyline points="0,0 9,9"/></svg>'
        )
    return root


def test_prepare_end_to_end(tmp_path: Path, sources: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out" / "objects.npz"
    assert main(["--out", str(out), str(sources), "--licence", "CC BY 4.0", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "scale factor" in printed and "splits: train" in printed and "duplicate 1" in printed

    with np.load(out, allow_pickle=False) as raw:  # no object arrays anywhere
        assert {k: raw[k].dtype for k in raw.files} == {
            "points": np.int16,
            "offsets": np.int64,
            "split": np.uint8,
            "labels": np.int16,
            "meta": np.uint8,
        }
    data = PreparedData.load(out)
    meta = data.meta
    assert meta["attributes"] == ["category", "label"]
    assert meta["vocab"] == {"category": ["cat", "house", "sheep"], "label": ["0", "1"]}
    # 5 sheep (1 too long, 1 too short), 5 + 1 cats (1 raw duplicate, 1 broken line), 3 houses
    assert len(data) == 4 + 6 + 3
    counts = meta["counts"]
    assert counts["dropped_long"] == 1 and counts["dropped_short"] == 1
    assert counts["dropped_duplicate"] == 1 and counts["dropped_malformed"] == 1
    assert {s["path"]: s["sketches"] for s in meta["sources"]} == {
        "sheep.npz": 4,
        "cat.ndjson": 5,
        "cat_raw.ndjson": 1,
        "h0.svg": 1,
        "h1.svg": 1,
        "h2.svg": 1,
    }
    assert {s["licence"] for s in meta["sources"]} == {"CC BY 4.0"}

    cats = np.array(meta["vocab"]["category"])[data.labels[:, 0]]
    sheep = np.flatnonzero(cats == "sheep")
    assert data.split[sheep].tolist() == [0, 0, 1, 2]  # the .npz's own splits are kept
    assert data.labels[sheep, 1].tolist() == [0, 1, 1, 0]
    assert (data.labels[cats != "sheep", 1] == -1).all()  # no label attribute there
    houses = np.flatnonzero(cats == "house")
    assert sorted(data.split[houses].tolist()) == [0, 1, 2]  # 3 drawings: one per split
    np.testing.assert_array_equal(data.sketch(int(sheep[0])), zigzag(5))

    train = [data.sketch(int(i)) for i in data.indices("train")]
    assert meta["scale_factor"] == pytest.approx(scale_factor(train))
    assert meta["max_len"] == 250


def test_prepare_category_flag_and_split_seed(tmp_path: Path, sources: Path) -> None:
    out_a, out_b = tmp_path / "a.npz", tmp_path / "b.npz"
    folder = str(sources / "house")
    assert main(["--out", str(out_a), folder, "--category", "hut", "--quiet"]) == 0
    assert main(["--out", str(out_b), folder, "--category", "hut", "--quiet"]) == 0
    a, b = PreparedData.load(out_a), PreparedData.load(out_b)
    assert a.meta["vocab"]["category"] == ["hut"] and a.attributes == ("category",)
    np.testing.assert_array_equal(a.split, b.split)  # deterministic for a seed


def test_assign_splits_small_categories() -> None:
    cats = ["a"] * 3 + ["b"] * 2 + ["c"] * 100
    codes = assign_splits(cats, (0.8, 0.1, 0.1), seed=0)
    assert sorted(codes[:3].tolist()) == [0, 1, 2]
    assert codes[3:5].tolist() == [0, 0]  # too few to hold out any
    assert np.bincount(codes[5:], minlength=3).tolist() == [80, 10, 10]
    again = assign_splits(cats, (0.8, 0.1, 0.1), seed=0)
    other = assign_splits(cats, (0.8, 0.1, 0.1), seed=1)
    np.testing.assert_array_equal(codes, again)
    assert not np.array_equal(codes, other)


def test_parse_split_rescales_and_rejects_nonsense() -> None:
    assert parse_split("8,1,1") == pytest.approx((0.8, 0.1, 0.1))
    for bad in ("0.8,0.2", "a,b,c", "-1,1,1", "0,0,0"):
        with pytest.raises(Exception, match="three non-negative numbers"):
            parse_split(bad)


def test_prepare_bad_input_gives_messages(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = str(tmp_path / "x.npz")
    with pytest.raises(SourceError, match="missing: no such file or folder"):
        main(["--out", out, str(tmp_path / "missing")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="no .npz, .ndjson or .svg files found in"):
        main(["--out", out, str(empty)])
    bad = tmp_path / "bad.ndjson"
    bad.write_text("{nope\n")
    with pytest.raises(
        CommandError,
        match="no usable sketches were read from bad.ndjson: bad.ndjson:1: not valid JSON",
    ):
        main(["--out", out, str(bad), "--quiet"])
    nothing = tmp_path / "nothing.ndjson"
    nothing.write_text("")
    with pytest.raises(CommandError, match="from nothing.ndjson: it holds no drawings"):
        main(["--out", out, str(nothing), "--quiet"])
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", out, str(bad), "--split", "1,2"])
    assert exit_info.value.code == 2
    assert "--split" in capsys.readouterr().err
    assert not Path(out).exists()


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data is not available")
def test_smoke_real_quickdraw(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    raw = SHARED / "quickdraw" / "raw_first100KB"
    simplified = [
        SHARED / "quickdraw" / "simplified_first25" / f"{c}.ndjson"
        for c in ("cat", "face", "zebra")
    ]
    out = tmp_path / "qd.npz"
    assert main(["--out", str(out), str(raw), *map(str, simplified), "--quiet"]) == 0
    data = PreparedData.load(out)
    cats = data.meta["vocab"]["category"]
    assert len(cats) == 24 and "zebra" in cats and "smiley face" in cats
    per_split = np.bincount(data.split, minlength=3)
    assert per_split.min() >= 23  # every category holds out valid and test drawings
    assert data.meta["counts"]["dropped_duplicate"] == 50  # cat and face repeat as raw
    assert 10 < data.scale_factor < 80
    points = np.abs(data.points[:, :2])
    assert points.max() <= 255
