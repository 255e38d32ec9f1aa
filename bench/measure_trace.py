"""How faithful and how compact is each line extractor of model/lineart.py on real photos?

The photos are scikit-image's bundled ones that load offline; the others need a download
(pooch) and are skipped with a note. Each photo is sent to model.lineart as a PNG of its own
size, so the measures include decoding and the resampling to lineart.WORK_SIDE; distances are in
pixels of that work-scale image (long side 1024, or twice the photo's if that is less).

- reference edges: skimage.feature.canny at sigma REF_SIGMA with its default thresholds (0.1 and
  0.2 of the gradient of grey 0..1) on the work-scale grey photo: every edge a photo has,
  texture included;
- to edges: mean distance from the strokes (sampled every half pixel) to the nearest reference
  edge pixel: are the strokes where the photo has edges? on@3: the share within 3 px;
- back: mean distance from each reference edge pixel to the nearest stroke: how much of the
  photo's edges the drawing follows; cover@3: the share within 3 px. A clean drawing leaves the
  texture's edges out, so it is larger for one by design;
- strokes, points: per drawing, and as a share of the baseline's, "skeleton of Canny":
  model.vectorise.trace_ink on the reference edges, the plain trace of every edge;
- ms: median of --runs runs from PNG bytes to strokes, on this machine.

Rows: each extractor raw (its mask -> trace_ink, nothing else), each with lineart's cleaning
(lineart.line_strokes: small blobs and short strokes out, dark areas to their outline), and the
default pipeline (lineart.trace_grey: the default extractor, cleaned, with the texture refusal
and the caps). A refused photo (TooMuchToTrace) is an empty drawing: the means of to edges,
on@3 and back leave it out (they have no value), cover, strokes and points count it as 0.

Writes docs/trace-grid.png: a row per photo; columns photo, reference edges, default strokes
(and --columns more).

    python bench/measure_trace.py [--runs 3] [--grid docs/trace-grid.png] [--cell 256]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from skimage import data as skdata
from skimage.feature import canny

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model import cli, lineart  # noqa: E402
from model.vectorise import trace_ink  # noqa: E402

REF_SIGMA = 2.0  # the reference edges' Canny sigma, in work pixels; default thresholds
NEAR_PX = 3.0  # on@3 and cover@3 count points within this many pixels
RUNS = 3  # timing: median of this many runs

PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": skdata.astronaut,
    "camera": skdata.camera,
    "coffee": skdata.coffee,
    "chelsea": skdata.chelsea,
    "rocket": skdata.rocket,
    "coins": skdata.coins,
    "clock": skdata.clock,
    "motorcycle": lambda: skdata.stereo_motorcycle()[0],
    "eagle": lambda: skdata.eagle(),  # needs a download: skipped offline
    "lily": lambda: skdata.lily(),  # needs a download: skipped offline
    "grass (texture)": skdata.grass,
    "gravel (texture)": skdata.gravel,
}
TEXTURES = ("grass (texture)", "gravel (texture)")  # their drawing should be refused or near empty
DEFAULT = f"default ({lineart.DEFAULT_EXTRACTOR}, trace_grey)"
Method = Callable[[bytes], list[lineart.Polyline]]


def _raw(name: str) -> Method:
    return lambda png: trace_ink(lineart.EXTRACTORS[name](lineart.decode(png)))


def _cleaned(name: str) -> Method:
    return lambda png: lineart.line_strokes(lineart.decode(png), name)


METHODS: dict[str, Method] = {
    "skeleton of Canny (baseline)": lambda png: trace_ink(
        canny(lineart.decode(png), sigma=REF_SIGMA)
    ),
    **{f"{n} raw": _raw(n) for n in lineart.EXTRACTORS},
    **{f"{n} + cleaning": _cleaned(n) for n in lineart.EXTRACTORS},
    DEFAULT: lambda png: lineart.trace_grey(lineart.decode(png)),
}


def load_photos() -> tuple[dict[str, np.ndarray], list[str]]:
    photos, skipped = {}, []
    for name, load in PHOTOS.items():
        try:
            photos[name] = load()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # no pooch, a failed download, or (run by pytest) its Skipped
            skipped.append(f"{name} ({type(e).__name__}: it needs a download)")
    return photos, skipped


def png_bytes(photo: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG")
    return buf.getvalue()


def sampled(lines: list[lineart.Polyline], shape: tuple[int, ...]) -> np.ndarray:
    """Integer (row, column) points every half pixel along the polylines, inside `shape`."""
    pts = []
    for line in lines:
        a = np.asarray(line, dtype=float)
        if len(a) == 1:
            pts.append(a)
        for p, q in zip(a[:-1], a[1:]):
            n = int(np.ceil(np.hypot(*(q - p)) * 2)) + 2
            pts.append(p + np.linspace(0, 1, n)[:, None] * (q - p))
    if not pts:
        return np.zeros((0, 2), int)
    rc = np.rint(np.concatenate(pts)).astype(int)
    return np.clip(rc, 0, np.array(shape[:2]) - 1)


def measure(lines: list[lineart.Polyline], ref: np.ndarray) -> dict[str, float]:
    """Faithfulness to the reference edges both ways, and the drawing's size."""
    pts = sampled(lines, ref.shape)
    drawn = np.zeros(ref.shape, bool)
    drawn[pts[:, 0], pts[:, 1]] = True
    d_to = ndi.distance_transform_edt(~ref)[pts[:, 0], pts[:, 1]]
    if not drawn.any():  # nothing drawn: no distances, nothing covered
        return {"to": np.nan, "on": np.nan, "back": np.nan, "cover": 0.0, "strokes": 0.0,
                "points": 0.0}  # fmt: skip
    d_back = ndi.distance_transform_edt(~drawn)[ref]
    return {
        "to": float(d_to.mean()),
        "on": float((d_to <= NEAR_PX).mean()),
        "back": float(d_back.mean()),
        "cover": float((d_back <= NEAR_PX).mean()),
        "strokes": float(len(lines)),
        "points": float(sum(len(line) for line in lines)),
    }


def draw(lines: list[lineart.Polyline] | None, shape: tuple[int, ...], cell: int) -> Image.Image:
    """Strokes as dark lines on white, scaled to fit a cell x cell square (None: refused)."""
    s = cell / max(shape[:2])
    im = Image.new("RGB", (cell, cell), (255, 255, 255))
    d = ImageDraw.Draw(im)
    if lines is None:
        d.text((8, 8), "TooMuchToTrace", fill=(200, 0, 0))
    for line in lines or []:
        xy = [(c * s, r * s) for r, c in line]
        if len(xy) > 1:
            d.line(xy, fill=(20, 20, 20), width=max(1, round(cell / 300)), joint="curve")
    return im


def fit(im: Image.Image, cell: int) -> Image.Image:
    """The image scaled to fill a cell x cell square's width or height, top left."""
    im = im.convert("RGB")
    s = cell / max(im.size)
    im = im.resize(
        (max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.LANCZOS
    )
    out = Image.new("RGB", (cell, cell), (255, 255, 255))
    out.paste(im, (0, 0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=Path, default=REPO / "docs" / "trace-grid.png")
    ap.add_argument("--cell", type=int, default=256, help="grid cell side, in pixels")
    ap.add_argument("--columns", nargs="*", default=[], help="more methods for the grid")
    ap.add_argument("--runs", type=int, default=RUNS, help="timing: median of this many runs")
    ap.add_argument("--photos", nargs="*", help="only these photos (names as in the table)")
    args = ap.parse_args()
    args.runs = cli.quick(args.runs, 1, "--runs")
    if os.environ.get(cli.QUICK_ENV, "") not in ("", "0") and not args.photos:
        args.photos = ["camera", "coins"]  # the docs test: two photos, the table's form

    photos, skipped = load_photos()
    rows: dict[str, dict[str, dict[str, float]]] = {}
    grid: list[list[Image.Image]] = []
    for name, photo in photos.items():
        if args.photos and name not in args.photos:
            continue
        png = png_bytes(photo)
        grey = lineart.decode(png)
        ref = canny(grey, sigma=REF_SIGMA)
        rows[name] = {}
        cells = [fit(Image.fromarray(photo), args.cell), fit(Image.fromarray(~ref), args.cell)]
        drawings: dict[str, list[lineart.Polyline] | None] = {}
        for method, run in METHODS.items():
            times: list[float] = []
            for _ in range(args.runs):
                started = time.perf_counter()
                try:
                    drawings[method] = run(png)
                except lineart.TooMuchToTrace:
                    drawings[method] = None
                times.append(time.perf_counter() - started)
            m = measure(drawings[method] or [], ref)
            m["refused"] = float(drawings[method] is None)
            m["ms"] = statistics.median(times) * 1000
            rows[name][method] = m
        base = rows[name]["skeleton of Canny (baseline)"]
        for m in rows[name].values():
            m["strokes%"] = m["strokes"] / base["strokes"] if base["strokes"] else np.nan
            m["points%"] = m["points"] / base["points"] if base["points"] else np.nan
        for method in [DEFAULT, *args.columns]:
            cells.append(draw(drawings[method], grey.shape, args.cell))
        grid.append(cells)
        print(f"measured {name}", file=sys.stderr)

    print(f"Reference edges: Canny sigma {REF_SIGMA:g} (default thresholds) on the grey photo")
    print(f"at work scale (long side {lineart.WORK_SIDE}, or {lineart.MAX_UPSCALE:g} times the")
    print("photo's if that is less); distances in work pixels.")
    if skipped:
        print(f"Skipped (no internet here): {', '.join(skipped)}.")
    photos_only = [n for n in rows if n not in TEXTURES]
    textures = [n for n in TEXTURES if n in rows]
    header = "| to edges | on@3 | back | cover@3 | strokes | points | vs skeleton | ms |"
    if photos_only:
        print(f"\nMean over the {len(photos_only)} photos ({', '.join(photos_only)}):\n")
        print("| method " + header + " refused |")
        print("|---" * 10 + "|")
        for method in METHODS:
            ms = [rows[n][method] for n in photos_only]
            avg = {k: float(np.nanmean([m[k] for m in ms])) for k in ms[0]}
            refused = sum(int(m["refused"]) for m in ms)
            print(f"| {method} " + _cells(avg) + f" {refused} |")
    if textures:
        print("\nTexture photos (their drawing should be refused or nearly empty):\n")
        print("| photo | method | strokes | points | ms |")
        print("|---|---|---|---|---|")
        for n in textures:
            for method, m in rows[n].items():
                got = (
                    "TooMuchToTrace | -"
                    if m["refused"]
                    else f"{m['strokes']:.0f} | {m['points']:.0f}"
                )
                print(f"| {n} | {method} | {got} | {m['ms']:.0f} |")
    print("\nEach photo:\n")
    print("| photo | method " + header)
    print("|---" * 10 + "|")
    for n in photos_only:
        for method, m in rows[n].items():
            print(f"| {n} | {method} " + _cells(m))

    args.grid.parent.mkdir(parents=True, exist_ok=True)
    width = max(len(r) for r in grid) * args.cell
    sheet = Image.new("RGB", (width, len(grid) * args.cell), (255, 255, 255))
    for i, cells in enumerate(grid):
        for j, cell in enumerate(cells):
            sheet.paste(cell, (j * args.cell, i * args.cell))
    # 256 colours: the strokes are two, and the photos need no more to be recognised (the file
    # is a third of the size)
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        args.grid, optimize=True
    )
    shown = args.grid.relative_to(REPO) if args.grid.is_relative_to(REPO) else args.grid
    print(f"\nWrote {shown}: photo, reference edges, {', '.join([DEFAULT, *args.columns])}")


def _cells(m: dict[str, float]) -> str:
    """A table row's measure cells; a refused drawing's show TooMuchToTrace."""
    if m.get("refused") == 1.0:
        return "| TooMuchToTrace |" + " - |" * 6 + f" {m['ms']:.0f} |"
    return (
        f"| {m['to']:.2f} | {m['on']:.0%} | {m['back']:.2f} | {m['cover']:.0%} | "
        f"{m['strokes']:.0f} | {m['points']:.0f} | {m['strokes%']:.0%} / {m['points%']:.0%} | "
        f"{m['ms']:.0f} |"
    )


if __name__ == "__main__":
    main()
