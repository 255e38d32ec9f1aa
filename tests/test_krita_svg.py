"""The Krita plugin's pure SVG conversion: path data and transforms to strokes, strokes to paths."""

from __future__ import annotations

import itertools
import math

import pytest

from addons.krita.ai_sketcher import svg

# What Krita 5.1.5 really hands out (recorded under Xvfb): one shape, then a whole layer.
KRITA_SHAPE = (
    '<path id="shape0" transform="translate(10, 10)" fill="none" stroke="#ff0000" '
    'stroke-width="3" stroke-linecap="butt" stroke-linejoin="miter" '
    'stroke-miterlimit="2" d="M0 0L50 2C60 10 70 20 52 48" '
    'sodipodi:nodetypes="ccc"/>'
)
KRITA_LAYER = f"""<?xml version="1.0" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 20010904//EN" "{
    "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd"
}">
<!-- Created using Krita: https://krita.org -->
<svg xmlns="http://www.w3.org/2000/svg"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    xmlns:krita="http://krita.org/namespaces/svg/krita"
    xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
    width="400pt"
    height="300pt"
    viewBox="0 0 400 300">
<defs/>
{KRITA_SHAPE}
<path id="shape1" transform="matrix(1.5 0 0 1.5 140 133.75)" fill="none" stroke="#202020"
 d="M0 7.5C10 -2.5 20 -2.5 30 7.5" sodipodi:nodetypes="cc"/>
</svg>
"""


def close(a, b, tol=1e-6) -> bool:
    return len(a) == len(b) and all(math.dist(p, q) <= tol for p, q in zip(a, b))


def cubic(p0, p1, p2, p3, t):
    u = 1 - t
    return tuple(
        u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d
        for a, b, c, d in zip(p0, p1, p2, p3)
    )


def distance_to_polyline(p, line) -> float:
    best = math.inf
    for a, b in itertools.pairwise(line):
        ab = (b[0] - a[0], b[1] - a[1])
        length2 = ab[0] ** 2 + ab[1] ** 2 or 1e-12
        t = max(0.0, min(1.0, ((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / length2))
        best = min(best, math.dist(p, (a[0] + t * ab[0], a[1] + t * ab[1])))
    return best


def test_lines_absolute_relative_and_implicit():
    """M/L/H/V, their relative forms and extra pairs after a moveto all become one polyline."""
    [line] = svg.path_to_polylines("M10 10 20 10 l0 10 H0 v-5 h5 V0 L1e1,0")
    assert close(line, [(10, 10), (20, 10), (20, 20), (0, 20), (0, 15), (5, 15), (5, 0), (10, 0)])


def test_subpaths_are_separate_strokes_and_lone_movetos_are_dropped():
    """Each moveto starts a new stroke; a moveto with nothing drawn after it is no stroke."""
    strokes = svg.path_to_polylines("M0 0 L1 1 M5 5 m1 1 l1 0 M9 9")
    assert strokes == [[(0, 0), (1, 1)], [(6, 6), (7, 6)]]


def test_closed_path_ends_on_its_start_and_drawing_goes_on_from_there():
    """Z closes the stroke back to its first point; a later lineto starts from that point."""
    strokes = svg.path_to_polylines("M0 0 L10 0 L10 10 Z L0 10 z")
    assert strokes == [[(0, 0), (10, 0), (10, 10), (0, 0)], [(0, 0), (0, 10), (0, 0)]]


def test_cubic_bezier_is_flattened_within_tolerance():
    """A cubic keeps its end points and no point of the real curve is further than tolerance."""
    p = [(0, 0), (0, 100), (100, 100), (100, 0)]
    sizes = []
    for tol in (1.0, 0.1):
        [line] = svg.path_to_polylines("M0 0 C0 100 100 100 100 0", tolerance=tol)
        assert line[0] == (0, 0) and line[-1] == (100, 0)
        worst = max(distance_to_polyline(cubic(*p, i / 400), line) for i in range(401))
        assert worst <= tol
        sizes.append(len(line))
    assert sizes[0] < sizes[1] <= svg.MAX_SEGMENTS + 1


def test_straight_cubic_stays_one_segment_and_smooth_cubic_reflects():
    """A cubic with collinear even-spaced controls needs no extra points; S mirrors the control."""
    [line] = svg.path_to_polylines("M0 0 C10 0 20 0 30 0")
    assert line == [(0, 0), (30, 0)]
    [a] = svg.path_to_polylines("M0 0 C0 10 10 10 10 0 S20 -10 20 0", tolerance=0.01)
    [b] = svg.path_to_polylines("M0 0 C0 10 10 10 10 0 C10 -10 20 -10 20 0", tolerance=0.01)
    assert close(a, b)


def test_quadratic_and_smooth_quadratic():
    """Q is flattened onto the true parabola; T reflects its control point."""
    [line] = svg.path_to_polylines("M0 0 Q50 100 100 0", tolerance=0.05)
    for x, y in line:  # the parabola y = 2x - x^2/50 for this control point
        assert abs(y - (2 * x - x * x / 50)) < 1.0
    [a] = svg.path_to_polylines("M0 0 Q10 10 20 0 T40 0", tolerance=0.01)
    [b] = svg.path_to_polylines("M0 0 Q10 10 20 0 Q30 -10 40 0", tolerance=0.01)
    assert close(a, b)


def test_relative_curves():
    """Relative c/q take their points from the current point."""
    [a] = svg.path_to_polylines("M10 10 c0 10 10 10 10 0 q5 5 10 0")
    [b] = svg.path_to_polylines("M10 10 C10 20 20 20 20 10 Q25 15 30 10")
    assert close(a, b)


def test_arc_lies_on_its_circle():
    """An elliptical arc is flattened onto its circle, on the side the sweep flag picks."""
    [up] = svg.path_to_polylines("M0 0 A10 10 0 0 1 20 0", tolerance=0.01)
    [down] = svg.path_to_polylines("M0 0 A10 10 0 0 0 20 0", tolerance=0.01)
    assert up[0] == (0, 0) and up[-1] == (20, 0) and len(up) > 10
    for line, sign in ((up, -1), (down, 1)):
        assert all(abs(math.dist(p, (10, 0)) - 10) < 1e-6 for p in line)
        assert all(sign * y >= -1e-9 for _, y in line)


def test_arc_with_compact_flags_and_tiny_radius():
    """Flags written without separators parse; radii too small are scaled up as SVG says."""
    [line] = svg.path_to_polylines("M0 0a1 1 0 0020 0")
    assert line[-1] == (20, 0) and all(abs(math.dist(p, (10, 0)) - 10) < 1e-6 for p in line)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("translate(5)", (1, 0, 0, 1, 5, 0)),
        ("translate(5, -2)", (1, 0, 0, 1, 5, -2)),
        ("scale(2)", (2, 0, 0, 2, 0, 0)),
        ("scale(2 3)", (2, 0, 0, 3, 0, 0)),
        ("matrix(1 2 3 4 5 6)", (1, 2, 3, 4, 5, 6)),
        ("translate(10,0) scale(2)", (2, 0, 0, 2, 10, 0)),
    ],
)
def test_transform_parsing(text, expected):
    """SVG transform lists compose left to right, as nested groups would."""
    assert close(
        [
            svg.parse_transform(text)[:2],
            svg.parse_transform(text)[2:4],
            svg.parse_transform(text)[4:],
        ],
        [expected[:2], expected[2:4], expected[4:]],
    )


def test_rotate_about_a_centre_and_skew():
    """rotate(a cx cy) keeps the centre fixed; skewX shears x by y."""
    m = svg.parse_transform("rotate(90 10 10)")
    assert close([svg.apply(m, 10, 10), svg.apply(m, 20, 10)], [(10, 10), (10, 20)])
    assert close([svg.apply(svg.parse_transform("skewX(45)"), 0, 10)], [(10, 10)])


def test_bad_transform_and_path_data_say_where():
    """Broken input raises SvgError naming what is wrong."""
    with pytest.raises(svg.SvgError, match="rotate"):
        svg.parse_transform("rotate(1 2)")
    with pytest.raises(svg.SvgError, match="moveto"):
        svg.path_to_polylines("L 1 1")
    with pytest.raises(svg.SvgError, match="character 6"):
        svg.path_to_polylines("M0 0 Lx")
    with pytest.raises(svg.SvgError, match="well-formed"):
        svg.svg_to_polylines("<svg><path d='M0 0 L1 1'></svg>")


def test_krita_shape_fragment_with_its_transform():
    """A shape.toSvg() fragment (undeclared sodipodi: prefix) reads with its translate applied."""
    [line] = svg.svg_to_polylines(KRITA_SHAPE)
    assert line[:2] == [(10, 10), (60, 12)] and line[-1] == (62, 58)


def test_krita_layer_document_with_matrix_transform():
    """A whole layer.toSvg() reads every shape in order, each with its own matrix."""
    first, second = svg.svg_to_polylines(KRITA_LAYER)
    assert first[0] == (10, 10)
    assert close([second[0], second[-1]], [(140, 145), (185, 145)])  # 1.5 * (0, 7.5) + offset


def test_nested_groups_compose_and_hidden_or_defs_are_skipped():
    """Group transforms apply to children; hidden elements and defs contribute nothing."""
    doc = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><path d="M0 0 L9 9"/></defs>'
        '<g transform="translate(100 0)"><g transform="scale(2)">'
        '<path d="M1 1 L2 2"/><path d="M0 0 L5 5" style="display: none"/></g></g>'
        '<path d="M0 0 L5 5" visibility="hidden"/></svg>'
    )
    assert svg.svg_to_polylines(doc) == [[(102, 2), (104, 4)]]


def test_basic_shapes():
    """line, polyline, polygon, rect, circle and ellipse become strokes; circles close."""
    doc = (
        '<svg xmlns="http://www.w3.org/2000/svg">'
        '<line x1="0" y1="0" x2="3" y2="4"/><polyline points="0,0 1,1 2,0"/>'
        '<polygon points="0 0 4 0 4 4"/><rect x="1" y="2" width="3" height="4"/>'
        '<circle cx="10" cy="10" r="5"/><ellipse cx="0" cy="0" rx="4" ry="2"/>'
        '<rect width="0" height="5"/></svg>'
    )
    line, polyline, polygon, rect, circle, ellipse = svg.svg_to_polylines(doc)
    assert line == [(0, 0), (3, 4)] and polyline == [(0, 0), (1, 1), (2, 0)]
    assert polygon == [(0, 0), (4, 0), (4, 4), (0, 0)]
    assert rect == [(1, 2), (4, 2), (4, 6), (1, 6), (1, 2)]
    assert circle[0] == circle[-1] and all(abs(math.dist(p, (10, 10)) - 5) < 1e-9 for p in circle)
    assert all(abs(x * x / 16 + y * y / 4 - 1) < 1e-9 for x, y in ellipse)


def test_strokes_to_svg_and_back():
    """Written paths read back as the same strokes, stroked in the pen colour and width."""
    strokes = [[(1.5, 2.25), (10, 20), (30.125, -4)], [(0, 0), (0, 0)]]
    body = svg.paths_svg(strokes, "#3366ff", 2.5)
    assert body.count("<path ") == 2 and 'fill="none"' in body
    assert 'stroke="#3366ff"' in body and 'stroke-width="2.5"' in body
    doc = svg.svg_document(body, 640, 400)
    assert 'width="640pt"' in doc and 'viewBox="0 0 640 400"' in doc
    assert svg.svg_to_polylines(doc) == strokes


def test_hidden_paths_and_number_format():
    """Hidden paths carry visibility="hidden"; coordinates keep 3 decimals and no -0."""
    assert 'visibility="hidden"' in svg.paths_svg([[(0, 0), (1, 1)]], hidden=True)
    assert svg.path_data([(-0.0001, 1 / 3), (2, 1e-9)]) == "M0 0.333L2 0"
