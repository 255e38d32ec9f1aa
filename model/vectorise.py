"""Raster -> strokes: the centre lines of a paint layer's ink, as polylines in document units.

A Krita paint layer has pixels, not strokes, so the server turns its dark or opaque pixels into
the strokes every mode works on: Pillow decodes the PNG, scikit-image thins the ink to a
one-pixel skeleton, the skeleton is traced as a graph (a junction ends the branches that meet
there, and the branches that run on straightest through it are joined again, so a cross is two
strokes; a ring with no ends is one closed stroke whose last point repeats its first), shapely
simplifies each line to within SIMPLIFY_PX, and specks shorter than MIN_LENGTH_PX are dropped.

Every raster comes from a client, so its cost is bounded before the work: the size is the one
Pillow will decode (not the first IHDR chunk's), at most MAX_SIDE pixels each way; a larger
ink mask is max-pooled down to TRACE_SIDE pixels (a line a pixel wide survives); a mask with
more than MAX_INK_SHARE ink is a fill or a photo, not lines; and a skeleton of more than
MAX_SKELETON pixels is refused before it is traced. A hostile raster costs under 2 s of CPU.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable

import numpy as np
from PIL import Image
from shapely.geometry import LineString
from skimage.morphology import remove_small_objects, skeletonize

SIMPLIFY_PX = 1.0  # the simplified line stays this close to the skeleton, in pixels
MIN_LENGTH_PX = 4.0  # shorter lines are specks (dust, noise), not strokes
MIN_INK_PIXELS = 6  # ink blobs smaller than this are specks too
DARK = 128  # on an opaque image, ink is darker than this (0..255 luma)
OPAQUE = 128  # on an image with transparency, ink is at least this opaque (0..255 alpha)
LIGHT = 230  # ... and darker than this, so white paint on a transparent layer is not ink
STRAIGHT_COS = -0.5  # two branches join through a junction if they turn less than 60 degrees
DIRECTION_PX = 6  # how far along a branch its direction at a junction is measured

MAX_SIDE = 4096  # pixels each way, as the protocol allows
TRACE_SIDE = 1024  # larger masks are pooled down to this before they are traced
MAX_INK_SHARE = 0.35  # line art inks a small share of its pixels; fills and photos do not
MAX_SKELETON = 60_000  # centre-line pixels traced, about 0.7 s of tracing

Pixel = tuple[int, int]  # (row, column)
Polyline = list[tuple[float, float]]
_STEPS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


class VectoriseError(ValueError):
    """The raster is not an image that can be read; the message says what is wrong."""


class TooMuchToTrace(VectoriseError):
    """The raster is readable but more than the limits allow; the message says which limit."""


def ink_mask(png: bytes) -> np.ndarray:
    """Which pixels are ink: opaque and not near-white on a layer with transparency, else dark.
    The size Pillow will decode is checked before it decodes."""
    try:
        with Image.open(io.BytesIO(png)) as im:
            if im.format != "PNG":
                raise VectoriseError(f"raster.png is a {im.format} image; send a PNG")
            width, height = im.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise TooMuchToTrace(
                    f"raster.png decodes to {width} x {height} pixels; the limit is "
                    f"{MAX_SIDE} x {MAX_SIDE}; select a smaller area"
                )
            la = np.asarray(im.convert("LA"), dtype=np.uint8)  # [row, col, (luma, alpha)]
    except (VectoriseError, MemoryError):
        raise
    except Exception as e:  # Pillow raises many kinds for a broken file
        reason = " ".join(str(e).split()[:12])  # the reason in words, not a heap address
        raise VectoriseError(
            f"raster.png could not be decoded as a PNG image ({type(e).__name__}: "
            f"{no_addresses(reason)})"
        ) from None
    luma, alpha = la[..., 0], la[..., 1]
    if (alpha < OPAQUE).mean() > 0.01:  # a layer with a transparent background
        return (alpha >= OPAQUE) & (luma < LIGHT)
    return luma < DARK


def no_addresses(text: str) -> str:
    """Text without the memory addresses some library messages carry ("at 0x7f...")."""
    return re.sub(r"\s*(at )?0x[0-9a-fA-F]{6,}", "", text)


def pooled(ink: np.ndarray, side: int = TRACE_SIDE) -> tuple[np.ndarray, int]:
    """The mask max-pooled by the smallest whole factor that brings it within `side` pixels
    each way (any ink in a block is ink), and that factor."""
    k = max(1, math.ceil(max(ink.shape) / side))
    if k == 1:
        return ink, 1
    h, w = (-(-n // k) * k for n in ink.shape)
    padded = np.zeros((h, w), bool)
    padded[: ink.shape[0], : ink.shape[1]] = ink
    blocks = np.asarray(padded.reshape(h // k, k, w // k, k).any(axis=(1, 3)))
    return blocks, k


def vectorise(png: bytes, box: tuple[float, float, float, float]) -> list[Polyline]:
    """The centre-line strokes of a PNG's ink, mapped from its pixels onto document box."""
    full = ink_mask(png)
    ink, k = pooled(full)
    share = float(ink.mean())
    if share > MAX_INK_SHARE:
        raise TooMuchToTrace(
            f"{share:.0%} of the raster is ink; a line drawing inks far less (the limit is "
            f"{MAX_INK_SHARE:.0%}), so this looks like a filled area or a photo; select the lines"
        )
    rows, cols = full.shape
    return to_box(trace_ink(ink), (rows / k, cols / k), box)


def to_box(
    lines: list[Polyline], shape: tuple[float, ...], box: tuple[float, float, float, float]
) -> list[Polyline]:
    """(row, column) pixel polylines of an image of `shape` (rows, columns) mapped onto document
    `box` (x0, y0, x1, y1), each pixel by its centre."""
    x0, y0, x1, y1 = box
    sx, sy = (x1 - x0) / shape[1], (y1 - y0) / shape[0]
    return [[(x0 + (c + 0.5) * sx, y0 + (r + 0.5) * sy) for r, c in line] for line in lines]


def trace_ink(ink: np.ndarray) -> list[list[tuple[float, float]]]:
    """Centre lines of a boolean ink mask as simplified polylines of (row, column) pixels."""
    ink = remove_small_objects(ink.astype(bool), max_size=MIN_INK_PIXELS - 1)
    if not ink.any():
        return []
    skeleton = skeletonize(ink)
    if int(skeleton.sum()) > MAX_SKELETON:
        raise TooMuchToTrace(
            f"the raster's lines are {int(skeleton.sum())} pixels long; the limit is "
            f"{MAX_SKELETON}; select a smaller area or fewer lines"
        )
    width = max(1.0, float(ink.sum()) / max(1, int(skeleton.sum())))  # mean stroke width
    lines = _join(_segments(skeleton), spur=max(2.0, width), cluster=max(2.0, width))
    out = []
    for line in lines:
        if length(line) < MIN_LENGTH_PX:
            continue
        simple = list(LineString(line).simplify(SIMPLIFY_PX).coords)
        out.append([(float(r), float(c)) for r, c in simple])
    return out


def _links(skeleton: np.ndarray) -> dict[Pixel, list[Pixel]]:
    """Each skeleton pixel's 8-neighbours, without a diagonal that a 4-neighbour already links
    (the corner pixel of a staircase carries that link, so steps make no triangles)."""
    h, w = skeleton.shape
    padded = np.pad(skeleton, 1)

    def shifted(dr: int, dc: int) -> np.ndarray:
        return padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]

    masks = []
    for dr, dc in _STEPS:
        m = skeleton & shifted(dr, dc)
        if dr and dc:
            m &= ~shifted(dr, 0) & ~shifted(0, dc)
        masks.append(m)
    rows, cols = np.nonzero(skeleton)
    has = np.stack(masks, -1)[rows, cols].tolist()  # [pixel, direction]
    return {
        (r, c): [(r + dr, c + dc) for (dr, dc), on in zip(_STEPS, row) if on]
        for r, c, row in zip(rows.tolist(), cols.tolist(), has)
    }


def _segments(skeleton: np.ndarray) -> list[list[Pixel]]:
    """The skeleton cut at every end and junction; a ring without either is one closed list."""
    links = _links(skeleton.astype(bool))
    pixels = list(links)
    nodes = {p for p, n in links.items() if len(n) != 2}
    seen: set[frozenset[Pixel]] = set()
    segments = []

    def walk(start: Pixel, step: Pixel) -> list[Pixel]:
        path, prev, cur = [start, step], start, step
        seen.add(frozenset((start, step)))
        while cur not in nodes and cur != start:
            nxt = next((q for q in links[cur] if frozenset((cur, q)) not in seen), None)
            if nxt is None:
                break
            seen.add(frozenset((cur, nxt)))
            path.append(nxt)
            prev, cur = cur, nxt
        del prev
        return path

    for p in sorted(nodes):
        if not links[p]:
            segments.append([p])  # a lone pixel: a speck the length filter drops
        for q in links[p]:
            if frozenset((p, q)) not in seen:
                segments.append(walk(p, q))
    for p in pixels:  # what is left are rings of degree-2 pixels
        for q in links[p]:
            if frozenset((p, q)) not in seen:
                segments.append(walk(p, q))
    return segments


def length(line: Iterable[tuple[float, float]]) -> float:
    """A polyline's length, in its own units."""
    pts = np.asarray(list(line), dtype=float)
    return float(np.hypot(*np.diff(pts, axis=0).T).sum()) if len(pts) > 1 else 0.0


def _direction(seg: list[Pixel], at_start: bool) -> np.ndarray:
    """Unit vector pointing from a segment's end into the segment, DIRECTION_PX deep."""
    pts = seg if at_start else seg[::-1]
    a, b = np.asarray(pts[0], float), np.asarray(pts[min(DIRECTION_PX, len(pts) - 1)], float)
    d = b - a
    n = math.hypot(*d)
    return d / n if n else d


def _join(segments: list[list[Pixel]], spur: float, cluster: float) -> list[list[Pixel]]:
    """Drop spurs, merge nearby junctions, and join the straightest branches through each."""
    degree: dict[Pixel, int] = {}
    for seg in segments:
        if len(seg) > 1 and seg[0] != seg[-1]:
            for end in (seg[0], seg[-1]):
                degree[end] = degree.get(end, 0) + 1
    junctions = {p for p, d in degree.items() if d >= 3}
    # spurs: short branches from a junction to a free end (thinning leaves them at corners)
    segments = [
        s
        for s in segments
        if not (
            ((s[0] in junctions) != (s[-1] in junctions))
            and degree.get(s[0] if s[0] not in junctions else s[-1], 0) == 1
            and length(s) < spur
        )
    ]
    # junction pixels joined by a short segment are one crossing (a thick cross has two)
    parent = {j: j for j in junctions}

    def find(p: Pixel) -> Pixel:
        while parent.get(p, p) != p:
            p = parent[p]
        return p

    at: dict[Pixel, list[tuple[int, bool]]] = {}  # segment ends at each junction
    for i, s in enumerate(segments):
        for at_start in (True, False):
            if (s[0] if at_start else s[-1]) in junctions:
                at.setdefault(s[0] if at_start else s[-1], []).append((i, at_start))

    def shared(i: int) -> bool:
        """A shallow crossing: two lines overlap along segment i, so both run on through it."""
        s = segments[i]
        for end, inward in ((s[0], _direction(s, True)), (s[-1], _direction(s, False))):
            others = [e for e in at.get(end, []) if e[0] != i]
            if len(others) != 2 or any(
                float(_direction(segments[j], st) @ inward) > STRAIGHT_COS for j, st in others
            ):
                return False
        return True

    kept = []
    for i, s in enumerate(segments):
        if (
            s[0] in junctions
            and s[-1] in junctions
            and s[0] != s[-1]
            and (length(s) < cluster or shared(i))
        ):
            parent[find(s[0])] = find(s[-1])  # one crossing; its lines jump straight across
        else:
            kept.append(s)
    # every segment end at a crossing, grouped by crossing
    ends: dict[Pixel, list[tuple[int, bool]]] = {}
    for i, s in enumerate(kept):
        if len(s) < 2:
            continue
        for at_start in (True, False):
            p = s[0] if at_start else s[-1]
            if p in parent or degree.get(p, 0) == 2:
                ends.setdefault(find(p), []).append((i, at_start))
    link: dict[tuple[int, bool], tuple[int, bool]] = {}
    for group in ends.values():
        dirs = [(end, _direction(kept[end[0]], end[1])) for end in group]
        pairs = sorted(
            (float(da @ db), a, b) for x, (a, da) in enumerate(dirs) for b, db in dirs[x + 1 :]
        )
        for cos, a, b in pairs:
            if a in link or b in link or (cos > STRAIGHT_COS and len(group) > 2):
                continue
            link[a], link[b] = b, a
    return _chains(kept, link)


def _chains(
    segs: list[list[Pixel]], link: dict[tuple[int, bool], tuple[int, bool]]
) -> list[list[Pixel]]:
    """Follow the joins from segment to segment; a chain that comes back to itself is closed."""
    used: set[int] = set()
    out = []

    def follow(i: int, forward: bool) -> list[Pixel]:
        line: list[Pixel] = []
        while i not in used:
            used.add(i)
            s = segs[i] if forward else segs[i][::-1]
            line.extend(s if not line else s[1:])
            nxt = link.get((i, not forward))  # the end we leave by
            if nxt is None:
                break
            i, forward = nxt[0], nxt[1]  # enter the next one at the linked end
        return line

    for i in range(len(segs)):  # open chains first, from an end with no join
        if i not in used and ((i, True) not in link or (i, False) not in link):
            out.append(follow(i, (i, True) not in link))
    for i in range(len(segs)):  # what is left are closed loops
        if i not in used:
            line = follow(i, True)
            if line[0] != line[-1]:
                line.append(line[0])
            out.append(line)
    return out
