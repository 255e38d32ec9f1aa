"""A face photo "as a sketch": traced, then redrawn by the `faces` model. Does it keep the person?

Issue 31 asks whether a photo of a face, traced (model.lineart) and projected onto a model that
knows faces (`refine` with `strength`, and the library's projection), becomes a face sketch in
the model's style with the photo's gender, view and proportions, and asks for the faces
classifiers' read-back of view (and gender) on the result. This script measures that.

Photos: there is no internet here, and the only photos of people that load offline are two of
scikit-image's: `astronaut` (Eileen Collins, a woman, frontal, smiling) and `camera` (a man in
profile, facing the image's right, his hand and camera in front of his chin). Its lfw_subset
(100 faces of 25 x 25 pixels) traces to 0 to 6 stray strokes a face, too small to use; scipy's
`face` is a raccoon and needs a download; scikit-learn is not installed. So there are 2 photos,
and 5 variants of them: a wider crop and a mirror image of the astronaut, and a mirror image of
the cameraman (which turns his view to the left). A mirror image is the same photo, not a new
person. Crops (x0, y0, x1, y1 in the photo's 512 x 512 pixels) were chosen by looking:

- astronaut (148, 8, 308, 192): the top of the hair to just under the chin, the suit's collar
  ring left out as far as it can be; the wider crop (130, 0, 330, 215) keeps the ring and neck;
- camera (150, 58, 262, 205): the top of the hair to the chin, cut before the camera.

Pipeline per variant: the crop as a PNG -> model.lineart.trace_image into a box of the faces
model's size (long side model.strokes.BOX, as its drawings are fitted) -> if it had more rows than
the model reads after the model's own simplification, the shortest strokes would go (none had)
-> `refine` with the shipped `faces` model and its library (model.checkpoint.load,
model.library.open_library) at strength 0, 0.5 and 1, --seeds seeds each, at the Variety the
model ships with (its config's sample temperature): with no conditions (the model must take
gender and view from the drawing); and, for the two uncropped, unmirrored photos, with the
photo's gender given, and with its gender and view given.

Judges: the CNN attribute classifiers of docs/models.md (one an attribute, trained on 6,000
procedural faces of seed 1, which neither the model nor its library saw), loaded from
--judges/clf-{gender,view,emotion}. They read back gender and view (and emotion for the
smiling astronaut: happy) on the traced strokes and on each refine result. Their ceiling is
their own test accuracy on procedural faces, printed beside; with --faces, the same refine of
held-out procedural faces of the judges' test split is read back too (one seed a face, with the
same conditions and with all four given, as lab.evaluate's "refined" read-back gives them), so
the pipeline's own ceiling (a drawing the model knows) can be told from what the trace loses.

Prints Markdown tables and writes --grid (docs/trace-faces.png): a row per variant and
conditions: the crop, its trace, and strength 0, 0.5 and 1, two seeds each.
AI_SKETCHER_DOCS_QUICK=1 (model.cli.quick) shrinks it to one seed, two variants and four
reference faces.

    python bench/measure_trace_faces.py --judges runs --faces data/faces-seed1.npz
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data as skdata

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab.classifier import SketchClassifier, load_classifier  # noqa: E402
from lab.data import PreparedData  # noqa: E402
from lab.evaluate import labels_of  # noqa: E402
from lab.render import CELL, grid_png  # noqa: E402
from model import cli, lineart  # noqa: E402
from model import strokes as S  # noqa: E402
from model.checkpoint import Checkpoint, load  # noqa: E402
from model.library import SketchLibrary, open_library  # noqa: E402
from model.raster import rasterize_all  # noqa: E402
from model.sample import SketchRequest, sample  # noqa: E402
from model.vectorise import length  # noqa: E402

STRENGTHS = (0.0, 0.5, 1.0)
SEEDS = 10
REFERENCE = 120  # held-out procedural faces refined the same way, one seed each
SIMPLIFY = 2.0  # the epsilon model.sample simplifies refine's input with, in box units
GRID_SEEDS = 2  # refine results shown per strength in the picture
ATTRIBUTES = ("gender", "view", "emotion")
SETTINGS = (  # the conditions refine is given: none, then the photo's gender, then its view too
    ("no conditions", ()),
    ("gender given", ("gender",)),
    ("gender and view given", ("gender", "view")),
)
# Procedural faces know all four, as lab.evaluate's "refined" read-back gives them
ALL_GIVEN = ("all four given", ("gender", "emotion", "style", "view"))


@dataclass(frozen=True)
class Photo:
    """A crop of a photo and what is known of the person in it (an attribute left out of truth is
    not known, or not shown: the cameraman's emotion)."""

    name: str
    person: str  # the photo it comes from: variants of one photo are one person
    load: Callable[[], np.ndarray]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the photo's pixels
    mirror: bool
    truth: dict[str, str]
    given: bool = False  # also refined with its gender, and its gender and view, given


ASTRONAUT = {"gender": "female", "view": "frontal", "emotion": "happy"}
# A full profile facing the image's right: the judges know only the generator's mid-profiles.
CAMERAMAN = {"gender": "male", "view": "mid-profile right"}
PHOTOS = (  # the first two are the photos; the docs' quick run keeps only them
    Photo("astronaut", "astronaut", skdata.astronaut, (148, 8, 308, 192), False, ASTRONAUT, True),
    Photo("camera", "camera", skdata.camera, (150, 58, 262, 205), False, CAMERAMAN, True),
    Photo("astronaut, wide", "astronaut", skdata.astronaut, (130, 0, 330, 215), False, ASTRONAUT),
    Photo(
        "astronaut, mirrored", "astronaut", skdata.astronaut, (148, 8, 308, 192), True, ASTRONAUT
    ),
    Photo(
        "camera, mirrored",
        "camera",
        skdata.camera,
        (150, 58, 262, 205),
        True,
        {**CAMERAMAN, "view": "mid-profile left"},
    ),
)


def crop(photo: Photo) -> Image.Image:
    """The photo's crop, mirrored left to right if asked."""
    im = Image.fromarray(photo.load()).crop(photo.box)
    return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if photo.mirror else im


def trace(im: Image.Image) -> list[np.ndarray]:
    """The crop's line drawing (model.lineart.trace_image on its PNG) in a box whose long side is
    the model's box, as the faces model's drawings are fitted."""
    buf = io.BytesIO()
    im.save(buf, "PNG")
    k = S.BOX / max(im.size)
    lines = lineart.trace_image(buf.getvalue(), (0.0, 0.0, im.width * k, im.height * k))
    return [np.asarray(line, dtype=np.float64) for line in lines]


def fit_rows(lines: list[np.ndarray], max_rows: int) -> tuple[list[np.ndarray], int]:
    """The strokes the model can read: after model.sample's simplification (SIMPLIFY in the box)
    a drawing has at most max_rows points, so the shortest strokes go until it fits. Returns the
    kept strokes (as given, unsimplified) and how many went."""
    sizes = [len(p) for p in S.simplify(lines, SIMPLIFY)]
    order = sorted(range(len(lines)), key=lambda i: -length(lines[i]))
    keep, rows = [], 0
    for i in order:
        if rows + sizes[i] <= max_rows:
            keep.append(i)
            rows += sizes[i]
    kept = sorted(keep)  # in the trace's own order
    return [lines[i] for i in kept], len(lines) - len(kept)


def read(judge: SketchClassifier, sketches: Sequence[Sequence[np.ndarray]]) -> list[str]:
    """What a judge reads on each sketch (rasterised as it was trained)."""
    return [
        judge.cfg.classes[p] for p in judge.predict(rasterize_all(sketches, judge.cfg.raster_size))
    ]


def refine(
    ckpt: Checkpoint,
    library: SketchLibrary | None,
    lines: list[np.ndarray],
    strength: float,
    seed: int,
    conditions: dict[str, str],
) -> list[np.ndarray]:
    """One `refine` of the strokes, at the model's shipped Variety."""
    req = SketchRequest(
        mode="refine",
        strokes=lines,
        conditions=conditions,
        temperature=ckpt.sample.temperature,
        seed=seed,
        strength=strength,
    )
    return sample(ckpt, req, library)[0]


def share(hits: Sequence[bool]) -> str:
    """A read-back share with its count, or "-" for no drawings."""
    return f"{np.mean(hits):.0%} ({sum(hits)}/{len(hits)})" if hits else "-"


Sketch = list[np.ndarray]
Row = tuple[str, Image.Image, list[Sketch], list[str]]  # a picture row: title, crop, cells, labels


@dataclass
class Readings:
    """What the judges read on the photos' drawings."""

    # stage -> attribute -> person -> whether each drawing reads as the photo's value
    hits: dict[str, dict[str, dict[str, list[bool]]]]
    # stage -> variant -> attribute -> the value read on each drawing
    seen: dict[str, dict[str, dict[str, list[str]]]]
    traces: dict[str, tuple[int, int, int]]  # variant -> strokes, points read, strokes dropped
    rows: list[Row]  # the picture


def load_judges(folder: Path) -> tuple[dict[str, SketchClassifier], dict[str, float]]:
    """The attribute judges found in folder/clf-ATTRIBUTE, and each one's own test accuracy."""
    judges, ceiling = {}, {}
    for a in ATTRIBUTES:
        path = folder / f"clf-{a}"
        if (path / "config.json").is_file():
            judges[a], own = load_classifier(path)
            ceiling[a] = float(own["test"])
    return judges, ceiling


def measure_photos(
    ckpt: Checkpoint,
    library: SketchLibrary | None,
    judges: dict[str, SketchClassifier],
    photos: Sequence[Photo],
    seeds: int,
) -> Readings:
    """Trace each photo variant, refine the trace at each strength, seed and setting, and read
    back every drawing."""
    out = Readings({}, {}, {}, [])

    def judge(stage: str, photo: Photo, sketches: list[Sketch]) -> None:
        for a, clf in judges.items():
            got = read(clf, sketches)
            out.seen.setdefault(stage, {}).setdefault(photo.name, {})[a] = got
            if a in photo.truth:
                by_person = out.hits.setdefault(stage, {}).setdefault(a, {})
                by_person.setdefault(photo.person, []).extend(g == photo.truth[a] for g in got)

    for photo in photos:
        im = crop(photo)
        lines = trace(im)
        readable, dropped = fit_rows(lines, ckpt.config.max_seq_len)
        points = sum(len(p) for p in S.simplify(readable, SIMPLIFY))
        out.traces[photo.name] = (len(lines), points, dropped)
        judge("traced strokes", photo, [lines])
        for setting, attrs in SETTINGS[: len(SETTINGS) if photo.given else 1]:
            conditions = {a: photo.truth[a] for a in attrs}
            cells: list[Sketch] = [[], lines]
            labels = ["photo", "trace"]
            for strength in STRENGTHS:
                drawn = [
                    refine(ckpt, library, readable, strength, s, conditions) for s in range(seeds)
                ]
                judge(f"refine {strength:g}, {setting}", photo, drawn)
                cells += drawn[:GRID_SEEDS]
                labels += [
                    f"strength {strength:g} seed {s}" for s in range(len(drawn[:GRID_SEEDS]))
                ]
            told = f" ({', '.join(conditions.values())})" if conditions else ""
            out.rows.append((f"{photo.name}: {setting}{told}", im, cells, labels))
        print(f"done {photo.name}", file=sys.stderr)
    return out


def measure_reference(
    ckpt: Checkpoint,
    library: SketchLibrary | None,
    judges: dict[str, SketchClassifier],
    faces: PreparedData,
    n: int,
) -> dict[str, dict[str, list[bool]]]:
    """The same refine on the first n held-out procedural faces of the judges' test split, one
    seed each, with each setting's conditions and with all four: stage -> attribute -> hits."""
    hits: dict[str, dict[str, list[bool]]] = {}
    for k, i in enumerate(int(i) for i in faces.indices("test")[:n]):
        truth = labels_of(faces, i)
        lines = S.stroke3_to_polylines(faces.sketch(i))
        drawings: list[tuple[str, Sketch]] = [("the procedural drawing", lines)]
        for setting, attrs in (*SETTINGS, ALL_GIVEN):
            conditions = {a: truth[a] for a in attrs}
            drawings += [
                (f"refine {st:g}, {setting}", refine(ckpt, library, lines, st, k, conditions))
                for st in STRENGTHS
            ]
        for stage, drawn in drawings:
            for a, clf in judges.items():
                ok = read(clf, [drawn])[0] == truth[a]
                hits.setdefault(stage, {}).setdefault(a, []).append(ok)
    return hits


def print_tables(
    photos: Sequence[Photo],
    got: Readings,
    reference: dict[str, dict[str, list[bool]]],
    judges: Sequence[str],
    ceiling: dict[str, float],
) -> None:
    """The Markdown tables: the traces, the read-back per photo, the procedural reference, and
    what was read on each variant."""
    people = list(dict.fromkeys(p.person for p in photos))
    print("Traced strokes (strokes, points after the model's simplification, strokes dropped):\n")
    print("| variant | strokes | points read | dropped |\n|---|---|---|---|")
    for name, (n, points, dropped) in got.traces.items():
        print(f"| {name} | {n} | {points} | {dropped} |")

    columns = [
        (a, person)
        for a in ATTRIBUTES
        if a in judges
        for person in people
        if any(a in p.truth for p in photos if p.person == person)
    ]
    print(
        "\nRead back: the share of drawings whose judged attribute is the photo's "
        "(variants of a photo together; the trace is one drawing a variant):\n"
    )
    print("| drawing | " + " | ".join(f"{a}: {person}" for a, person in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for stage, by_attribute in got.hits.items():
        shares = [share(by_attribute.get(a, {}).get(person, [])) for a, person in columns]
        print(f"| {stage} | " + " | ".join(shares) + " |")
    print(
        "| ceiling: the judge's own test accuracy (procedural faces) | "
        + " | ".join(f"{ceiling[a]:.1%}" for a, _ in columns)
        + " |"
    )
    if reference:
        n = len(reference["the procedural drawing"][judges[0]])
        print(
            f"\nThe same judges on {n} held-out procedural faces (the judges' test split), drawn"
            " and refined the same way (one seed each):\n"
        )
        print("| drawing | " + " | ".join(judges) + " |\n" + "|---" * (len(judges) + 1) + "|")
        for stage, hits in reference.items():
            print(f"| {stage} | " + " | ".join(share(hits[a]) for a in judges) + " |")

    print("\nWhat the judges read (most read value, and its share), per variant:\n")
    print("| drawing | variant | " + " | ".join(judges) + " |")
    print("|---" * (len(judges) + 2) + "|")
    for stage, by_variant in got.seen.items():
        for name, values in by_variant.items():
            most = [Counter(values[a]).most_common(1)[0] for a in judges]
            read_as = [f"{v} {c}/{len(values[a])}" for (v, c), a in zip(most, judges)]
            print(f"| {stage} | {name} | " + " | ".join(read_as) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=REPO / "model" / "weights" / "faces")
    ap.add_argument(
        "--judges", type=Path, default=Path("runs"), help="folder holding clf-gender, clf-view"
    )
    ap.add_argument("--faces", type=Path, help="the judges' data (data/faces-seed1.npz)")
    ap.add_argument("--seeds", type=int, default=SEEDS, help="refine seeds per strength")
    ap.add_argument("--reference", type=int, default=REFERENCE, help="procedural faces refined")
    ap.add_argument("--grid", type=Path, default=REPO / "docs" / "trace-faces.png")
    args = ap.parse_args()
    seeds = cli.quick(args.seeds, 1, "--seeds")
    photos = PHOTOS[: cli.quick(len(PHOTOS), 2, "photo variants")]
    n_reference = cli.quick(args.reference, 4, "--reference")

    judges, ceiling = load_judges(args.judges)
    if not {"gender", "view"} <= set(judges):
        sys.exit(f"no gender and view judges in {args.judges}: train them (docs/trace.md)")
    started = time.perf_counter()
    ckpt = load(args.checkpoint)
    library = open_library(args.checkpoint, ckpt)
    got = measure_photos(ckpt, library, judges, photos, seeds)
    reference = {}
    if args.faces is not None and n_reference > 0:
        faces = PreparedData.load(args.faces)
        reference = measure_reference(ckpt, library, judges, faces, n_reference)
    seconds = time.perf_counter() - started

    people = list(dict.fromkeys(p.person for p in photos))
    print(
        f"{len(people)} photos ({', '.join(people)}), {len(photos)} variants "
        f"({'; '.join(p.name for p in photos)}); refine at Variety {ckpt.sample.temperature:g}, "
        f"{seeds} seed(s) a strength; {seconds:.0f} s.\n"
    )
    print_tables(photos, got, reference, list(judges), ceiling)
    write_grid(args.grid, got.rows)
    shown = args.grid.relative_to(REPO) if args.grid.is_relative_to(REPO) else args.grid
    print(f"\nWrote {shown}: per row the crop, its trace, strength 0, 0.5, 1 ({GRID_SEEDS} seeds).")


def write_grid(path: Path, rows: list[Row]) -> None:
    """The rows as lab.render grids, each with the crop pasted in its first cell and its name
    above it."""
    title = 18
    sheets = []
    for name, im, cells, labels in rows:
        g = grid_png(cells, labels, columns=len(cells)).convert("RGB")
        k = (CELL - 8) / max(im.size)
        small = im.convert("RGB").resize(
            (round(im.width * k), round(im.height * k)), Image.Resampling.LANCZOS
        )
        g.paste(small, ((CELL - small.width) // 2, (CELL - small.height) // 2))
        sheet = Image.new("RGB", (g.width, g.height + title), (255, 255, 255))
        sheet.paste(g, (0, title))
        ImageDraw.Draw(sheet).text((4, 3), name, fill=(0, 0, 0))
        sheets.append(sheet)
    width = max(s.width for s in sheets)
    out = Image.new("RGB", (width, sum(s.height for s in sheets)), (255, 255, 255))
    y = 0
    for s in sheets:
        out.paste(s, (0, y))
        y += s.height
    path.parent.mkdir(parents=True, exist_ok=True)
    out.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )


if __name__ == "__main__":
    main()
