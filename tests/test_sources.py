"""Tests that each source reader yields int16 stroke-3 sketches or says what is wrong."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from lab.sources import (
    ReadReport,
    SourceError,
    find_sources,
    load_npz,
    read_ndjson,
    read_sketchrnn_npz,
    read_source,
    read_svg,
)
from model.strokes import stroke3_to_polylines


def object_array(items: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def absolute(s3: np.ndarray) -> np.ndarray:
    return np.cumsum(np.asarray(s3, dtype=np.float64)[:, :2], axis=0)


SQUARE = np.array(
    [[10, 10, 0], [50, 0, 0], [0, 50, 0], [-50, 0, 1], [5, 5, 0], [3, 3, 1]], dtype=np.int16
)


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def test_npz_keeps_splits_labels_and_int16(tmp_path: Path) -> None:
    path = write_npz(
        tmp_path / "sheep.npz",
        train=object_array([SQUARE, SQUARE[:3]]),
        valid=object_array([SQUARE]),
        test=object_array([SQUARE[:2]]),
        train_label=np.array([0, 2]),
        valid_label=np.array([1]),
        test_label=np.array([2]),
    )
    report = ReadReport(str(path), "npz")
    sketches = list(read_sketchrnn_npz(path, report=report))
    assert [s.split for s in sketches] == ["train", "train", "valid", "test"]
    assert [s.attributes for s in sketches] == [
        {"label": "0"},
        {"label": "2"},
        {"label": "1"},
        {"label": "2"},
    ]
    assert {s.category for s in sketches} == {"sheep"}
    assert all(s.stroke3.dtype == np.int16 for s in sketches)
    np.testing.assert_array_equal(sketches[0].stroke3, SQUARE)
    assert report.read == 4 and report.skipped == 0


def test_npz_float_rounds_positions_without_drift(tmp_path: Path) -> None:
    s = np.array([[0.4, 0.4, 0], [0.4, 0.4, 0], [0.4, 0.4, 0], [0.4, -0.4, 1]])
    path = write_npz(tmp_path / "kanji.npz", train=object_array([s, s]))
    (sketch, _) = read_sketchrnn_npz(path, category="kanji")
    np.testing.assert_array_equal(absolute(sketch.stroke3), np.rint(absolute(s)))
    assert sketch.attributes == {} and sketch.category == "kanji"


def test_npz_bad_item_is_skipped_with_report_and_raises_without(tmp_path: Path) -> None:
    bad = SQUARE.copy()
    bad[2, 2] = 2
    path = write_npz(tmp_path / "sheep.npz", train=object_array([SQUARE, bad, SQUARE]))
    report = ReadReport(str(path), "npz")
    assert len(list(read_sketchrnn_npz(path, report=report))) == 2
    assert report.skipped == 1 and "sheep.npz:train[1]" in report.warnings[0]
    with pytest.raises(SourceError, match=r"sheep\.npz:train\[1\].*pen_lifted 2"):
        list(read_sketchrnn_npz(path))


def test_npz_file_errors_name_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(SourceError, match="junk.npz: not a Sketch-RNN .npz archive: it is not"):
        list(read_sketchrnn_npz(junk))
    pickled = tmp_path / "pickled.npz"  # a bare pickle must never reach the unpickler
    pickled.write_bytes(pickle.dumps(object_array([SQUARE])))
    with pytest.raises(SourceError, match="it is a Python pickle"):
        list(read_sketchrnn_npz(pickled))
    other = write_npz(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(SourceError, match="other.npz: has no train, valid or test array"):
        list(read_sketchrnn_npz(other))
    short = write_npz(
        tmp_path / "short.npz", train=object_array([SQUARE]), train_label=np.array([0, 1])
    )
    with pytest.raises(SourceError, match="train_label"):
        list(read_sketchrnn_npz(short))


class Payload:
    """Unpickles by calling a function: what a crafted sketch set would hide in its arrays."""

    def __init__(self, fn: object, *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple:
        return self.fn, self.args


def crafted_npz(path: Path, payload: Payload) -> Path:
    """A .npz whose train array is an object array holding `payload`, pickled as numpy would."""
    np.savez(path, train=object_array([SQUARE, payload]))
    return path


@pytest.mark.parametrize(
    "payload, named",
    [
        (Payload(__import__("os").system, "touch {marker}"), "posix.system"),
        (Payload(eval, "open({marker!r}, 'w')"), "builtins.eval"),
        (Payload(__import__("codecs").encode, "x", "rot13"), "_codecs.encode"),
    ],
)
def test_a_crafted_npz_runs_no_code_and_is_refused(tmp_path: Path, payload, named) -> None:
    """The arrays' pickles may name numpy's rebuilders and latin1 text, nothing else: os.system
    or eval hidden in a sketch set is refused by name before it could run."""
    marker = tmp_path / "ran"
    payload.args = tuple(a.format(marker=str(marker)) if isinstance(a, str) else a
                         for a in payload.args)  # fmt: skip
    path = crafted_npz(tmp_path / "cat.npz", payload)
    with pytest.raises(SourceError, match="cat.npz: not a readable Sketch-RNN .npz archive"):
        list(read_sketchrnn_npz(path))
    assert not marker.exists()
    if named != "_codecs.encode":
        with pytest.raises(SourceError, match=named):
            list(read_sketchrnn_npz(path))


SKETCH_RNN_SETS = Path(__file__).resolve().parents[2] / "shared/data/quickdraw/sketch-rnn-datasets"


@pytest.mark.skipif(not SKETCH_RNN_SETS.is_dir(), reason="needs ../shared/data")
def test_every_sketch_rnn_set_reads_as_numpys_own_unpickler_reads_it() -> None:
    """The five Sketch-RNN sets in ../shared (int16 and float64, Python 2 and 3 pickles) give
    exactly the arrays numpy's unrestricted load gives."""
    files = sorted(SKETCH_RNN_SETS.glob("*.npz"))
    assert len(files) == 5
    for path in files:
        mine = load_npz(path)
        with np.load(path, encoding="latin1", allow_pickle=True) as theirs:  # trusted here
            assert sorted(mine) == sorted(theirs.files)
            for key in theirs.files:
                assert len(mine[key]) == len(theirs[key])
                for a, b in zip(mine[key], theirs[key]):
                    assert a.dtype == b.dtype
                    np.testing.assert_array_equal(a, b)


def ndjson_line(drawing: list, word: str = "face", recognized: bool = True, key: str = "1") -> str:
    return json.dumps(
        {
            "word": word,
            "countrycode": "US",
            "recognized": recognized,
            "key_id": key,
            "drawing": drawing,
        }
    )


def test_ndjson_simplified(tmp_path: Path) -> None:
    path = tmp_path / "face.ndjson"
    drawing = [[[0, 100, 100], [0, 0, 50]], [[10, 20], [200, 255]]]
    path.write_text(
        ndjson_line(drawing, key="77") + "\n\n" + ndjson_line(drawing, recognized=False) + "\n"
    )
    report = ReadReport(str(path), "ndjson")
    sketches = list(read_ndjson(path, report=report))
    assert report.read == 2 and report.unrecognized == 1
    first = sketches[0]
    assert first.category == "face" and first.key == "77" and first.split is None
    lines = stroke3_to_polylines(first.stroke3)
    np.testing.assert_array_equal(lines[0], [[0, 0], [100, 0], [100, 50]])
    np.testing.assert_array_equal(lines[1], [[10, 200], [20, 255]])
    assert first.stroke3.dtype == np.int16


def test_ndjson_raw_is_fitted_and_simplified(tmp_path: Path) -> None:
    xs = list(range(300, 1301, 10))  # 101 collinear points, 1000 screen pixels wide
    stroke = [xs, [400] * len(xs), list(range(len(xs)))]
    corner = [[300, 300], [400, 900], [0, 1]]
    path = tmp_path / "raw.ndjson"
    path.write_text(ndjson_line([stroke, corner], word="door") + "\n")
    (sketch,) = read_ndjson(path)
    lines = stroke3_to_polylines(sketch.stroke3)
    assert sketch.category == "door"
    assert len(lines[0]) == 2  # RDP removed the collinear middle points
    points = np.concatenate(lines)
    assert points.min() == 0 and points.max() == 255  # longer side fitted to 255
    np.testing.assert_array_equal(lines[1], [[0, 0], [0, 128]])  # y 400..900 -> 0..127.5


@pytest.mark.parametrize(
    "drawing, message",
    [
        (
            [[[1, 2], [3, 4]], [[1], [2]], [[1, 2, 3]]],
            "face.ndjson:2: drawing[2] has 1 list; expected [xs, ys] or [xs, ys, ts]",
        ),
        ([[[1, 2], [3]]], "face.ndjson:2: drawing[0] has lists of different lengths (2 and 1)"),
        ([[[1, 2], ["a", 3]]], "face.ndjson:2: drawing[0][1] is not a list of numbers"),
        ([[[1, 2], [3, 4]], [[1, 2], [3, 4], [0, 1]]], "face.ndjson:2: mixes raw"),
        ([], "face.ndjson:2: 'drawing' must be a non-empty list of strokes"),
        ([7], "face.ndjson:2: drawing[0] is not a list"),
    ],
)
def test_ndjson_malformed_lines_are_named(tmp_path: Path, drawing: list, message: str) -> None:
    path = tmp_path / "face.ndjson"
    good = ndjson_line([[[0, 9], [0, 9]]])
    path.write_text("\n".join([good, ndjson_line(drawing), good]) + "\n")
    report = ReadReport(str(path), "ndjson")
    assert len(list(read_ndjson(path, report=report))) == 2
    assert report.skipped == 1 and report.warnings[0].startswith(message)
    with pytest.raises(SourceError) as err:
        list(read_ndjson(path))
    assert str(err.value).startswith(message)


def test_ndjson_bad_json_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "cat.ndjson"
    path.write_bytes(b'{"word": "cat", "drawing": [[[0,1],[0,1]]]}\n{oops\n\xff\xfe\n')
    report = ReadReport(str(path), "ndjson")
    assert len(list(read_ndjson(path, report=report))) == 1
    assert report.skipped == 2
    assert report.warnings[0].startswith("cat.ndjson:2: not valid JSON")
    assert report.warnings[1] == "cat.ndjson:3: not UTF-8 text"


SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">
  <g transform="translate(100, 0) scale(2)">
    <polyline points="0,0 10,0"/>
  </g>
  <path d="M 0 100 L 40 100 l 0 20 h -40 z"/>
  <path d="m0 200 c 0 -40 100 -40 100 0"/>
  <line x1="0" y1="0" x2="10" y2="0" transform="matrix(1 0 0 1 0 150)"/>
  <text>ignored</text>
</svg>
"""


def test_svg_shapes_transforms_and_category(tmp_path: Path) -> None:
    folder = tmp_path / "house"
    folder.mkdir()
    path = folder / "one.svg"
    path.write_text(SVG)
    report = ReadReport(str(path), "svg")
    (sketch,) = read_svg(path, report=report)
    assert sketch.category == "house" and "<text> x1" in report.warnings[0]
    lines = stroke3_to_polylines(sketch.stroke3)
    assert len(lines) == 4
    f = 255 / 200  # extent is 0..120 wide, 0..200 tall
    np.testing.assert_allclose(lines[0], np.array([[100, 0], [120, 0]]) * f, atol=0.6)
    # Google's recipe resamples every unit before RDP, which may cut a corner by one unit
    np.testing.assert_allclose(
        lines[1], np.array([[0, 100], [40, 100], [40, 120], [0, 120], [0, 100]]) * f, atol=1.0
    )
    curve = lines[2]  # flattened cubic: ends at (100, 200), peaks at y = 170 in the middle
    assert len(curve) > 3
    np.testing.assert_allclose(curve[[0, -1]], np.array([[0, 200], [100, 200]]) * f, atol=0.6)
    assert abs(curve[:, 1].min() - 170 * f) < 2
    np.testing.assert_allclose(lines[3], np.array([[0, 150], [10, 150]]) * f, atol=0.6)
    (named,) = read_svg(path, category="hut")
    assert named.category == "hut"


def test_svg_relative_commands_and_quadratics(tmp_path: Path) -> None:
    path = tmp_path / "q.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><path d="M10 10 q 50 100 100 0 '
        'T 200 0 M 10 10 V 0 H 200"/></svg>'
    )
    (sketch,) = read_svg(path)
    curve, corner = stroke3_to_polylines(sketch.stroke3)
    assert len(curve) > 4  # two flattened quadratics
    assert len(corner) == 3
    np.testing.assert_array_equal(curve[0], corner[0])  # both subpaths start at (10, 10)
    np.testing.assert_array_equal(curve[-1], corner[-1])  # T ends where H ends: (200, 0)
    # V then H (Google's recipe resamples before RDP, which may cut the corner by one unit)
    assert abs(corner[0, 0] - corner[1, 0]) <= 1 and abs(corner[1, 1] - corner[2, 1]) <= 1
    # The curve dips below y = 10 (q, control at +100) and rises above 0 (T's reflection).
    assert curve[:, 1].max() > corner[0, 1] + 30 and curve[:, 1].min() < corner[1, 1] - 20


def test_svg_arcs_circles_and_units(tmp_path: Path) -> None:
    """Circles and path arcs are flattened onto the curve; lengths in inches become pixels."""
    path = tmp_path / "round.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><circle cx="50" cy="50" r="50"/>'
        '<path d="M 0 200 A 50 50 0 0 1 100 200"/><line x1="0" y1="0" x2="1in" y2="0"/></svg>'
    )
    (sketch,) = read_svg(path)
    circle, arc, line = stroke3_to_polylines(sketch.stroke3)
    f = 255 / 200  # extent is 0..100 wide (the line is 96 px), 0..200 tall
    assert len(circle) > 8
    np.testing.assert_allclose(np.hypot(*(circle - 50 * f).T), 50 * f, atol=2.5)
    np.testing.assert_allclose(arc[[0, -1]], np.array([[0, 200], [100, 200]]) * f, atol=0.6)
    assert abs(arc[:, 1].min() - 150 * f) < 1 and len(arc) > 3  # the upper half circle
    np.testing.assert_allclose(line, np.array([[0, 0], [96, 0]]) * f, atol=0.6)


@pytest.mark.parametrize(
    "text, message",
    [
        ('<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', "ENTITY declaration"),
        (
            "<svg><path d='M 0 0 L 10'/></svg>",
            "<path> #1: a path command is missing numbers near 'M 0 0 L 10'",
        ),
        ("<svg><path d='M 0 0 X 10 10'/></svg>", "<path> #1: bad path data near 'X 10 10'"),
        ("<svg><polyline points='0 0 1'/></svg>", "odd count"),
        ("<svg><line x1='abc' x2='1'/></svg>", "<line> #1: x1='abc' is not a length"),
        ("<svg><g transform='spin(3)'><line x2='1'/></g></svg>", "cannot read transform"),
        ("<svg><text>no strokes</text></svg>", "has no <path>"),
        ("<svg><line x2='1'", "not well-formed XML"),
        ("<html/>", "not <svg>"),
    ],
)
def test_svg_errors_are_actionable(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.svg"
    path.write_text(text)
    with pytest.raises(SourceError) as err:
        list(read_svg(path))
    assert str(err.value).startswith("bad.svg") and message in str(err.value)


def svg_lines(tmp_path: Path, body: str) -> list[np.ndarray]:
    """The strokes an SVG's body reads as, in its own units (before fitting to the box)."""
    import svgelements

    from lab.sources import _Walk

    text = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        f"{body}</svg>"
    )
    (tmp_path / "d.svg").write_text(text)
    list(read_svg(tmp_path / "d.svg"))  # the reader itself accepts it
    root = ElementTree.fromstring(text)
    out: list[np.ndarray] = []
    _Walk(root, "d.svg").walk(root, svgelements.Matrix(), out, {})
    return out


def test_svg_from_krita_and_matplotlib_with_a_doctype_is_read(tmp_path: Path) -> None:
    doctype = (
        '<?xml version="1.0" standalone="no"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    )
    path = tmp_path / "krita.svg"
    path.write_text(doctype + '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L10 10" '
                    'stroke="#000"/></svg>')  # fmt: skip
    (sketch,) = read_svg(path)
    assert len(sketch.stroke3) == 2


def test_svg_hidden_and_filled_only_shapes_are_not_lines(tmp_path: Path) -> None:
    """Inkscape's hidden layer (display:none), a hidden shape, a background filled with no
    stroke and a shape stroked 'none' are left out; a visible child of a hidden group, a
    stroked shape and an unstyled one are read."""
    lines = svg_lines(
        tmp_path,
        '<rect width="100" height="100" fill="white"/>'
        '<g style="display:none"><path d="M0 0 L50 50" stroke="black"/></g>'
        '<path d="M1 1 L2 2" visibility="hidden" stroke="black"/>'
        '<g visibility="hidden"><path d="M5 5 L6 6" stroke="black" visibility="visible"/></g>'
        '<path d="M7 7 L8 8" style="stroke: none; fill: red"/>'
        '<g stroke="black"><path d="M9 9 L10 10"/></g>'
        '<path d="M11 11 L12 12"/>',
    )
    assert [line[0].tolist() for line in lines] == [[5, 5], [9, 9], [11, 11]]


def test_svg_use_clones_are_drawn_where_they_are_placed(tmp_path: Path) -> None:
    """A <use> draws the element it names, moved by its x, y and transform; a clone of a clone
    too; one that contains itself is refused, and clones of clones cannot multiply unbounded."""
    lines = svg_lines(
        tmp_path,
        '<defs><path id="leg" d="M0 0 L0 10" stroke="black"/></defs>'
        '<use href="#leg" x="5"/><use xlink:href="#leg" transform="translate(20 0)" y="1"/>'
        '<g id="pair"><use href="#leg" x="40"/></g><use href="#pair" y="100"/>',
    )
    assert [line[0].tolist() for line in lines] == [[5, 0], [20, 1], [40, 0], [40, 100]]
    path = tmp_path / "loop.svg"
    path.write_text('<svg><g id="a"><use href="#a"/><path d="M0 0 L1 1"/></g></svg>')
    with pytest.raises(SourceError, match="contains it"):
        list(read_svg(path))
    bomb = ['<path id="u0" d="M0 0 L1 1"/>'] + [
        f'<g id="u{i + 1}">' + f'<use href="#u{i}"/>' * 10 + "</g>" for i in range(8)
    ]
    path.write_text("<svg><defs>" + "".join(bomb) + '</defs><use href="#u8"/></svg>')
    with pytest.raises(SourceError, match="more than 100000 elements"):
        list(read_svg(path))


def test_find_and_dispatch(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.svg").write_text('<svg><line x2="5" y2="5"/></svg>')
    (tmp_path / "b.ndjson").write_text(ndjson_line([[[0, 1], [0, 1]]]) + "\n")
    (tmp_path / "notes.txt").write_text("skip me")
    (tmp_path / "._junk.svg").write_text("macOS junk")
    found = find_sources([tmp_path])
    assert [p.name for p in found] == ["b.ndjson", "a.svg"]
    assert [s.category for p in found for s in read_source(p)] == ["face", "sub"]
    with pytest.raises(SourceError, match="no such file"):
        find_sources([tmp_path / "missing"])
    with pytest.raises(SourceError, match="unsupported file type"):
        find_sources([tmp_path / "notes.txt"])
