"""What the library does for what an artist is shown, judged by a classifier that never saw it.

For each category: `generate` from the category alone and `complete` from the first half of the
strokes of held-out drawings, with the library and with the network alone, plus the held-out
drawings themselves as the ceiling; and how far each generated drawing lies from the library
drawing it was varied from (so "never a verbatim copy" is a number).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lab.classifier import load_classifier
from lab.data import PreparedData
from model import strokes as S
from model.checkpoint import Checkpoint
from model.library.suggest import SketchLibrary, distance
from model.sample import DoneEvent, SketchRequest, stream

COLUMNS = ("real", "generate library", "generate network", "complete library", "complete network")


def _held_out(data: PreparedData, category: str, limit: int) -> list[int]:
    """Up to `limit` valid and test drawings of a category with at least two strokes."""
    keep = [
        int(i)
        for i in data.of_category(category, held_out=True)
        if (data.sketch(int(i))[:, 2] == 1).sum() >= 2
    ]
    return keep[:limit]


def _drawn(
    ckpt: Checkpoint, req: SketchRequest, library: SketchLibrary | None
) -> list[tuple[list[np.ndarray], str]]:
    done = sorted(
        (e for e in stream(ckpt, req, library) if isinstance(e, DoneEvent)), key=lambda e: e.sample
    )
    return [(e.strokes, e.source) for e in done]


def library_report(
    ckpt: Checkpoint,
    library: SketchLibrary,
    classifier_dir: str | Path,
    data: PreparedData,
    categories: Sequence[str],
    per_category: int,
    temperature: float,
    seed: int = 0,
) -> dict[str, Any]:
    """Recognised shares per category and mode, with and without the library, and distances."""
    clf, own = load_classifier(classifier_dir)
    recognised = clf.recognised

    rows: dict[str, dict[str, list[bool]]] = {}
    distances: list[float] = []
    for k, name in enumerate(categories):
        row = rows.setdefault(name, {})
        held = _held_out(data, name, per_category)
        row["real"] = recognised([S.stroke3_to_polylines(data.sketch(i)) for i in held], name)
        for use in (True, False):
            tag = "library" if use else "network"
            req = SketchRequest(
                mode="generate",
                conditions={"category": name},
                n=per_category,
                temperature=temperature,
                seed=seed + k,
                use_library=use,
            )
            made = _drawn(ckpt, req, library)
            row[f"generate {tag}"] = recognised([s for s, _ in made], name)
            if use:
                for strokes, source in made:
                    if source in library.library.ids:
                        original = library.library.polylines(library.library.ids.index(source))
                        distances.append(distance(strokes, original))
            completed = []
            for j, i in enumerate(held):
                lines = S.stroke3_to_polylines(data.sketch(i))
                half = lines[: len(lines) // 2]
                req = SketchRequest(
                    mode="complete",
                    strokes=half,
                    conditions={"category": name},
                    n=1,
                    temperature=temperature,
                    seed=seed + 1000 * k + j,
                    use_library=use,
                )
                completed.append([*half, *_drawn(ckpt, req, library)[0][0]])
            row[f"complete {tag}"] = recognised(completed, name)
    totals = {
        c: float(np.mean([x for r in rows.values() for x in r[c]] or [np.nan])) for c in COLUMNS
    }
    counts = {c: sum(len(r[c]) for r in rows.values()) for c in COLUMNS}
    return {
        "per_category": {
            n: {c: float(np.mean(r[c])) if r[c] else None for c in COLUMNS} for n, r in rows.items()
        },
        "mean": totals,
        "counts": counts,
        "distance_to_source": {
            "mean": float(np.mean(distances)),
            "min": float(np.min(distances)),
            "n": len(distances),
        },
        "classifier_test_accuracy": own.get("test"),
        "classes": len(clf.cfg.classes),
        "library_drawings": len(library),
    }


def print_library_report(report: dict[str, Any]) -> None:
    print("\n| category | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS))
    for name, row in report["per_category"].items():
        cells = ["-" if row[c] is None else f"{row[c]:.0%}" for c in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    cells = [f"**{report['mean'][c]:.1%}** ({report['counts'][c]})" for c in COLUMNS]
    print("| all | " + " | ".join(cells) + " |")
    d = report["distance_to_source"]
    print(
        f"\nlibrary of {report['library_drawings']} drawings; judge: {report['classes']} "
        f"classes, its own test accuracy {report['classifier_test_accuracy']:.1%}\n"
        f"generated drawings lie {d['mean']:.1%} of their size from their source on average "
        f"(least {d['min']:.1%}; symmetric mean nearest-point distance, {d['n']} drawings)"
    )
