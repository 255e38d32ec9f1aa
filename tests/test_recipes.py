"""The one-shot recipe on the CPU with a tiny budget: stops, saves, evaluates, exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.numpy import load_file

from lab.recipes import main as recipe_main
from model import checkpoint, cli

from .test_train_eval import prepared  # noqa: F401  (the module-scoped data fixture)


def test_faces_recipe_stops_at_its_budget_then_evaluates_and_exports(tmp_path, monkeypatch):
    """A 6-second training share stops the run, saves, evaluates and writes an fp16 export."""
    monkeypatch.setenv(cli.QUICK_ENV, "1")  # children: 130 faces, 2 classifier steps, 1 sample
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "recipe"
    recipe_main(["faces", "--out", str(out), "--budget-minutes", "0.1", "--quiet"])
    model = checkpoint.load(out / "model")
    assert 1 <= model.step < 10**9  # the budget, not the step count, ended training
    assert model.meta["throughput"]["sketches_per_s"] > 0
    assert 0 < model.meta["throughput"]["data_share"] < 1  # batching timed apart from the steps
    report = json.loads((out / "report.json").read_text())
    assert set(report["attributes"]) == {"gender", "emotion", "style", "view"}
    assert report["recipe"]["steps"] == model.step
    weights = load_file(str(out / "export" / checkpoint.WEIGHTS))
    assert {str(w.dtype) for w in weights.values() if w.dtype.kind == "f"} == {"float16"}
    assert not (out / "export" / checkpoint.OPTIMIZER).exists()


def test_gpu_without_cuda_is_a_one_line_error(tmp_path, capsys):
    """--gpu on a machine without CUDA says so instead of training on the CPU."""
    if cli_has_cuda():
        pytest.skip("this machine has CUDA")
    assert (
        cli.run(recipe_main, "python -m lab.recipes", ["faces", "--gpu", "--out", str(tmp_path)])
        == 2
    )
    assert "no CUDA GPU here" in capsys.readouterr().err


def cli_has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_objects_recipe_trains_on_quickdraw_files_that_are_present(
    prepared,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """objects reads the category files from --from, trains within the budget and exports."""
    monkeypatch.setenv(cli.QUICK_ENV, "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "objects"
    src = str(Path(prepared).parent)
    args = ["objects", "--from", src, "--categories", "circle,square", "--out", str(out)]
    recipe_main([*args, "--budget-minutes", "0.05", "--quiet"])
    report = json.loads((out / "report.json").read_text())
    assert set(report["recognisability"]["per_category"]) == {"circle", "square"}
    assert checkpoint.load(out / "export").step == report["recipe"]["steps"] >= 1
