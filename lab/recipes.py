"""One-shot recipes: data, training, evaluation and a shippable fp16 folder within a time budget.

    python -m lab.recipes faces --gpu --out runs/recipe-faces              # 9 minutes on a GPU
    python -m lab.recipes objects --gpu --from data/quickdraw --categories cat,dog,pig

`faces` generates the procedural faces on every core, trains the paper-size AI-Sketcher
(decoder 512, 20 mixture components) with bf16 autocast and cuDNN while the attribute
classifiers train on the CPU beside it, stops and saves when its share of --budget-minutes is
spent, evaluates with the classifiers and exports OUT/export (fp16, no optimiser state).
Without --gpu it runs the small sizes on the CPU, which is what the tests do.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from model import checkpoint, cli
from model.config import TrainConfig, preset

from . import distributed

PROG = "python -m lab.recipes"


@dataclass(frozen=True)
class RecipeConfig:
    """Sizes and the split of the time budget for one recipe run."""

    faces: int = 60_000  # faces generated (faces recipe)
    small: bool = False  # small network sizes (CPU) instead of the paper's
    batch_size: int = 256  # sketches/s on an H200: 891 at 256, 288 at 32 (measured)
    learning_rate: float = 1e-3
    classifier_steps: int = 600  # per attribute classifier, trained on the CPU during training
    per_category: int = 10  # evaluation sketches per attribute value group (x10 per attribute)
    reserve: float = 0.2  # share of the budget kept for evaluation and export after training
    # ...and at least this many seconds: evaluation takes about as long whatever the budget
    # (116 s for evaluation and export on an H200 with 16 cores, measured)
    reserve_seconds: float = 0.0
    eval_every: int = 1000  # steps between validation passes


GPU = RecipeConfig(reserve_seconds=150.0)
CPU = RecipeConfig(
    faces=3000, small=True, batch_size=32, classifier_steps=200, per_category=2, eval_every=200
)
FACE_ATTRIBUTES = ("gender", "emotion", "style", "view")


def _python(*args: str, threads: int) -> subprocess.Popen[str]:
    """A `python -m ...` child with its own thread count, output captured."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait(child: subprocess.Popen[str], what: str) -> str:
    out, _ = child.communicate()
    if child.returncode:
        raise cli.CommandError(f"{what} failed:\n{out[-1500:]}")
    return out


def run(
    kind: str,
    out: Path,
    cfg: RecipeConfig,
    budget_s: float,
    device_name: str,
    data_args: list[str],
    quiet: bool = False,
    categories: tuple[str, ...] = (),
) -> dict:
    """Run a recipe into `out` (data/, model/, clf-*/, export/, report.json); returns the report."""
    import torch

    from .train import pick_device, train

    started = time.perf_counter()
    cores = os.cpu_count() or 1
    device = pick_device(device_name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # the LSTMs' kernels are picked once per shape
        torch.backends.cuda.matmul.allow_tf32 = True
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data" / f"{kind}.npz"
    if kind == "faces":
        from .datasets.faces import main as faces_main

        faces_main(
            ["--n", str(cfg.faces), "--seed", "0", "--out", str(data), "--quiet"]
            + ["--workers", str(cores)]
        )
        attributes: tuple[str, ...] = FACE_ATTRIBUTES
    else:
        from .prepare import main as prepare_main

        prepare_main(["--out", str(data), "--quiet", *data_args])
        attributes = ("category",)
    print(f"data ready in {time.perf_counter() - started:.0f} s: {data}", flush=True)
    # The classifiers train on the CPU beside the GPU run (one thread each on a CPU run).
    threads = max(1, (cores - 2) // len(attributes)) if device.type == "cuda" else 1
    judges = {
        a: _python(
            "lab.classifier",
            "--data",
            str(data),
            "--attribute",
            a,
            "--steps",
            str(cfg.classifier_steps),
            "--out",
            str(out / f"clf-{a}"),
            "--quiet",
            threads=threads,
        )
        for a in attributes
    }
    model_cfg = preset("ai-sketcher", small=cfg.small)
    train_cfg = dataclasses.replace(
        TrainConfig(),
        steps=10**9,  # the budget stops the run
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        eval_every=cfg.eval_every,
        save_every=cfg.eval_every,
    )
    reserve = max(budget_s * cfg.reserve, cfg.reserve_seconds)
    left = budget_s - reserve - (time.perf_counter() - started)
    ctx = distributed.Context(device=device)
    model_dir = train(
        model_cfg,
        train_cfg,
        [str(data)],
        out / "model",
        device,
        f"lab.recipes {kind}",
        quiet,
        ctx,
        budget_seconds=max(left, 1.0),
    )
    for a, child in judges.items():
        _wait(child, f"the {a} classifier")
    report_path = out / "report.json"
    evaluate = ["lab.evaluate", "--checkpoint", str(model_dir), "--data", str(data)]
    evaluate += ["--json", str(report_path), "--per-category", str(cfg.per_category)]
    evaluate += ["--diversity-inputs", str(cfg.per_category)]
    if kind == "faces":
        evaluate += ["--categories", "face"]
        for a in attributes:
            evaluate += ["--attribute-classifier", f"{a}={out / f'clf-{a}'}"]
    else:
        evaluate += ["--classifier", str(out / "clf-category")]
        evaluate += ["--categories", ",".join(categories)] if categories else []
    print(_wait(_python(*evaluate, threads=cores), "evaluation").rstrip(), flush=True)
    checkpoint.export(model_dir, out / "export", precision="float16")
    report = json.loads(report_path.read_text())
    ckpt_meta = checkpoint.read_config(model_dir)["meta"]
    report["recipe"] = {
        "kind": kind,
        "device": str(device),
        "steps": ckpt_meta.get("trained_steps"),
        "throughput": ckpt_meta.get("throughput"),
        "budget_seconds": budget_s,
        "seconds": round(time.perf_counter() - started, 1),
        "within_budget": time.perf_counter() - started <= budget_s,
        "config": dataclasses.asdict(cfg),
    }
    report_path.write_text(json.dumps(report, indent=2))
    if not report["recipe"]["within_budget"]:
        print(
            f"note: evaluation and export took longer than the {reserve:.0f} s of the budget "
            "kept for them; the model itself stopped training on time",
            file=sys.stderr,
        )
    print(
        f"recipe {kind}: {report['recipe']['steps']} steps, "
        f"{report['recipe']['seconds']:.0f} s of {budget_s:.0f}; shippable fp16 model in "
        f"{out / 'export'}; report in {report_path}"
    )
    return report


def main(argv: list[str] | None = None) -> None:
    """Run a recipe from the command line; mistakes are one-line errors from cli.run."""
    ap = cli.parser(
        PROG,
        "Generate or prepare data, train, evaluate and export in one command, within a budget.",
        epilog="examples:\n  python -m lab.recipes faces --gpu --out runs/recipe-faces\n"
        "  python -m lab.recipes objects --gpu --from data/quickdraw --categories cat,dog",
    )
    ap.add_argument("kind", choices=("faces", "objects"), help="what to train")
    ap.add_argument("--out", default="runs/recipe", metavar="DIR", help="folder for everything")
    ap.add_argument("--gpu", action="store_true", help="paper sizes on CUDA (else small, CPU)")
    ap.add_argument("--budget-minutes", type=float, default=9.0, help="wall time for it all")
    ap.add_argument("--faces", type=int, help="faces to generate (default: 60000, CPU 3000)")
    ap.add_argument("--from", dest="source", metavar="DIR", help="objects: QuickDraw files")
    ap.add_argument("--categories", metavar="A,B,...", help="objects: categories to train")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.budget_minutes <= 0:
        ap.error(f"--budget-minutes must be positive; got {args.budget_minutes}")
    cfg = GPU if args.gpu else CPU
    if args.faces is not None:
        if args.faces < 10:
            ap.error(f"--faces must be at least 10; got {args.faces}")
        cfg = dataclasses.replace(cfg, faces=args.faces)
    data_args: list[str] = []
    categories: tuple[str, ...] = ()
    if args.kind == "objects":
        if not args.source or not args.categories:
            ap.error("objects needs --from DIR (QuickDraw category files) and --categories")
        categories = tuple(c.strip() for c in args.categories.split(",") if c.strip())
        data_args = ["--quickdraw", *categories, "--from", args.source]
    if args.gpu and not _cuda():
        raise cli.CommandError("--gpu: no CUDA GPU here; leave --gpu out to run on the CPU")
    out = cli.output_dir(args.out)
    run(
        args.kind,
        out,
        cfg,
        args.budget_minutes * 60.0,
        "cuda" if args.gpu else "cpu",
        data_args,
        args.quiet,
        categories,
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    cli.exit_with(main, PROG)
