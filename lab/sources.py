"""Readers that turn sketch source files into stroke-3 sketches in QuickDraw's 256-unit box.

Supported: Sketch-RNN `.npz`, Google Quick, Draw! `.ndjson` (simplified and raw) and plain SVG.
File-level problems raise `SourceError`; a bad line or item is skipped and counted when the
caller passes a `ReadReport`, and raises `SourceError` when it does not.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import pickle
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import svgelements

from lab.data import file_kind
from model.strokes import (
    BOX,
    StrokeError,
    fit_to_box,
    polylines_to_stroke3,
    simplify,
    validate_stroke3,
)

EPSILON = 2.0  # RDP tolerance of QuickDraw's simplified data and Sketch-RNN's sets
KINDS = {".npz": "npz", ".ndjson": "ndjson", ".svg": "svg"}
SPLITS = ("train", "valid", "test")
MAX_WARNINGS = 100  # messages kept per file; all problems are still counted
MAX_SVG_BYTES = 20_000_000
MAX_NPY_BYTES = 2**30  # one array of a Sketch-RNN .npz, unpacked (Google's largest are ~100 MB)
_INT16 = 32767


class SourceError(ValueError):
    """A source file or item cannot be read; the message names the file (and line) and why."""


@dataclass(frozen=True)
class SourceDrawing:
    """One drawing: int16 stroke-3 rows in the 256 box, its labels and where it came from."""

    stroke3: np.ndarray
    category: str
    attributes: dict[str, str] = field(default_factory=dict)
    split: str | None = None
    source: str = ""
    key: str | None = None  # the source's id for the drawing (QuickDraw key_id), for de-duplication
    identity: int | None = None  # the person drawn (procedural faces), unique within the source


@dataclass
class ReadReport:
    """What reading one file did: sketches read, items skipped, and the first warnings."""

    path: str
    kind: str
    read: int = 0
    skipped: int = 0
    unrecognized: int = 0  # QuickDraw drawings with recognized: false (kept)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)


def _skip(report: ReadReport | None, message: str) -> None:
    """Skip a bad item: count it in the report, or raise when there is none."""
    if report is None:
        raise SourceError(message)
    report.skipped += 1
    report.warn(message)


def to_box(polylines: list[np.ndarray]) -> np.ndarray:
    """Fit polylines to the 255 box, RDP-simplify (epsilon 2) and round: QuickDraw's recipe."""
    lines = [np.rint(line) for line in simplify(fit_to_box(polylines, BOX), EPSILON) if len(line)]
    # Rounding can make a point equal to the one before it; drop those repeats.
    lines = [line[np.r_[True, np.any(line[1:] != line[:-1], axis=1)]] for line in lines]
    return polylines_to_stroke3(lines).astype(np.int16)


def _round_stroke3(s3: np.ndarray, where: str) -> np.ndarray:
    """Round a float stroke-3 to int16 via absolute positions, so rounding errors do not add up."""
    pos = np.rint(np.cumsum(s3[:, :2], axis=0))
    out = np.column_stack([np.diff(pos, axis=0, prepend=np.zeros((1, 2))), s3[:, 2]])
    if len(out) and np.abs(out).max() > _INT16:
        raise SourceError(f"{where} has offsets beyond the int16 range")
    return out.astype(np.int16)


# ---------------------------------------------------------------- Sketch-RNN .npz


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """_codecs.encode as Python 2 pickles of byte strings call it, for text only."""
    if not isinstance(text, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError("_codecs.encode with other than latin1 text")
    return text.encode("latin1")


# The only callables a Sketch-RNN .npz's pickles may name: numpy's array and dtype rebuilders
# (by their numpy 1 and 2 module names) and the latin1 encoding of Python 2 byte strings.
_PICKLE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("_codecs", "encode"): _latin1,
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy object arrays of arrays and nothing else: any other global (os.system,
    builtins.eval, ...) is refused before it is looked up."""

    def find_class(self, module: str, name: str) -> object:
        found = _PICKLE_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a sketch set never does")
        return found


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a .npz archive; object arrays (Sketch-RNN's lists of sketches) are
    unpickled by _ArrayUnpickler, which runs no code the file names. Raises SourceError."""
    name = Path(path).name
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.file_size > MAX_NPY_BYTES:
                    raise SourceError(
                        f"{name}: {info.filename} unpacks to {info.file_size / 2**20:.0f} MB; "
                        f"the limit is {MAX_NPY_BYTES // 2**20} MB"
                    )
                stream = io.BytesIO(archive.read(info))
                version = np.lib.format.read_magic(stream)
                header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = header(stream)
                key = info.filename[: -len(".npy")]
                if dtype.hasobject:
                    array = _ArrayUnpickler(stream, encoding="latin1").load()
                    if not isinstance(array, np.ndarray):
                        raise SourceError(f"{name}: {key} is not an array")
                else:
                    stream.seek(0)
                    array = np.lib.format.read_array(stream, allow_pickle=False)
                out[key] = array
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"{name}: not a readable Sketch-RNN .npz archive ({exc})") from None
    return out


def read_sketchrnn_npz(
    path: str | Path, *, category: str | None = None, report: ReadReport | None = None
) -> Iterator[SourceDrawing]:
    """Read a Sketch-RNN .npz (object arrays of stroke-3), keeping its train/valid/test splits.

    Its pickled arrays are read by load_npz, which builds numpy arrays and nothing else, so a
    crafted file cannot run code.
    """
    path = Path(path)
    name, category = path.name, category or path.stem
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK\x03\x04"):
        raise SourceError(f"{name}: not a Sketch-RNN .npz archive: it is {file_kind(head)}")
    data = load_npz(path)
    files = list(data)
    splits = [s for s in SPLITS if s in files]
    if not splits:
        found = ", ".join(files) or "nothing"
        raise SourceError(f"{name}: has no train, valid or test array (found: {found})")
    for split in splits:
        items = data[split]
        labels = data.get(f"{split}_label")
        if items.ndim == 0:
            raise SourceError(f"{name}: '{split}' is not a list of sketches")
        if labels is not None:
            labels = np.asarray(labels).reshape(-1)
            if len(labels) != len(items) or labels.dtype.kind not in "iuf":
                raise SourceError(
                    f"{name}: '{split}_label' must hold one number per sketch "
                    f"({len(items)}); it has {len(labels)} {labels.dtype}"
                )
        for i, item in enumerate(items):
            where = f"{name}:{split}[{i}]"
            try:
                s3 = _round_stroke3(validate_stroke3(item, name=where), where)
            except (StrokeError, SourceError) as exc:
                _skip(report, str(exc))
                continue
            attributes = {} if labels is None else {"label": str(int(labels[i]))}
            if report is not None:
                report.read += 1
            yield SourceDrawing(s3, category, attributes, split, str(path))


# ---------------------------------------------------------------- Quick, Draw! .ndjson

_STROKE_SHAPE = "expected [xs, ys] or [xs, ys, ts]"


def _ndjson_stroke(stroke: object, where: str, i: int) -> tuple[np.ndarray, bool]:
    """One drawing[i] as a (K, 2) float array, and whether it is raw (has timestamps)."""
    if not isinstance(stroke, list):
        raise SourceError(f"{where}: drawing[{i}] is not a list; {_STROKE_SHAPE}")
    if len(stroke) not in (2, 3):
        plural = "" if len(stroke) == 1 else "s"
        raise SourceError(f"{where}: drawing[{i}] has {len(stroke)} list{plural}; {_STROKE_SHAPE}")
    columns = []
    for j, values in enumerate(stroke):
        try:
            col = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            col = None
        if not isinstance(values, list) or col is None or col.ndim != 1:
            raise SourceError(f"{where}: drawing[{i}][{j}] is not a list of numbers")
        if not np.isfinite(col).all():
            raise SourceError(f"{where}: drawing[{i}][{j}] has a value that is not finite")
        columns.append(col)
    sizes = {len(c) for c in columns}
    if len(sizes) != 1:
        counts = " and ".join(str(len(c)) for c in columns)
        raise SourceError(f"{where}: drawing[{i}] has lists of different lengths ({counts})")
    return np.column_stack(columns[:2]) if len(columns[0]) else np.zeros((0, 2)), len(stroke) == 3


def _ndjson_sketch(obj: object, where: str, category: str | None, path: Path) -> SourceDrawing:
    if not isinstance(obj, dict):
        raise SourceError(f"{where}: expected a JSON object with a 'drawing' field")
    drawing = obj.get("drawing")
    if not isinstance(drawing, list) or not drawing:
        raise SourceError(f"{where}: 'drawing' must be a non-empty list of strokes")
    lines, kinds = [], set()
    for i, stroke in enumerate(drawing):
        line, raw = _ndjson_stroke(stroke, where, i)
        lines.append(line)
        kinds.add(raw)
    if len(kinds) > 1:
        raise SourceError(f"{where}: mixes raw [xs, ys, ts] and simplified [xs, ys] strokes")
    if not any(len(line) for line in lines):
        raise SourceError(f"{where}: the drawing has no points")
    points = np.concatenate(lines)
    # Two-list drawings outside 0..255 are not really simplified: treat them like raw ones.
    if kinds == {True} or points.min() < 0 or points.max() > BOX:
        s3 = to_box(lines)
    else:
        s3 = np.rint(polylines_to_stroke3(lines)).astype(np.int16)
    word = obj.get("word")
    if category is None:
        category = word.strip() if isinstance(word, str) and word.strip() else path.stem
    key = obj.get("key_id")
    return SourceDrawing(s3, category, {}, None, str(path), None if key is None else str(key))


def read_ndjson(
    path: str | Path, *, category: str | None = None, report: ReadReport | None = None
) -> Iterator[SourceDrawing]:
    """Read Quick, Draw! ndjson, simplified or raw (detected per line); category from `word`.

    Raw drawings are fitted to the 255 box, RDP-simplified and rounded like Google's simplified
    set. Drawings with recognized: false are kept and counted in the report.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot open ({exc.strerror})") from None
    with handle:
        for lineno, raw_line in enumerate(handle, 1):
            where = f"{path.name}:{lineno}"
            try:
                text = raw_line.decode("utf-8").strip()
                if not text:
                    continue
                obj = json.loads(text)
                sketch = _ndjson_sketch(obj, where, category, path)
            except UnicodeDecodeError:
                _skip(report, f"{where}: not UTF-8 text")
                continue
            except json.JSONDecodeError as exc:
                _skip(report, f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            except (SourceError, StrokeError) as exc:
                _skip(report, str(exc))
                continue
            if report is not None:
                report.read += 1
                report.unrecognized += obj.get("recognized") is False
            yield sketch


# ---------------------------------------------------------------- SVG

_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_GROUPS = {"svg", "g", "a", "switch"}
_NOT_DRAWN = {
    "defs",
    "clipPath",
    "mask",
    "symbol",
    "marker",
    "pattern",
    "title",
    "desc",
    "metadata",
    "style",
    "script",
    "linearGradient",
    "radialGradient",
    "filter",
}
_SHAPES = {
    "polyline": svgelements.Polyline,
    "polygon": svgelements.Polygon,
    "line": svgelements.SimpleLine,
    "rect": svgelements.Rect,
    "circle": svgelements.Circle,
    "ellipse": svgelements.Ellipse,
}
_CURVE_STEPS = 8  # points per Bezier
_ARC_STEP = math.pi / 8  # radians per point along a path's arc
_ROUND_STEP = math.pi / 16  # along circles and ellipses (32 points around)
_PPI = 96.0  # CSS pixels per inch, for lengths given in mm, pt, in ...
_MAX_DEPTH = 200
_LENGTH_ATTRS = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width", "height")
_LENGTH_RE = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(px|mm|cm|in|pt|pc|q)?\s*")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _matrix(text: str, where: str) -> svgelements.Matrix:
    """An SVG transform list; anything svgelements would silently skip is an error."""
    if svgelements.REGEX_TRANSFORM_TEMPLATE.sub("", text.lower()).strip(" \t\r\n,"):
        raise SourceError(
            f"{where}: cannot read transform {text.strip()[:60]!r} (supported: matrix, "
            "translate, scale, rotate, skewX, skewY)"
        )
    return svgelements.Matrix(text)


def _path_data(d: str, where: str) -> svgelements.Path:
    """A path's `d`, read by svgelements' parser; data it stops at is an error, not dropped."""
    path, lexer = svgelements.Path(), svgelements.SVGLexicalParser()
    try:
        lexer.parse(path, d)
    except ValueError:
        near = d[max(0, lexer.pos - 20) : lexer.pos + 10]
        raise SourceError(f"{where}: a path command is missing numbers near {near!r}") from None
    if d[lexer.pos :].strip(" \t\r\n,"):
        raise SourceError(f"{where}: bad path data near {d[lexer.pos : lexer.pos + 20]!r}")
    return path


def _shape(el: ET.Element, tag: str, where: str) -> tuple[svgelements.Path, float]:
    """One drawable element as a path in its own coordinates, and its arcs' step in radians."""
    if tag == "path":
        return _path_data(el.get("d", ""), where), _ARC_STEP
    attrs = {_local(k): v for k, v in el.attrib.items() if _local(k) != "transform"}
    if tag in ("polyline", "polygon") and len(_NUMBER_RE.findall(attrs.get("points", ""))) % 2:
        raise SourceError(f"{where}: points has an odd count of numbers")
    for name in _LENGTH_ATTRS:  # svgelements would read a garbled length as 0
        if name in attrs and not _LENGTH_RE.fullmatch(attrs[name]):
            raise SourceError(
                f"{where}: {name}={attrs[name][:30]!r} is not a length "
                "(a number, optionally px, mm, cm, in, pt or pc)"
            )
    shape = _SHAPES[tag](attrs)
    shape.render(ppi=_PPI)  # lengths with units (mm, pt, in) to user units
    return svgelements.Path(shape), _ROUND_STEP


def _flatten(path: svgelements.Path, arc_step: float, m: svgelements.Matrix) -> list[np.ndarray]:
    """Polylines of a path, one per subpath (a close ends one), curves sampled at fixed steps in
    the path's own coordinates (so no transform changes how finely), then `m` applied."""
    lines: list[np.ndarray] = []
    points: list[np.ndarray] = []
    for seg in path:
        end = np.array(seg.end, dtype=np.float64)
        if isinstance(seg, svgelements.Move):
            lines, points = lines + [np.array(points)], [end]
            continue
        if isinstance(seg, (svgelements.CubicBezier, svgelements.QuadraticBezier)):
            points += list(seg.npoint(np.arange(1, _CURVE_STEPS) / _CURVE_STEPS))
        elif isinstance(seg, svgelements.Arc) and seg.sweep and seg.start != seg.end:
            steps = max(2, math.ceil(abs(seg.sweep) / arc_step - 1e-6))
            points += list(seg.npoint(np.arange(1, steps) / steps))
        if not (isinstance(seg, svgelements.Close) and np.allclose(points[-1], end, 0, 1e-9)):
            points.append(end)
        if isinstance(seg, svgelements.Close):
            lines, points = lines + [np.array(points)], [end]
    lines.append(np.array(points))
    a, b, c, d, e, f = m.a, m.b, m.c, m.d, m.e, m.f
    return [line @ np.array([[a, b], [c, d]]) + (e, f) for line in lines if len(line) >= 2]


_INHERITED = ("visibility", "stroke", "fill")  # presentation properties a child inherits
_MAX_ELEMENTS = 100_000  # elements walked, <use> clones counted each time they are drawn


def _presentation(el: ET.Element, inherited: dict[str, str]) -> dict[str, str]:
    """The element's display, visibility, stroke and fill: its attributes, then its style
    attribute (which wins), the inherited ones filled in where it sets none ("inherit" too)."""
    own = {k: el.get(k, "").strip() for k in ("display", *_INHERITED) if el.get(k)}
    for decl in el.get("style", "").split(";"):
        key, _, value = decl.partition(":")
        key = key.strip().lower()
        if key in ("display", *_INHERITED) and value.strip():
            own[key] = value.strip().removesuffix("!important").strip()
    out = {k: v for k, v in own.items() if v != "inherit"}
    for key in _INHERITED:
        if key not in out and key in inherited:
            out[key] = inherited[key]
    return out


def _drawn(style: dict[str, str]) -> bool:
    """Whether a shape with this style shows a line: not hidden, and stroked, or unstyled (a
    shape given a fill and no stroke is a filled area, such as a background, not a line)."""
    if style.get("visibility") in ("hidden", "collapse"):
        return False
    stroke = style.get("stroke")
    if stroke is not None:
        return stroke.lower() != "none"
    return style.get("fill") is None


class _Walk:
    """The state of reading one SVG: its elements by id (for <use>), what was skipped, and a
    budget of elements so that clones of clones cannot expand without bound."""

    def __init__(self, root: ET.Element, name: str) -> None:
        self.name = name
        self.ids = {el.get("id"): el for el in root.iter() if el.get("id")}
        self.ignored: Counter = Counter()
        self.left = _MAX_ELEMENTS
        self.using: list[str] = []  # the <use> references being expanded, innermost last

    def walk(
        self,
        el: ET.Element,
        ctm: svgelements.Matrix,
        out: list[np.ndarray],
        inherited: dict[str, str],
        depth: int = 0,
    ) -> None:
        """Collect the polylines under `el` in document order, in root coordinates."""
        if depth > _MAX_DEPTH:
            raise SourceError(f"{self.name}: elements are nested more than {_MAX_DEPTH} deep")
        seen: Counter = Counter()
        for child in el:
            if not isinstance(child.tag, str):
                continue
            self.left -= 1
            if self.left < 0:
                raise SourceError(
                    f"{self.name}: more than {_MAX_ELEMENTS} elements to draw (clones of "
                    "clones count each time); simplify the drawing"
                )
            tag = _local(child.tag)
            seen[tag] += 1
            where = f"{self.name}: <{tag}> #{seen[tag]}" + (
                f" id={child.get('id')!r}" if child.get("id") else ""
            )
            style = _presentation(child, inherited)
            if tag in _NOT_DRAWN or style.get("display", "").lower() == "none":
                continue
            if tag not in _GROUPS and tag not in _SHAPES and tag not in ("path", "use"):
                self.ignored[tag] += 1
                continue
            m = _matrix(child.get("transform", ""), where) * ctm  # its own transform first
            if tag == "use":
                self.clone(child, m, out, style, depth, where)
            elif tag in _GROUPS:
                self.walk(child, m, out, style, depth + 1)
            elif _drawn(style):
                out += _flatten(*_shape(child, tag, where), m)

    def clone(
        self,
        use: ET.Element,
        m: svgelements.Matrix,
        out: list[np.ndarray],
        style: dict[str, str],
        depth: int,
        where: str,
    ) -> None:
        """A <use>: the element it names, moved by its x and y, drawn in its place."""
        href = use.get("href") or use.get("{http://www.w3.org/1999/xlink}href") or ""
        ref = href[1:] if href.startswith("#") else ""
        target = self.ids.get(ref)
        if target is None:
            self.ignored["use (no such id)" if ref else "use (not a #id)"] += 1
            return
        if ref in self.using:
            raise SourceError(f"{where}: refers to {href}, which contains it")
        for name in ("x", "y"):
            if use.get(name) and not _LENGTH_RE.fullmatch(use.get(name, "")):
                raise SourceError(f"{where}: {name}={use.get(name, '')[:30]!r} is not a length")
        dx, dy = (float(_NUMBER_RE.findall(use.get(k, "0"))[0]) for k in ("x", "y"))
        holder = ET.Element("g")
        holder.append(target)  # walked as the use's only child: its own transform and style
        self.using.append(ref)
        try:
            self.walk(
                holder, svgelements.Matrix(f"translate({dx},{dy})") * m, out, style, depth + 1
            )
        finally:
            self.using.pop()


def read_svg(
    path: str | Path, *, category: str | None = None, report: ReadReport | None = None
) -> Iterator[SourceDrawing]:
    """Read one SVG drawing (category: the given one or the parent folder's name).

    Shapes become strokes in document order with their transforms applied, then are fitted to
    the 255 box and simplified like raw QuickDraw data. What is not drawn as a line is left
    out: hidden shapes (display:none, as Inkscape hides a layer, or visibility hidden) and
    filled shapes with no stroke (backgrounds); <use> clones are drawn where they are placed.
    ENTITY declarations are refused (a DOCTYPE without them, as Krita and matplotlib write, is
    fine).
    """
    path = Path(path)
    name = path.name
    try:
        if path.stat().st_size > MAX_SVG_BYTES:
            raise SourceError(f"{name}: larger than {MAX_SVG_BYTES // 1_000_000} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{name}: cannot read ({exc.strerror})") from None
    if re.search(rb"<!\s*ENTITY", data, re.IGNORECASE):
        raise SourceError(
            f"{name}: has an ENTITY declaration, which is not allowed (entities can expand "
            "without bound); remove it and try again"
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceError(f"{name}:{exc.position[0]}: not well-formed XML ({exc})") from None
    if _local(root.tag) != "svg":
        raise SourceError(f"{name}: the root element is <{_local(root.tag)}>, not <svg>")
    polylines: list[np.ndarray] = []
    walk = _Walk(root, name)
    style = _presentation(root, {})
    if style.get("display", "").lower() != "none":
        walk.walk(root, _matrix(root.get("transform", ""), f"{name}: <svg>"), polylines, style)
    ignored = walk.ignored
    if ignored and report is not None:
        kinds = ", ".join(f"<{t}> x{n}" for t, n in sorted(ignored.items()))
        report.warn(f"{name}: ignored elements it cannot draw: {kinds}")
    if not polylines:
        raise SourceError(f"{name}: has no <path>, <polyline>, <polygon>, <line> or shape to read")
    category = category or path.resolve().parent.name or path.stem
    try:
        s3 = to_box(polylines)
    except StrokeError as exc:
        raise SourceError(f"{name}: {exc}") from None
    if report is not None:
        report.read += 1
    yield SourceDrawing(s3, category, {}, None, str(path))


# ---------------------------------------------------------------- dispatch


def source_kind(path: str | Path) -> str | None:
    """'npz', 'ndjson' or 'svg' from the file name, or None for other files."""
    return KINDS.get(Path(path).suffix.lower())


def find_sources(paths: Iterable[str | Path]) -> list[Path]:
    """The source files named: files as given, folders searched recursively (sorted)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and source_kind(f) and not f.name.startswith(".")
            )
        elif p.is_file():
            if not source_kind(p):
                raise SourceError(f"{p}: unsupported file type; use .npz, .ndjson or .svg")
            found.append(p)
        else:
            raise SourceError(f"{p}: no such file or folder")
    return found


def read_source(
    path: str | Path, *, category: str | None = None, report: ReadReport | None = None
) -> Iterator[SourceDrawing]:
    """Read any supported file, choosing the reader by its extension."""
    readers = {"npz": read_sketchrnn_npz, "ndjson": read_ndjson, "svg": read_svg}
    kind = source_kind(path)
    if kind is None:
        raise SourceError(f"{Path(path).name}: unsupported file type; use .npz, .ndjson or .svg")
    return readers[kind](path, category=category, report=report)
