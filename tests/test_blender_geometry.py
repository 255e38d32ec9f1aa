"""The Blender add-on's drawing plane (addons/blender/geometry.py), without Blender."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from addons.blender import geometry as g

coord = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
points3 = st.lists(st.tuples(coord, coord, coord), min_size=1, max_size=20)


def matrix(
    tx: float = 0.0, ty: float = 0.0, tz: float = 0.0, scale: float = 1.0, rz_degrees: float = 0.0
) -> tuple[tuple[float, ...], ...]:
    """A Blender-style 4x4 (row-major): scale, then a rotation about Z, then a translation."""
    c, s = math.cos(math.radians(rz_degrees)), math.sin(math.radians(rz_degrees))
    return (
        (c * scale, -s * scale, 0.0, tx),
        (s * scale, c * scale, 0.0, ty),
        (0.0, 0.0, scale, tz),
        (0.0, 0.0, 0.0, 1.0),
    )


def close(a, b, tol: float = 1e-6) -> bool:
    return all(math.isclose(x, y, rel_tol=tol, abs_tol=tol) for x, y in zip(a, b))


def test_front_view_maps_x_right_and_z_up_to_protocol_y_down():
    """Local X is protocol x; local Z up is protocol y down; local Y (depth) is dropped."""
    assert g.to_protocol([(1.0, 5.0, 2.0), (-3.0, 0.0, -4.0)]) == [(1.0, -2.0), (-3.0, 4.0)]
    high, low = g.to_protocol([(0, 0, 1), (0, 0, 0)])
    assert high[1] < low[1]  # higher on screen is a smaller protocol y


@given(st.lists(st.tuples(coord, coord), min_size=1, max_size=20), coord)
def test_protocol_points_round_trip_through_the_plane(points, depth):
    """2-D -> 3-D (at any depth) -> 2-D gives the same points back, at the same scale."""
    assert g.to_protocol(g.from_protocol(points, depth=depth)) == [
        (float(x), float(y)) for x, y in points
    ]
    assert all(p[1] == depth for p in g.from_protocol(points, depth=depth))


@given(points3, coord, coord, coord, st.floats(0.1, 10), st.floats(-180, 180))
def test_layer_transforms_round_trip(points, tx, ty, tz, scale, angle):
    """Points of a moved, scaled, rotated layer map to the plane and back through the inverse."""
    m = matrix(tx, ty, tz, scale, angle)
    inverse = g.invert(m)
    for p in points:
        assert close(g.transform(inverse, g.transform(m, p)), p, tol=1e-6)
    flat = g.to_protocol(points, m)
    depths = [g.transform(m, p)[1] for p in points]
    back = [g.transform(inverse, g.from_protocol([uv], depth=d)[0]) for uv, d in zip(flat, depths)]
    assert all(close(a, b, tol=1e-5) for a, b in zip(back, points))


def test_layer_translation_and_scale_move_protocol_points():
    """A layer moved by (2, 0, 1) and scaled 3x shows its points moved and scaled on the plane."""
    m = matrix(tx=2.0, tz=1.0, scale=3.0)
    assert g.to_protocol([(1.0, 0.0, 1.0)], m) == [(5.0, -4.0)]


def test_inverse_of_a_matrix_and_a_zero_scale():
    """invert() undoes a transform; a zero scale cannot be undone and says what to fix."""
    m = matrix(1, 2, 3, 2.5, 30)
    product = [
        [sum(m[i][k] * g.invert(m)[k][j] for k in range(4)) for j in range(4)] for i in range(4)
    ]
    assert all(close(row, ident) for row, ident in zip(product, g.IDENTITY))
    with pytest.raises(g.GeometryError, match="zero scale"):
        g.invert(matrix(scale=0.0))


def test_mean_depth_is_the_average_local_y():
    assert g.mean_depth([(0, 1, 0), (5, 3, 9)]) == 2.0
    assert g.mean_depth([]) == 0.0
    assert g.mean_depth([(0, 1, 0)], matrix(ty=4.0)) == 5.0


def test_bounds_usable_shrink_and_radius():
    assert g.bounds([[(0, 0), (4, 2)], [(-1, 5)]]) == (-1, 0, 4, 5)
    assert g.bounds([]) is None and g.bounds([[]]) is None
    assert g.usable((0, 0, 1, 1)) and not g.usable((0, 0, 0, 1)) and not g.usable(None)
    assert not g.usable((0, 0, math.inf, 1))
    assert g.shrink((0, 0, 10, 20), 0.1) == (1, 2, 9, 18)
    assert g.stroke_radius((0, 0, 250, 100)) == 1.0


# A camera 10 units in front of the plane (at y = -10), looking along +Y, seeing 4 x 2 units
# at the plane: its four corner rays, as gpencil.py builds them from Camera.view_frame().
CAMERA = (0.0, -10.0, 1.0)
CORNERS = [(2.0, 10.0, 1.0), (2.0, 10.0, -1.0), (-2.0, 10.0, -1.0), (-2.0, 10.0, 1.0)]


def test_camera_box_is_where_the_camera_sees_the_plane():
    """Perspective rays hitting the plane y = 0 give the camera's view in protocol units."""
    box = g.camera_box([CAMERA] * 4, CORNERS, g.IDENTITY)
    assert close(box, (-2.0, -2.0, 2.0, 0.0))


def test_camera_box_follows_the_objects_transform():
    """Moving the object right moves the view left in its local units; scaling it 2x halves
    the view; an orthographic camera's parallel rays work the same way."""
    moved = g.camera_box([CAMERA] * 4, CORNERS, matrix(tx=1.0, tz=1.0))
    assert close(moved, (-3.0, -1.0, 1.0, 1.0))
    scaled = g.camera_box([CAMERA] * 4, CORNERS, matrix(scale=2.0))
    assert close(scaled, (-1.0, -1.0, 1.0, 0.0))
    origins = [(x, -10.0, z) for x, _, z in ((2, 0, 2), (2, 0, 0), (-2, 0, 0), (-2, 0, 2))]
    ortho = g.camera_box(origins, [(0.0, 1.0, 0.0)] * 4, g.IDENTITY)
    assert close(ortho, (-2.0, -2.0, 2.0, 0.0))


def test_camera_box_is_none_when_the_camera_does_not_see_the_plane():
    """Side-on (object turned 90 degrees) or behind the camera: no box, the caller falls back."""
    assert g.camera_box([CAMERA] * 4, CORNERS, matrix(rz_degrees=90)) is None
    away = [(x, -y, z) for x, y, z in CORNERS]
    assert g.camera_box([CAMERA] * 4, away, g.IDENTITY) is None


def test_an_image_empty_pixel_lands_where_blender_draws_it() -> None:
    """The picture's longer side is `size` long, its corner at `offset` times its own size, v
    counted down from the top; the default offset (-0.5, -0.5) centres it on the empty."""
    centred = (-0.5, -0.5)
    assert g.image_to_local(0, 0, 400, 200, 2.0, centred) == (-1.0, 0.5, 0.0)
    assert g.image_to_local(400, 200, 400, 200, 2.0, centred) == (1.0, -0.5, 0.0)
    assert g.image_to_local(100, 100, 200, 400, 4.0, (0.0, 0.0)) == (1.0, 3.0, 0.0)
    with pytest.raises(g.GeometryError, match="0 x 10 pixels"):
        g.image_to_local(0, 0, 0, 10, 1.0, centred)
