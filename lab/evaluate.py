"""Evaluate: python -m lab.evaluate --checkpoint DIR --data PREPARED [--classifier DIR]

Prints markdown tables: l_r and l_kl per split, normalised as magenta does (l_r divided by
N_max), with posterior means and the pen loss over real points only (magenta's validation also
counts the end rows; docs/experiments.md, Data conventions); l_r per category on the test split;
for conditional models, how often a separately trained sketch classifier recognises the category
that was asked for (beside the classifier's own test accuracy); and a diversity figure, the mean
pairwise perceptual-hash distance of 10 samples drawn for the same input.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import torch
from PIL import Image

from model import cli
from model import strokes as S
from model.checkpoint import Checkpoint, load
from model.library import SketchLibrary, open_library
from model.losses import reconstruction_loss
from model.raster import rasterize_all
from model.sample import SketchRequest, sample

from .batches import Batch, Batcher
from .classifier import load_classifier
from .data import PreparedData
from .evaluate_library import library_report, print_library_report
from .validation import evaluate_losses, to_inputs

# The twenty categories of the AI-Sketcher slides (QuickDraw has no "ball": soccer ball instead).
SLIDE_CATEGORIES = (
    "face",
    "crab",
    "rabbit",
    "pig",
    "bird",
    "cat",
    "dolphin",
    "door",
    "flower",
    "eye",
    "pencil",
    "table",
    "purse",
    "cup",
    "shorts",
    "apple",
    "tooth",
    "spoon",
    "lion",
    "soccer ball",
)


@torch.no_grad()
def sketch_l_r(ckpt: Checkpoint, batch: Batch, n_max: int) -> list[float]:
    """Each sketch's l_r in a batch: posterior means, pen loss over real points, / n_max."""
    model = ckpt.model
    inp = to_inputs(batch, ckpt.device)
    lat = model.encode(inp, sample=False)
    params = model.teacher_force(inp.strokes[:, :-1], lat.z, inp.conditions)
    return reconstruction_loss(
        params, inp.strokes[:, 1:], inp.lengths, n_max, mask_pen=True, per_sketch=True
    ).tolist()


PRIOR_DRAWS = 4  # z_s draws per sketch for the generate-path l_r


def held_out_batches(ckpt: Checkpoint, data: PreparedData, split: str) -> Batcher:
    """Unaugmented batches of a split, fed as the checkpoint was trained (its scale, vocab)."""
    cfg = ckpt.config
    return Batcher(
        data,
        split,
        100,
        max_len=cfg.max_seq_len,
        raster_size=cfg.raster_size if cfg.needs_raster else 0,
        scale=ckpt.scale_factor,
        vocab=ckpt.vocab,
    )


@torch.no_grad()
def l_r_paths(ckpt: Checkpoint, data: PreparedData, split: str = "test") -> dict[str, float]:
    """Mean l_r of a split by what the decoder is given, so a side channel cannot flatter it:

    posterior: the encoders' means, as reported in training (z_s, z_r, ad, c);
    no sketch channel: the same with z_r and ad zeroed (only z_s and c carry the drawing);
    generate path: z_s drawn from the prior, z_r = ad = 0, the drawing's own conditions, which
    is what `generate` gives the decoder (PRIOR_DRAWS draws per sketch, seeded).
    """
    model, cfg = ckpt.model, ckpt.config
    batcher = held_out_batches(ckpt, data, split)
    sums = {"posterior": 0.0, "no sketch channel": 0.0, "generate path": 0.0}
    count = 0
    g = torch.Generator(device="cpu").manual_seed(0)
    sketch = slice(cfg.z_size, model.z_dim - model.cond_dim)  # z_r and ad
    for batch in batcher.iterate_once():
        inp = to_inputs(batch, ckpt.device)
        z = model.encode(inp, sample=False).z
        blind = z.clone()
        blind[:, sketch] = 0.0
        n = len(batch.lengths)
        prior = 0.0
        for _ in range(PRIOR_DRAWS):
            noise = torch.randn(n, cfg.z_size + cfg.influence_size, generator=g).to(z.device)
            prior += _mean_l_r(ckpt, inp, model.prior_z(inp.conditions, noise)) / PRIOR_DRAWS
        sums["posterior"] += _mean_l_r(ckpt, inp, z) * n
        sums["no sketch channel"] += _mean_l_r(ckpt, inp, blind) * n
        sums["generate path"] += prior * n
        count += n
    return {k: v / max(count, 1) for k, v in sums.items()}


def _mean_l_r(ckpt: Checkpoint, inp: Any, z: torch.Tensor) -> float:
    params = ckpt.model.teacher_force(inp.strokes[:, :-1], z, inp.conditions)
    return float(
        reconstruction_loss(
            params, inp.strokes[:, 1:], inp.lengths, ckpt.config.max_seq_len, mask_pen=True
        )
    )


@torch.no_grad()
def per_category_l_r(
    ckpt: Checkpoint, data: PreparedData, split: str = "test"
) -> dict[str, tuple[float, int]]:
    """Mean l_r and sketch count per category (posterior means, real points only)."""
    cfg = ckpt.config
    ckpt.model.eval()
    column = data.attributes.index("category")
    names = data.vocab.values["category"]
    sums: dict[str, list[float]] = defaultdict(list)
    batcher = held_out_batches(ckpt, data, split)
    for batch in batcher.iterate_once():
        for i, value in zip(batch.indices.tolist(), sketch_l_r(ckpt, batch, cfg.max_seq_len)):
            label = int(data.labels[i, column])
            sums[names[label] if label >= 0 else "unknown"].append(value)
    return {k: (float(np.mean(v)), len(v)) for k, v in sums.items()}


def recognisability(
    ckpt: Checkpoint,
    classifier_dir: str | Path,
    categories: list[str],
    per_category: int,
    temperature: float,
    seed: int = 0,
) -> dict[str, Any]:
    """Share of sketches drawn for each category that the classifier labels as that category."""
    clf, own = load_classifier(classifier_dir)
    hits: dict[str, float] = {}
    for k, name in enumerate(categories):
        drawn = sample(
            ckpt,
            SketchRequest(
                conditions={clf.cfg.attribute: name},
                n=per_category,
                temperature=temperature,
                seed=seed + k,
            ),
        )
        hits[name] = float(np.mean(clf.recognised(drawn, name)))
    return {
        "per_category": hits,
        "mean": float(np.mean(list(hits.values()))),
        "classifier_test_accuracy": own.get("test"),
        "classes": len(clf.cfg.classes),
    }


def labels_of(data: PreparedData, i: int) -> dict[str, str]:
    """A prepared sketch's labels as conditions; unknown ones are left out."""
    return {
        a: data.vocab.values[a][int(data.labels[i, j])]
        for j, a in enumerate(data.attributes)
        if data.labels[i, j] >= 0
    }


def attribute_recognition(
    ckpt: Checkpoint,
    classifiers: dict[str, str | Path],
    n: int,
    temperature: float,
    seed: int = 0,
    data: PreparedData | None = None,
    library: SketchLibrary | None = None,
) -> dict[str, Any]:
    """Per attribute, the share of sketches drawn from a full random set of conditions whose
    attribute an independently trained classifier reads back (the face model's target).

    With `data`, also the share read back from refined (reconstructed) test sketches that carry
    every attribute and that the model can read whole (at most its max_seq_len rows): how much
    of the gap is the drawing itself rather than the conditioning.
    """
    loaded = {a: load_classifier(d) for a, d in classifiers.items()}
    rng = np.random.default_rng(seed)
    vocab = ckpt.vocab
    asked = [{a: str(rng.choice(vocab.values[a])) for a in vocab.attributes} for _ in range(n)]
    drawn = [
        sample(ckpt, SketchRequest(conditions=c, temperature=temperature, seed=seed + k), library)[
            0
        ]
        for k, c in enumerate(asked)
    ]
    refined, truth = [], []
    if data is not None:
        every = ((int(i), labels_of(data, int(i))) for i in data.indices("test"))
        readable = ckpt.config.max_seq_len  # a longer sketch is more than the model reads
        labelled = [
            (i, labels)
            for i, labels in every
            if set(classifiers) <= set(labels) and len(data.sketch(i)) <= readable
        ][:n]
        for k, (i, labels) in enumerate(labelled):
            given = S.stroke3_to_polylines(data.sketch(i))
            refined += sample(
                ckpt,
                SketchRequest(
                    mode="refine",
                    strokes=given,
                    conditions=labels if ckpt.config.use_condition else {},
                    temperature=temperature,
                    seed=seed + k,
                ),
            )
            truth.append(labels)

    def read_back(clf: Any, sketches: list, wanted: list[dict[str, str]], attribute: str) -> float:
        got = [
            clf.cfg.classes[p] for p in clf.predict(rasterize_all(sketches, clf.cfg.raster_size))
        ]
        return float(np.mean([g == w[attribute] for g, w in zip(got, wanted)]))

    report: dict[str, Any] = {}
    for attribute, (clf, own) in loaded.items():
        report[attribute] = {
            "recognised": read_back(clf, drawn, asked, attribute),
            "classifier_test_accuracy": own.get("test"),
            "chance": 1.0 / len(clf.cfg.classes),
        }
        if refined:
            report[attribute]["refined"] = read_back(clf, refined, truth, attribute)
    return report


def phashes(sketches: Any, size: int = 64) -> list[imagehash.ImageHash]:
    """64-bit perceptual hashes of sketches rasterised at size x size pixels."""
    return [
        imagehash.phash(Image.fromarray((255 - img * 255).astype(np.uint8)))
        for img in rasterize_all(sketches, size)
    ]


def phash_diversity(
    ckpt: Checkpoint,
    data: PreparedData,
    inputs: int,
    temperature: float,
    samples: int = 10,
    seed: int = 0,
) -> float:
    """Mean pairwise phash distance (bits of 64) of `samples` reconstructions per test input."""
    idx = data.indices("test")[:inputs]
    column = data.attributes.index("category") if "category" in data.attributes else None
    distances = []
    for k, i in enumerate(idx):
        polylines = S.stroke3_to_polylines(data.sketch(int(i)))
        conditions = {}
        if column is not None and ckpt.config.use_condition and data.labels[i, column] >= 0:
            name = data.vocab.values["category"][int(data.labels[i, column])]
            if name in ckpt.vocab.values.get("category", ()):
                conditions["category"] = name
        drawn = sample(
            ckpt,
            SketchRequest(
                mode="refine",
                strokes=polylines,
                conditions=conditions,
                n=samples,
                temperature=temperature,
                seed=seed + k,
                sample_latent=True,
            ),
        )
        hashes = phashes(drawn)
        distances += [a - b for a, b in itertools.combinations(hashes, 2)]
    return float(np.mean(distances)) if distances else float("nan")


def evaluate(
    ckpt: Checkpoint,
    data: PreparedData,
    classifier: str | None,
    categories: list[str],
    per_category: int,
    diversity_inputs: int,
    temperature: float,
) -> dict[str, Any]:
    """Every figure this module measures, as a dict (what --json writes)."""
    report: dict[str, Any] = {
        "checkpoint": ckpt.meta.get("description", ""),
        "preset": ckpt.config.preset,
        "step": ckpt.step,
    }
    report["splits"] = {
        split: evaluate_losses(
            ckpt.model, data, split, ckpt.device, scale=ckpt.scale_factor, vocab=ckpt.vocab
        )
        for split in ("valid", "test")
        if len(data.indices(split))
    }
    if len(data.indices("test")):
        report["test_l_r_paths"] = l_r_paths(ckpt, data, "test")
    if "category" in data.attributes:
        report["test_l_r_per_category"] = per_category_l_r(ckpt, data, "test")
    if classifier and ckpt.config.use_condition and categories:
        report["recognisability"] = recognisability(
            ckpt, classifier, categories, per_category, temperature
        )
    if diversity_inputs:
        report["phash_diversity"] = phash_diversity(ckpt, data, diversity_inputs, temperature)
    return report


def print_report(report: dict[str, Any], categories: list[str]) -> None:
    print(f"\n{report['preset']} at step {report['step']}: {report['checkpoint']}\n")
    print("| split | l_r | l_kl | l_z | l_a |\n|---|---|---|---|---|")
    for split, t in report["splits"].items():
        print(f"| {split} | {t['l_r']:.4f} | {t['l_kl']:.4f} | {t['l_z']:.4f} | {t['l_a']:.4f} |")
    if "test_l_r_paths" in report:
        paths = report["test_l_r_paths"]
        print("\n| test l_r given | " + " | ".join(paths) + " |\n|---|" + "---|" * len(paths))
        print("| the decoder | " + " | ".join(f"{v:.4f}" for v in paths.values()) + " |")
    per_cat = report.get("test_l_r_per_category", {})
    rec = report.get("recognisability", {}).get("per_category", {})
    shown = [c for c in categories if c in per_cat or c in rec]
    if shown:
        print("\n| category | test l_r | test sketches | recognised |\n|---|---|---|---|")
        for c in shown:
            l_r, n = per_cat.get(c, (float("nan"), 0))
            r = f"{rec[c]:.0%}" if c in rec else "-"
            print(f"| {c} | {l_r:.4f} | {n} | {r} |")
    if "recognisability" in report:
        r = report["recognisability"]
        print(
            f"\nrecognised: {r['mean']:.1%} of generated sketches (classifier: {r['classes']} "
            f"classes, its own test accuracy {r['classifier_test_accuracy']:.1%}, chance "
            f"{1 / r['classes']:.1%})"
        )
    for attribute, r in report.get("attributes", {}).items():
        refined = f"; {r['refined']:.1%} of refined test sketches" if "refined" in r else ""
        print(
            f"{attribute}: {r['recognised']:.1%} of sketches drawn from random full conditions "
            f"read back{refined} (classifier test accuracy "
            f"{r['classifier_test_accuracy']:.1%}, chance {r['chance']:.1%})"
        )
    if "phash_diversity" in report:
        print(
            f"diversity: mean pairwise phash distance {report['phash_diversity']:.2f} bits "
            "of 64 (10 samples per input)"
        )


PROG = "python -m lab.evaluate"


def main(argv: list[str] | None = None) -> None:
    """Evaluate from the command line; inputs are checked before the long measurements."""
    ap = cli.parser(
        PROG,
        "Measure a checkpoint on prepared data and print markdown tables.",
        epilog="example:\n  python -m lab.evaluate --checkpoint runs/objects "
        "--data data/objects.npz --classifier runs/clf20\n\n" + __doc__.split("\n\n", 1)[1],
    )
    io = ap.add_argument_group("what to measure")
    io.add_argument(
        "--checkpoint",
        required=True,
        metavar="DIR",
        help="checkpoint folder (from lab.train or model/weights/NAME)",
    )
    io.add_argument(
        "--data", nargs="+", required=True, metavar="NPZ", help="prepared .npz file(s), merged"
    )
    io.add_argument("--json", metavar="FILE", help="also write the figures to this file")
    judges = ap.add_argument_group("recognition")
    judges.add_argument(
        "--classifier",
        metavar="DIR",
        help="folder written by python -m lab.classifier; without it recognition is not measured",
    )
    judges.add_argument(
        "--attribute-classifier",
        action="append",
        default=[],
        metavar="ATTRIBUTE=DIR",
        help="measure that attribute on sketches drawn "
        "from random full conditions (repeatable), e.g. emotion=runs/clf-emotion",
    )
    judges.add_argument(
        "--categories",
        metavar="A,B,...",
        help="comma-separated categories to draw (default: the slides' twenty "
        "that the model knows)",
    )
    judges.add_argument("--per-category", type=int, default=10, help="sketches drawn per category")
    judges.add_argument(
        "--diversity-inputs",
        type=int,
        default=20,
        help="test inputs for the diversity figure (0 skips it)",
    )
    judges.add_argument("--temperature", type=float, default=0.4, help="sampling temperature")
    judges.add_argument(
        "--no-library",
        action="store_true",
        help="measure the network alone even when the checkpoint has a library",
    )
    args = ap.parse_args(argv)
    args.per_category = cli.quick(args.per_category, 1, "--per-category")
    args.diversity_inputs = cli.quick(args.diversity_inputs, 1)
    pairs = {}
    for pair in args.attribute_classifier:
        attribute, sep, folder = pair.partition("=")
        if not sep or not attribute or not folder:
            ap.error(f"--attribute-classifier {pair!r}: write ATTRIBUTE=DIR")
        pairs[attribute] = folder
    if args.json:
        cli.output_file(args.json, (".json",), "--json")
    ckpt = load(args.checkpoint)
    data = PreparedData.merge([PreparedData.load(p) for p in args.data])
    for folder in [args.classifier, *pairs.values()]:
        if folder:
            load_classifier(folder)  # a wrong folder fails now, not after the long part
    unknown = sorted(set(pairs) - set(ckpt.vocab.attributes))
    if unknown:
        raise cli.CommandError(
            f"{args.checkpoint} has no condition {unknown[0]!r}; it has "
            f"{', '.join(ckpt.vocab.attributes) or 'none'}"
        )
    known = set(ckpt.vocab.values.get("category", ()))
    wanted = args.categories.split(",") if args.categories else list(SLIDE_CATEGORIES)
    if args.categories and set(wanted) - known:
        missing = sorted(set(wanted) - known)
        raise cli.CommandError(
            f"{args.checkpoint} has no category {missing[0]!r}; "
            f"--categories takes its categories, e.g. "
            f"{', '.join(sorted(known)[:5]) or '(none)'}"
        )
    categories = [c for c in wanted if c in known]
    report = evaluate(
        ckpt,
        data,
        args.classifier,
        categories,
        args.per_category,
        args.diversity_inputs,
        args.temperature,
    )
    library = None if args.no_library else open_library(args.checkpoint, ckpt)
    if pairs:
        report["attributes"] = attribute_recognition(
            ckpt, pairs, args.per_category * 10, args.temperature, data=data
        )
        if library is not None:
            report["attributes_with_library"] = attribute_recognition(
                ckpt, pairs, args.per_category * 10, args.temperature, library=library
            )
    if library is not None and args.classifier and categories:
        report["library"] = library_report(
            ckpt, library, args.classifier, data, categories, args.per_category, args.temperature
        )
    print_report(report, categories or wanted)
    if "library" in report:
        print_library_report(report["library"])
    for attribute, r in report.get("attributes_with_library", {}).items():
        print(
            f"{attribute}, with the library: {r['recognised']:.1%} of sketches drawn from "
            "random full conditions read back"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    cli.exit_with(main, PROG)
