"""Image -> line drawing: the few centre-line strokes a person would ink over a photo or painting.

Artists start from references; Inkscape's Trace Bitmap gives filled outlines, this gives strokes.
A PNG or JPEG is decoded within model.vectorise's size limits (the size Pillow will decode is
checked first), made grey (transparency on white) and resampled so its long side is WORK_SIDE
pixels (a small one is enlarged at most MAX_UPSCALE times), so every threshold here is in pixels
of that one scale. An extractor turns it into a mask of lines; the mask is cleaned (blobs that
span little are texture; a dark area wider than a line keeps only its outline) and traced by
model.vectorise.trace_ink into centre lines, mapped onto the document box. A drawing of mostly
short marks (grass, gravel, grain, noise) is refused with TooMuchToTrace, and the rest keeps at
most its MAX_OUT_STROKES longest strokes.

The default extractor is plain DoG with hysteresis, chosen by bench/measure_trace.py on eight
scikit-image photos against Canny reference edges. At the same coverage of the photo's edges
(40 % within 3 px) and about the same size (131 strokes against 136; 18 % of a plain trace of
Canny's edges), DoG's strokes lie 2.4 px from an edge on average and XDoG's 3.3 px (88 % against
84 % within 3 px), and DoG's lie nearer on each of the eight photos. XDoG's tone term lowers the
threshold in dark areas, where it draws faint lines that are no edges (in "rocket", lines in the
near-black towers put its mean at 7.7 px); in sweeps of sigma, p, epsilon and phi it came
nearest DoG where it becomes DoG (large p, low epsilon). Canny's cleaned edges lie nearest
(0.4 px, but the reference is Canny itself) and cover less (33 %) with 60 % more strokes (213,
though fewer points: 768 against 877): it draws both sides of every dark line, and its traces
break into pieces. A DoG line lies on the dark side of a step edge, about 1.9 px off at SIGMA
1.5. A 1024 x 1024 photo takes about 0.3 s (bench/bench_trace.py).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import ExifTags, Image, ImageOps, JpegImagePlugin, PngImagePlugin
from scipy import ndimage as ndi
from skimage.feature import canny
from skimage.filters import apply_hysteresis_threshold

from model.vectorise import (
    MAX_INK_SHARE,
    MAX_SIDE,
    MAX_SKELETON,
    Polyline,
    TooMuchToTrace,
    VectoriseError,
    length,
    no_addresses,
    to_box,
    trace_ink,
)

WORK_SIDE = 1024  # every image is resampled so its long side is this many pixels; the
# thresholds below are in pixels of that image, so a drawing does not depend on resolution ...
MAX_UPSCALE = 2.0  # ... but a small image is enlarged at most this much: enlarged more, its
# sharp edges would become ramps wider than the line filters (an icon would trace to nothing)

SIGMA = 1.5  # the inner Gaussian of (X)DoG: the finest detail kept, in work pixels
K = 1.6  # the outer Gaussian is K * SIGMA (Marr-Hildreth's ratio, as Winnemoeller uses)
XDOG_P = 60.0  # XDoG sharpening p: S = (1 + p) G_sigma - p G_{k sigma}
XDOG_EPSILON = -0.5  # XDoG threshold on S (grey 0..1); below 0 also asks a minimum contrast
XDOG_PHI = 2.0  # XDoG soft-threshold slope: darkness = tanh(phi (epsilon - S)) where S < eps
XDOG_HIGH = 0.5  # a line starts where the XDoG darkness is above this ...
XDOG_LOW = 0.2  # ... and runs on through pixels above this (hysteresis)
DOG_HIGH = 0.03  # plain DoG: a line starts where G_sigma - G_{k sigma} is below -DOG_HIGH ...
DOG_LOW = 0.015  # ... and runs on below -DOG_LOW (grey 0..1)
CANNY_SIGMA = 3.0  # Canny's Gaussian, in work pixels
CANNY_HIGH = 0.25  # Canny's hysteresis on the gradient magnitude (grey 0..1 per pixel) ...
CANNY_LOW = 0.125  # ... start above HIGH, run on above LOW
MAX_STRONG_SHARE = 0.04  # at most this share of pixels may start a line; on texture or noise
# the start threshold rises until this holds, so the cost and the clutter stay bounded
MIN_SPAN_SHARE = 0.03  # a line blob whose box's diagonal is under this share of WORK_SIDE is
# texture (a speck, a hair, a pore), not a line: about 30 work pixels
FILL_WIDTH_PX = 16.0  # a blob wider than this is a dark area, not a line: only its edge is kept
MIN_STROKE_PX = 8.0  # a traced stroke shorter than this (work pixels) is a twig, not a line
BUSY_PX = 4 * WORK_SIDE  # a drawing with more line than this (work pixels, all strokes) ...
LONG_PX = 80.0  # ... of which under TEXTURE_LONG_SHARE is in strokes this long or longer ...
TEXTURE_LONG_SHARE = 0.33  # ... is texture or noise (grass, gravel, grain): it is refused
MAX_OUT_STROKES = 600  # the longest strokes are kept, at most this many ...
MAX_OUT_POINTS = 15_000  # ... with at most this many points together

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

Extractor = Callable[[np.ndarray], np.ndarray]


def decode(data: bytes) -> np.ndarray:
    """A PNG or JPEG as grey values 0..1 (alpha composited on white), resampled so its long
    side is WORK_SIDE pixels, or MAX_UPSCALE times its own if that is less. The size Pillow
    will decode is checked before it decodes."""
    kind = "PNG" if data.startswith(PNG_MAGIC) else "JPEG" if data.startswith(JPEG_MAGIC) else ""
    if not kind:
        raise VectoriseError(f"the image is {_what(data)}; send a PNG or JPEG")
    try:
        opener = PngImagePlugin.PngImageFile if kind == "PNG" else JpegImagePlugin.JpegImageFile
        im: Image.Image = opener(io.BytesIO(data))  # this format's reader only; not decoded
        width, height = im.size
        if width > MAX_SIDE or height > MAX_SIDE:
            raise TooMuchToTrace(
                f"the image is {width} x {height} pixels; at most {MAX_SIDE} each way; "
                "send a smaller one"
            )
        scale = min(WORK_SIDE / max(width, height), MAX_UPSCALE)
        if kind == "JPEG":  # libjpeg decodes at 1/2, 1/4 or 1/8 size for less work
            im.draft("L", (math.ceil(width * scale), math.ceil(height * scale)))
        orientation = _orientation(im)
        if orientation in (5, 6, 7, 8):
            width, height = height, width  # turned a quarter when shown
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        im.load()
        if orientation != 1:
            im = ImageOps.exif_transpose(im)  # upright, as the artist sees it
        grey = _grey(im, size)
    except (VectoriseError, MemoryError):
        raise
    except Exception as e:  # Pillow raises many kinds for a broken file
        reason = no_addresses(" ".join(str(e).split()[:12]))
        raise VectoriseError(
            f"the image could not be decoded as a {kind} ({type(e).__name__}: {reason})"
        ) from None
    return grey


def _what(data: bytes) -> str:
    """What bytes that are not a PNG or JPEG are, in words, for the error message: Pillow's
    name for the format whose signature they start with (nothing else of them is read)."""
    Image.init()
    for name, (_factory, accept) in Image.OPEN.items():
        try:
            if accept is not None and accept(data[:64]):
                return f"a {name} image"
        except Exception:  # a format's check that wants more bytes than it got
            continue
    if not data:
        return "empty (0 bytes)"
    return f"{len(data)} bytes that are no image format Pillow knows (they start {data[:8]!r})"


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 = upright; 5 to 8 turn it a quarter); 1 if the EXIF is broken."""
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:
        return 1


def _grey(im: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Grey 0..255 of `size` (composited on white where there is transparency), as 0..1."""
    if im.mode.startswith("I"):  # 16-bit grey, which Pillow's "L" would clip rather than scale
        a = np.asarray(im, dtype=np.float32) / 257.0
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if im.has_transparency_data:
        im = im.convert("RGBA")
    elif im.mode != "L":
        im = im.convert("L")
    if im.size != size:
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if im.mode == "RGBA":
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im).convert("L")
    return np.asarray(im, dtype=np.float32) / 255.0


def _bounded_high(strength: np.ndarray, high: float) -> float:
    """The start threshold, raised where more than MAX_STRONG_SHARE of pixels would pass it."""
    return max(high, float(np.quantile(strength, 1.0 - MAX_STRONG_SHARE)))


def _dog_pair(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ndi.gaussian_filter(grey, SIGMA), ndi.gaussian_filter(grey, SIGMA * K)


def xdog(grey: np.ndarray) -> np.ndarray:
    """XDoG (Winnemoeller et al. 2012) line mask: S = (1 + p) G_s - p G_ks, soft-thresholded
    to a darkness tanh(phi (eps - S)) where S < eps, then hysteresis on that darkness."""
    g1, g2 = _dog_pair(grey)
    s = (1 + XDOG_P) * g1 - XDOG_P * g2
    dark = np.where(s < XDOG_EPSILON, np.tanh(XDOG_PHI * (XDOG_EPSILON - s)), 0.0)
    high = _bounded_high(dark, XDOG_HIGH)
    return apply_hysteresis_threshold(dark, min(XDOG_LOW, high), high)


def dog(grey: np.ndarray) -> np.ndarray:
    """Plain DoG line mask: the dark side of edges and dark lines, G_s - G_ks < 0, with
    hysteresis on its depth."""
    g1, g2 = _dog_pair(grey)
    depth = g2 - g1
    high = _bounded_high(depth, DOG_HIGH)
    return apply_hysteresis_threshold(depth, min(DOG_LOW, high), high)


def canny_edges(grey: np.ndarray) -> np.ndarray:
    """Canny's edges: one pixel wide, on both sides of a dark line."""
    return canny(grey, sigma=CANNY_SIGMA, low_threshold=CANNY_LOW, high_threshold=CANNY_HIGH)


EXTRACTORS: dict[str, Extractor] = {"xdog": xdog, "dog": dog, "canny": canny_edges}
DEFAULT_EXTRACTOR = "dog"


def clean(mask: np.ndarray) -> np.ndarray:
    """Texture out of a line mask: blobs that span little go, and a dark area keeps only its
    edge."""
    labels, count = ndi.label(mask, structure=np.ones((3, 3)))
    spans = np.zeros(count + 1, bool)
    for i, sl in enumerate(ndi.find_objects(labels), start=1):
        spans[i] = math.hypot(*(s.stop - s.start for s in sl)) >= MIN_SPAN_SHARE * WORK_SIDE
    mask = spans[labels]
    depth = ndi.distance_transform_edt(mask)
    core = depth > FILL_WIDTH_PX / 2
    if core.any():
        fill = ndi.binary_dilation(core, iterations=int(FILL_WIDTH_PX / 2) + 1) & mask
        edge = fill & ~ndi.binary_erosion(fill, border_value=1)
        mask = (mask & ~fill) | edge
    return mask


def line_strokes(grey: np.ndarray, extractor: str = DEFAULT_EXTRACTOR) -> list[Polyline]:
    """Every cleaned stroke of a work-scale grey image as (row, column) pixel polylines, longest
    first: the extractor's line mask, cleaned, traced by model.vectorise.trace_ink, without the
    strokes shorter than MIN_STROKE_PX."""
    mask = clean(EXTRACTORS[extractor](grey))
    share = float(mask.mean())
    if share > MAX_INK_SHARE:
        raise TooMuchToTrace(
            f"{share:.0%} of the image is lines (a drawing has under {MAX_INK_SHARE:.0%}), so "
            "it looks like noise or texture; send a picture of things with outlines"
        )
    try:
        lines = trace_ink(mask)
    except TooMuchToTrace:
        raise TooMuchToTrace(
            f"the image's lines are more than {MAX_SKELETON} pixels long, so it looks like noise "
            "or texture; send a picture of things with outlines, or crop to one"
        ) from None
    return sorted((x for x in lines if length(x) >= MIN_STROKE_PX), key=length, reverse=True)


def trace_grey(grey: np.ndarray, extractor: str = DEFAULT_EXTRACTOR) -> list[Polyline]:
    """The line drawing of a work-scale grey image as (row, column) pixel polylines, longest
    first: line_strokes, refused where they are mostly short marks (texture, noise), and at most
    MAX_OUT_STROKES strokes with MAX_OUT_POINTS points."""
    lines = line_strokes(grey, extractor)
    lengths = np.array([length(x) for x in lines])
    total = float(lengths.sum())
    if total > BUSY_PX and float(lengths[lengths >= LONG_PX].sum()) < TEXTURE_LONG_SHARE * total:
        raise TooMuchToTrace(
            f"the image traces to {len(lines)} mostly short marks (under "
            f"{TEXTURE_LONG_SHARE:.0%} of their length in strokes of {LONG_PX:g} pixels or more), "
            "so it looks like noise or texture; send a picture of things with outlines, or crop "
            "to one"
        )
    out, points = [], 0
    for line in lines[:MAX_OUT_STROKES]:
        points += len(line)
        if points > MAX_OUT_POINTS:
            break
        out.append(line)
    return out


def trace_image(
    data: bytes, box: tuple[float, float, float, float], extractor: str = DEFAULT_EXTRACTOR
) -> list[Polyline]:
    """The line drawing of a PNG or JPEG as strokes in document units of `box` (x0, y0, x1, y1),
    the area the image covers."""
    grey = decode(data)
    return to_box(trace_grey(grey, extractor), grey.shape, box)
