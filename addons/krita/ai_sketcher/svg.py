"""Strokes <-> SVG, the form in which Krita vector layers hand out and take in shapes.

A stroke is a polyline: a list of (x, y) points in the SVG's user units, which for Krita's
layer.toSvg(), shape.toSvg() and addShapesFromSvg() are points (1/72 inch). Reading flattens
every curve (cubic and quadratic Beziers, elliptical arcs) into line segments no further than
`tolerance` from the curve and applies every transform on the way down. Writing makes one
open `<path>` per stroke with a stroke colour and width and no fill. Pure Python, no Krita.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape, quoteattr

Point = tuple[float, float]
Stroke = list[Point]
Matrix = tuple[float, float, float, float, float, float]  # SVG matrix(a b c d e f)

IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
DEFAULT_TOLERANCE = 0.25  # user units; a quarter point is below what a screen shows at 100 %
MAX_SEGMENTS = 256  # per curve, whatever the tolerance
SVG_NS = "http://www.w3.org/2000/svg"
SKIPPED = {
    "defs",
    "clipPath",
    "mask",
    "marker",
    "pattern",
    "symbol",
    "linearGradient",
    "radialGradient",
    "filter",
    "metadata",
    "title",
    "desc",
    "style",
    "text",
    "use",
}

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SEPARATORS = " \t\r\n,"
_COMMANDS = "MmLlHhVvCcSsQqTtAaZz"


class SvgError(ValueError):
    """SVG text that cannot be read; the message says where."""


# --- transforms -------------------------------------------------------------------------------


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """The transform that applies `n` first, then `m` (SVG's `transform="m n"`)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (
        a * p + c * q,
        b * p + d * q,
        a * r + c * s,
        b * r + d * s,
        a * t + c * u + e,
        b * t + d * u + f,
    )


def apply(m: Matrix, x: float, y: float) -> Point:
    a, b, c, d, e, f = m
    return (a * x + c * y + e, b * x + d * y + f)


def parse_transform(text: str | None) -> Matrix:
    """An SVG transform attribute (matrix, translate, scale, rotate, skewX, skewY) as a matrix."""
    m = IDENTITY
    if not text:
        return m
    for name, args_text in re.findall(r"([A-Za-z]+)\s*\(([^)]*)\)", text):
        args = [float(v) for v in _NUMBER.findall(args_text)]
        m = multiply(m, _transform(name, args, text))
    return m


def _transform(name: str, v: list[float], text: str) -> Matrix:
    try:
        if name == "matrix" and len(v) == 6:
            return (v[0], v[1], v[2], v[3], v[4], v[5])
        if name == "translate" and len(v) in (1, 2):
            return (1.0, 0.0, 0.0, 1.0, v[0], v[1] if len(v) == 2 else 0.0)
        if name == "scale" and len(v) in (1, 2):
            return (v[0], 0.0, 0.0, v[1] if len(v) == 2 else v[0], 0.0, 0.0)
        if name == "rotate" and len(v) in (1, 3):
            a = math.radians(v[0])
            rot = (math.cos(a), math.sin(a), -math.sin(a), math.cos(a), 0.0, 0.0)
            if len(v) == 1:
                return rot
            cx, cy = v[1], v[2]
            return multiply(multiply((1, 0, 0, 1, cx, cy), rot), (1, 0, 0, 1, -cx, -cy))
        if name == "skewX" and len(v) == 1:
            return (1.0, 0.0, math.tan(math.radians(v[0])), 1.0, 0.0, 0.0)
        if name == "skewY" and len(v) == 1:
            return (1.0, math.tan(math.radians(v[0])), 0.0, 1.0, 0.0, 0.0)
    except IndexError:
        pass
    raise SvgError(
        f"transform {text!r} has {name}({', '.join(f'{x:g}' for x in v)}), "
        "which is not a valid SVG transform"
    )


def _scale(m: Matrix) -> float:
    """How much `m` magnifies lengths on average, to turn a tolerance into local units."""
    return math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))


# --- path data --------------------------------------------------------------------------------


class _Scanner:
    """Reads the tokens of SVG path data: command letters, numbers and arc flags."""

    def __init__(self, d: str) -> None:
        self.d = d
        self.i = 0

    def _skip(self) -> None:
        while self.i < len(self.d) and self.d[self.i] in _SEPARATORS:
            self.i += 1

    def command(self) -> str | None:
        """The next command letter, or None at a number (an implicit repeat) or the end."""
        self._skip()
        if self.i < len(self.d) and self.d[self.i] in _COMMANDS:
            self.i += 1
            return self.d[self.i - 1]
        return None

    def at_end(self) -> bool:
        self._skip()
        return self.i >= len(self.d)

    def number(self) -> float:
        self._skip()
        match = _NUMBER.match(self.d, self.i)
        if not match:
            raise SvgError(f"path data {self._where()} should have a number")
        self.i = match.end()
        return float(match.group())

    def flag(self) -> bool:
        self._skip()
        if self.i < len(self.d) and self.d[self.i] in "01":
            self.i += 1
            return self.d[self.i - 1] == "1"
        raise SvgError(f"path data {self._where()} should have an arc flag (0 or 1)")

    def _where(self) -> str:
        shown = self.d[self.i : self.i + 12]
        return f"at character {self.i} ({shown!r})" if shown else "ends where it"


def _wang(points: Sequence[Point], tolerance: float) -> int:
    """Segments a Bezier needs to stay within `tolerance` of the curve (Wang's formula)."""
    degree = len(points) - 1
    worst = max(
        math.hypot(
            points[i][0] - 2 * points[i + 1][0] + points[i + 2][0],
            points[i][1] - 2 * points[i + 1][1] + points[i + 2][1],
        )
        for i in range(degree - 1)
    )
    n = math.ceil(math.sqrt(degree * (degree - 1) / 8 * worst / tolerance)) if worst else 1
    return max(1, min(MAX_SEGMENTS, n))


def _bezier(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Points along a quadratic or cubic Bezier after its start point, ending on its end."""
    n = _wang(points, tolerance)
    out = []
    for k in range(1, n + 1):
        t = k / n
        u = 1 - t
        w: tuple[float, ...]
        if len(points) == 3:
            w = (u * u, 2 * u * t, t * t)
        else:
            w = (u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t)
        out.append(
            (sum(wi * p[0] for wi, p in zip(w, points)), sum(wi * p[1] for wi, p in zip(w, points)))
        )
    return out


def _arc(
    p0: Point,
    rx: float,
    ry: float,
    angle: float,
    large: bool,
    sweep: bool,
    p1: Point,
    tolerance: float,
) -> list[Point]:
    """Points along an SVG elliptical arc after p0, ending on p1 (SVG 1.1 appendix F.6)."""
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0 or p0 == p1:
        return [p1]
    phi = math.radians(angle)
    cos_p, sin_p = math.cos(phi), math.sin(phi)
    dx, dy = (p0[0] - p1[0]) / 2, (p0[1] - p1[1]) / 2
    x1, y1 = cos_p * dx + sin_p * dy, -sin_p * dx + cos_p * dy
    grow = (x1 / rx) ** 2 + (y1 / ry) ** 2
    if grow > 1:  # radii too small to join the ends: scale them up, as the spec says
        rx, ry = rx * math.sqrt(grow), ry * math.sqrt(grow)
    num = rx * rx * ry * ry - rx * rx * y1 * y1 - ry * ry * x1 * x1
    den = rx * rx * y1 * y1 + ry * ry * x1 * x1
    k = math.sqrt(max(0.0, num / den)) * (-1 if large == sweep else 1)
    cx1, cy1 = k * rx * y1 / ry, -k * ry * x1 / rx
    cx = cos_p * cx1 - sin_p * cy1 + (p0[0] + p1[0]) / 2
    cy = sin_p * cx1 + cos_p * cy1 + (p0[1] + p1[1]) / 2
    theta = math.atan2((y1 - cy1) / ry, (x1 - cx1) / rx)
    end = math.atan2((-y1 - cy1) / ry, (-x1 - cx1) / rx)
    delta = end - theta
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    n = _arc_segments(max(rx, ry), abs(delta), tolerance)
    out = []
    for i in range(1, n):
        t = theta + delta * i / n
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        out.append((cos_p * ex - sin_p * ey + cx, sin_p * ex + cos_p * ey + cy))
    return out + [p1]


def _arc_segments(radius: float, sweep: float, tolerance: float) -> int:
    """Segments for an arc of `sweep` radians so that each chord's sagitta is <= tolerance."""
    if radius <= tolerance:
        return max(1, math.ceil(sweep / (math.pi / 2)))
    step = 2 * math.acos(1 - tolerance / radius)
    return max(1, min(MAX_SEGMENTS, math.ceil(sweep / step)))


def path_to_polylines(d: str, tolerance: float = DEFAULT_TOLERANCE) -> list[Stroke]:
    """SVG path data as polylines, one per subpath; a closed subpath ends on its first point."""
    scan = _Scanner(d)
    out: list[Stroke] = []
    current: Stroke = []
    x = y = 0.0  # current point
    start = (0.0, 0.0)  # of the current subpath
    last_control: Point | None = None  # for S/s and T/t reflections
    last_cmd = ""
    cmd: str | None = None

    def finish() -> None:
        nonlocal current
        if len(current) >= 2:
            out.append(current)
        current = []

    while not scan.at_end():
        letter = scan.command()
        if letter is None:
            if cmd is None:
                raise SvgError("path data must start with a moveto (M or m)")
            if cmd in "Zz":
                raise SvgError(f"path data has numbers after {cmd}, which takes none")
            letter = {"M": "L", "m": "l"}.get(cmd, cmd)  # extra pairs after M are linetos
        elif cmd is None and letter not in "Mm":
            raise SvgError(f"path data must start with a moveto (M or m), not {letter}")
        cmd = letter
        rel = letter.islower()
        ox, oy = (x, y) if rel else (0.0, 0.0)
        kind = letter.upper()
        control: Point | None = None
        if kind == "M":
            finish()
            x, y = ox + scan.number(), oy + scan.number()
            start = (x, y)
            current = [(x, y)]
        elif kind == "Z":
            if current and current[-1] != start:
                current.append(start)
            finish()
            x, y = start
            current = [(x, y)]
        elif kind in "LHV":
            if kind == "L":
                x, y = ox + scan.number(), oy + scan.number()
            elif kind == "H":
                x = ox + scan.number()
            else:
                y = oy + scan.number()
            current.append((x, y))
        elif kind in "CS":
            if kind == "C":
                c1 = (ox + scan.number(), oy + scan.number())
            else:  # reflect the previous cubic's second control point
                c1 = (
                    (2 * x - last_control[0], 2 * y - last_control[1])
                    if last_control and last_cmd in "CcSs"
                    else (x, y)
                )
            c2 = (ox + scan.number(), oy + scan.number())
            end = (ox + scan.number(), oy + scan.number())
            current.extend(_bezier(((x, y), c1, c2, end), tolerance))
            control, (x, y) = c2, end
        elif kind in "QT":
            if kind == "Q":
                c = (ox + scan.number(), oy + scan.number())
            else:
                c = (
                    (2 * x - last_control[0], 2 * y - last_control[1])
                    if last_control and last_cmd in "QqTt"
                    else (x, y)
                )
            end = (ox + scan.number(), oy + scan.number())
            current.extend(_bezier(((x, y), c, end), tolerance))
            control, (x, y) = c, end
        else:  # A
            rx, ry, angle = scan.number(), scan.number(), scan.number()
            large, sweep = scan.flag(), scan.flag()
            end = (ox + scan.number(), oy + scan.number())
            current.extend(_arc((x, y), rx, ry, angle, large, sweep, end, tolerance))
            x, y = end
        last_control, last_cmd = control, letter
    finish()
    return out


# --- SVG elements -----------------------------------------------------------------------------


def _length(value: str | None) -> float:
    """A length attribute as a number of user units ("12", "12pt", "1e2px"); 0 if missing."""
    match = _NUMBER.match(value.strip()) if value else None
    return float(match.group()) if match else 0.0


def _numbers(value: str | None) -> list[float]:
    return [float(v) for v in _NUMBER.findall(value or "")]


def _hidden(el: ET.Element) -> bool:
    style = dict(part.split(":", 1) for part in (el.get("style") or "").split(";") if ":" in part)
    style = {k.strip(): v.strip() for k, v in style.items()}
    display = el.get("display") or style.get("display")
    visibility = el.get("visibility") or style.get("visibility")
    return display == "none" or visibility in ("hidden", "collapse")


def _ellipse(cx: float, cy: float, rx: float, ry: float, tolerance: float) -> Stroke:
    n = max(8, _arc_segments(max(rx, ry), 2 * math.pi, tolerance))
    pts = [
        (cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]
    return pts + [pts[0]]


def _element_polylines(el: ET.Element, tag: str, tolerance: float) -> list[Stroke]:
    """The polylines of one drawing element in its own coordinates."""
    g = el.get
    if tag == "path":
        return path_to_polylines(g("d") or "", tolerance)
    if tag == "line":
        return [[(_length(g("x1")), _length(g("y1"))), (_length(g("x2")), _length(g("y2")))]]
    if tag in ("polyline", "polygon"):
        v = _numbers(g("points"))
        pts = list(zip(v[0::2], v[1::2]))
        if tag == "polygon" and len(pts) >= 2 and pts[0] != pts[-1]:
            pts.append(pts[0])
        return [pts] if len(pts) >= 2 else []
    if tag == "rect":  # rounded corners (rx, ry) are drawn square
        x, y, w, h = (_length(g(k)) for k in ("x", "y", "width", "height"))
        if w <= 0 or h <= 0:
            return []
        return [[(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]]
    if tag == "circle":
        r = _length(g("r"))
        return [_ellipse(_length(g("cx")), _length(g("cy")), r, r, tolerance)] if r > 0 else []
    if tag == "ellipse":
        rx, ry = _length(g("rx")), _length(g("ry"))
        if rx <= 0 or ry <= 0:
            return []
        return [_ellipse(_length(g("cx")), _length(g("cy")), rx, ry, tolerance)]
    return []


def _walk(el: ET.Element, m: Matrix, tolerance: float) -> Iterator[Stroke]:
    tag = el.tag.rsplit("}", 1)[-1]
    if tag in SKIPPED or _hidden(el):
        return
    m = multiply(m, parse_transform(el.get("transform")))
    scale = _scale(m)
    if scale == 0:
        return  # squashed flat: nothing to see
    for line in _element_polylines(el, tag, tolerance / scale):
        yield [apply(m, px, py) for px, py in line]
    for child in el:
        yield from _walk(child, m, tolerance)


def _parse_xml(svg: str) -> ET.Element:
    """The root of an SVG document, or of a fragment such as one shape.toSvg() returns."""
    body = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", "", svg, flags=re.DOTALL)
    body = body.strip()
    if not re.match(r"<svg[\s>]", body):
        # A fragment: give it a root and declare the prefixes Krita uses (sodipodi:, krita:).
        found = set(re.findall(r"[\s<]([A-Za-z_][\w.-]*):[\w.-]+", body))
        prefixes = sorted(found - {"xml", "xmlns"})
        decls = "".join(f' xmlns:{p}="urn:ai-sketcher:{p}"' for p in prefixes)
        body = f'<svg xmlns="{SVG_NS}"{decls}>{body}</svg>'
    try:
        return ET.fromstring(body)
    except ET.ParseError as e:
        raise SvgError(f"the SVG is not well-formed XML ({e})") from None


def svg_to_polylines(svg: str, tolerance: float = DEFAULT_TOLERANCE) -> list[Stroke]:
    """Every stroke an SVG document or fragment draws, in document order, transforms applied."""
    return list(_walk(_parse_xml(svg), IDENTITY, tolerance))


# --- writing ----------------------------------------------------------------------------------


def _num(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def path_data(stroke: Sequence[Sequence[float]]) -> str:
    """A polyline as open SVG path data: "M x y L x y ..."."""
    pts = [f"{_num(p[0])} {_num(p[1])}" for p in stroke]
    return "M" + pts[0] + ("L" + "L".join(pts[1:]) if len(pts) > 1 else "")


def paths_svg(
    strokes: Iterable[Sequence[Sequence[float]]],
    colour: str = "#000000",
    width: float = 2.0,
    hidden: bool = False,
    opacity: float | None = None,
) -> str:
    """One `<path>` element per stroke, stroked in `colour` at `width` user units, unfilled
    (and at `opacity`, 0..1, when given: the guide's fainter drawings)."""
    style = (
        f'fill="none" stroke="{colour}" stroke-width="{_num(width)}" '
        'stroke-linecap="round" stroke-linejoin="round"'
    )
    if opacity is not None:
        style += f' stroke-opacity="{_num(min(max(opacity, 0.0), 1.0))}"'
    if hidden:
        style += ' visibility="hidden"'
    return "".join(f'<path {style} d="{path_data(s)}"/>' for s in strokes if len(s) >= 1)


def group_svg(body: str, name: str) -> str:
    """`body` as one `<g>`, which Krita makes one group shape named `name` (its SVG id)."""
    return f"<g id={quoteattr(name)}>{body}</g>"


def text_svg(
    text: str, x: float, y: float, size: float, colour: str = "#000000", anchor: str = "start"
) -> str:
    """A line of text with its `anchor` ("start", "middle" or "end") at (x, y) on the baseline,
    `size` user units tall: Krita makes it a text shape."""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-family="sans-serif" '
        f'font-size="{_num(size)}" fill="{colour}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def svg_document(body: str, width: float, height: float) -> str:
    """A complete SVG whose user unit is one point, as addShapesFromSvg wants it."""
    return (
        f'<svg xmlns="{SVG_NS}" width="{_num(width)}pt" height="{_num(height)}pt" '
        f'viewBox="0 0 {_num(width)} {_num(height)}">{body}</svg>'
    )
