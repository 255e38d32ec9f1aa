"""Training, resuming, the classifier and evaluation, end to end on a tiny prepared data set."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from lab.classifier import load_classifier
from lab.classifier import main as classifier_main
from lab.data import PreparedData
from lab.evaluate import main as evaluate_main
from lab.prepare import main as prepare_main
from lab.train import main as train_main
from model import checkpoint
from model.cli import CommandError
from model.sample import SketchRequest, sample

from .sketches import circle, square


def drawing(kind: str, rng: np.random.Generator) -> list[list[list[int]]]:
    """A QuickDraw simplified drawing: strokes as [[xs], [ys]] in the 0-255 box."""
    shape = (
        circle(r=60 + 30 * rng.random(), n=12)
        if kind == "circle"
        else square(20 + 20 * rng.random(), 30, 120 + 60 * rng.random())
    )
    xs, ys = np.clip(shape + rng.normal(0, 2, shape.shape), 0, 255).round().astype(int).T
    return [[xs.tolist(), ys.tolist()]]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for kind in ("circle", "square"):
        lines = [
            json.dumps(
                {
                    "word": kind,
                    "key_id": f"{kind}{i}",
                    "recognized": True,
                    "drawing": drawing(kind, rng),
                }
            )
            for i in range(30)
        ]
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n")
    out = folder / "shapes.npz"
    assert prepare_main(["--out", str(out), "--quiet", str(folder)]) == 0
    return str(out)


def test_train_writes_a_checkpoint_and_resumes_where_it_stopped(prepared, tmp_path, capsys):
    """lab.train saves a loadable checkpoint; running it again with more steps resumes."""
    out = tmp_path / "run"
    args = [
        "--config",
        "ai-sketcher",
        "--small",
        "--data",
        prepared,
        "--out",
        str(out),
        "--batch-size",
        "8",
        "--quiet",
        "--set",
        "eval_every=4",
        "--set",
        "save_every=4",
    ]
    train_main([*args, "--steps", "4"])
    first = checkpoint.load(out)
    assert first.step == 4 and first.meta["metrics"]["step"] == 4
    assert first.vocab.values["category"] == ("circle", "square")
    assert set(first.meta["metrics"]["valid"]) >= {"l_r", "l_kl"}
    data = PreparedData.load(prepared)  # N_max and the row-0 convention come from the data
    assert first.config.max_seq_len == data.n_max < 250 and first.meta["row0"] == data.row0
    train_main([*args, "--steps", "8"])
    second = checkpoint.load(out)
    assert second.step == 8
    err = capsys.readouterr().err
    assert "resuming" in err and "ignored" not in err  # the same command changes nothing
    train_main([*args, "--steps", "9", "--set", "prior_dropout=0.5"])
    err = capsys.readouterr().err
    assert "these are ignored: prior_dropout=0.5 (it has 0.0)" in err, err
    assert checkpoint.load(out).config.prior_dropout == 0.0
    train_main([*args, "--steps", "12", "--set", "loader_workers=2"])  # batches from 2 processes
    resumed = checkpoint.load(out)
    assert resumed.step == 12 and resumed.meta["throughput"]["steps"] == 3
    assert resumed.train.loader_workers == 2
    drawn = sample(
        second, SketchRequest(conditions={"category": "circle"}, n=2, seed=0, max_points=20)
    )
    assert len(drawn) == 2


def test_train_rejects_an_unknown_config_field(prepared, tmp_path, capsys):
    """A typo in --set is refused before any training starts."""
    with pytest.raises(SystemExit):
        train_main(["--data", prepared, "--out", str(tmp_path / "x"), "--set", "zsize=3"])
    assert "no such config field" in capsys.readouterr().err


def test_classifier_and_evaluate_print_their_tables(prepared, tmp_path, capsys):
    """The classifier learns the two shapes; evaluate prints losses, recognition and diversity."""
    clf_dir, run = tmp_path / "clf", tmp_path / "run"
    classifier_main(["--data", prepared, "--out", str(clf_dir), "--steps", "60", "--quiet"])
    model, accuracy = load_classifier(clf_dir)
    assert model.cfg.classes == ("circle", "square") and accuracy["test"] >= 0.75
    train_main(
        [
            "--small",
            "--data",
            prepared,
            "--out",
            str(run),
            "--steps",
            "3",
            "--batch-size",
            "8",
            "--quiet",
        ]
    )
    report_file = tmp_path / "report.json"
    evaluate_main(
        [
            "--checkpoint",
            str(run),
            "--data",
            prepared,
            "--classifier",
            str(clf_dir),
            "--categories",
            "circle,square",
            "--per-category",
            "3",
            "--diversity-inputs",
            "2",
            "--json",
            str(report_file),
            "--attribute-classifier",
            f"category={clf_dir}",
        ]
    )
    printed = capsys.readouterr().out
    assert "| test |" in printed and "recognised:" in printed and "diversity:" in printed
    report = json.loads(report_file.read_text())
    assert np.isfinite(report["splits"]["test"]["l_r"])
    assert set(report["recognisability"]["per_category"]) == {"circle", "square"}
    assert 0 <= report["phash_diversity"] <= 64
    assert 0 <= report["attributes"]["category"]["recognised"] <= 1
    assert 0 <= report["attributes"]["category"]["refined"] <= 1  # refined test sketches
    assert "category: " in printed
    paths = report["test_l_r_paths"]
    assert list(paths) == ["posterior", "no sketch channel", "generate path"]
    assert paths["posterior"] == pytest.approx(report["splits"]["test"]["l_r"], abs=1e-4)
    assert "| test l_r given |" in printed


def test_l_r_paths_show_what_the_sketch_channel_carries(checkpoint) -> None:
    """On the shipped model, hiding z_r and ad, or drawing z_s from the prior, costs l_r."""
    from lab.data import PreparedData
    from lab.evaluate import l_r_paths

    out = Path(tempfile.mkdtemp()) / "cats.npz"
    shared = Path(__file__).resolve().parents[2] / "shared/data/quickdraw/simplified_first25"
    prepare_main(["--out", str(out), "--split", "0,0,1", str(shared / "cat.ndjson")])
    paths = l_r_paths(checkpoint, PreparedData.load(out), "test")
    assert paths["posterior"] < paths["no sketch channel"] < paths["generate path"] + 0.05


def assert_teacher_forcing_equal(
    ours: checkpoint.Checkpoint, theirs: checkpoint.Checkpoint
) -> None:
    """Both decoders give exactly the same mixture for the same random points and z."""
    g = torch.Generator().manual_seed(0)
    points = torch.randn(2, 30, 5, generator=g)
    z = torch.randn(2, theirs.model.z_dim, generator=g)
    with torch.no_grad():
        got, _ = ours.model.decoder.run(points, z, ours.model.decoder.initial_state(z))
        want, _ = theirs.model.decoder.run(points, z, theirs.model.decoder.initial_state(z))
    assert torch.equal(got.mu, want.mu) and torch.equal(got.pen_logits, want.pen_logits)


def test_a_positional_decoder_starts_from_one_that_is_not_and_draws_the_same(prepared, tmp_path):
    """--init-from with --set position_input=true: every weight is copied (the condition's
    too, the vocabulary being the same) and the position columns start at zero, so the new
    model draws exactly as its source until it trains; the reverse is refused."""
    source, out = tmp_path / "plain", tmp_path / "positional"
    common = ["--data", prepared, "--small", "--batch-size", "8", "--quiet"]
    train_main([*common, "--out", str(source), "--steps", "2", "--set", "eval_every=2"])
    positional = ["--set", "position_input=true"]
    train_main(
        [*common, "--out", str(out), "--steps", "0", "--init-from", str(source), *positional]
    )
    src, tuned = checkpoint.load(source), checkpoint.load(out)
    assert tuned.config.position_input and not src.config.position_input
    rnn_in = "decoder.rnn.weight_ih_l0"
    mine, theirs = tuned.model.state_dict()[rnn_in], src.model.state_dict()[rnn_in]
    assert mine.shape[1] == theirs.shape[1] + 2
    assert torch.equal(mine[:, :5], theirs[:, :5]) and torch.equal(mine[:, 7:], theirs[:, 5:])
    assert not mine[:, 5:7].any()
    assert_teacher_forcing_equal(tuned, src)
    with pytest.raises(CommandError, match="reads the pen position and this one does not"):
        train_main([*common, "--out", str(tmp_path / "back"), "--init-from", str(out)])


def test_a_wider_decoder_starts_from_a_narrower_one_and_draws_the_same(prepared, tmp_path):
    """--init-from with a larger dec_rnn_size: the old units keep their weights, the new ones
    read as freshly initialised but nothing reads them, so the wider model draws exactly as its
    source (on the compiled path too) until it trains; shrinking is refused."""
    source, out = tmp_path / "narrow", tmp_path / "wide"
    common = ["--data", prepared, "--small", "--batch-size", "8", "--quiet"]
    train_main([*common, "--out", str(source), "--steps", "2", "--set", "eval_every=2"])
    train_main(
        [*common, "--out", str(out), "--steps", "0", "--init-from", str(source)]
        + ["--set", "dec_rnn_size=160"]
    )
    src, wide = checkpoint.load(source), checkpoint.load(out)
    narrow = src.config.dec_rnn_size
    assert wide.config.dec_rnn_size == 160 > narrow
    hh = wide.model.state_dict()["decoder.rnn.weight_hh_l0"]
    assert not hh[:, narrow:].any() and hh[160 : 160 + narrow, :narrow].equal(
        src.model.state_dict()["decoder.rnn.weight_hh_l0"][narrow : 2 * narrow]
    )  # the forget gate's block of the old units, where PyTorch puts it in the wider layout
    assert_teacher_forcing_equal(wide, src)
    req = SketchRequest(conditions={"category": "circle"}, temperature=0.5, seed=3, n=2)
    for a, b in zip(sample(src, req), sample(wide, req)):
        assert len(a) == len(b) and all(np.allclose(p, q, atol=1e-3) for p, q in zip(a, b))
    both = tmp_path / "wide-positional"  # widening and reading the position in one go
    train_main(
        [*common, "--out", str(both), "--steps", "0", "--init-from", str(source)]
        + ["--set", "dec_rnn_size=160", "--set", "position_input=true"]
    )
    assert_teacher_forcing_equal(checkpoint.load(both), src)
    with pytest.raises(
        CommandError, match="has 160 units and this one 128: a decoder may only grow"
    ):
        train_main([*common, "--out", str(tmp_path / "back"), "--init-from", str(out)])
    norm = ["--set", "layer_norm=true"]  # layer norm would rescale the old units' gates
    train_main([*common, "--out", str(tmp_path / "ln"), "--steps", "0", *norm])
    with pytest.raises(CommandError, match="only without layer norm or recurrent dropout"):
        train_main(
            [*common, "--out", str(tmp_path / "ln-wide"), "--init-from", str(tmp_path / "ln")]
            + ["--set", "dec_rnn_size=160", *norm]
        )


def test_init_from_copies_all_but_the_condition_and_is_kept_on_resume(prepared, tmp_path, capsys):
    """Pretraining then fine-tuning: a new run on data with other conditions starts from the
    source's weights, its condition columns fresh; a network that differs is refused by name."""
    source = tmp_path / "pretrained"
    common = ["--small", "--batch-size", "8", "--quiet", "--set", "eval_every=2"]
    train_main(["--data", prepared, "--out", str(source), "--steps", "2", *common])
    src = checkpoint.load(source)
    # the fine-tuning data: circles under one new category, so another vocabulary
    data = PreparedData.load(prepared)
    rng = np.random.default_rng(1)
    lines = [json.dumps({"word": "disc", "drawing": drawing("circle", rng)}) for _ in range(20)]
    (tmp_path / "disc.ndjson").write_text("\n".join(lines) + "\n")
    tuned_data = tmp_path / "discs.npz"
    prepare_main(["--out", str(tuned_data), "--quiet", str(tmp_path / "disc.ndjson")])
    out = tmp_path / "tuned"
    args = ["--data", str(tuned_data), "--out", str(out), "--init-from", str(source), *common]
    train_main([*args, "--steps", "0"])
    tuned = checkpoint.load(out)
    assert tuned.vocab.values["category"] == ("disc",) != data.vocab.values["category"]
    mine, theirs = tuned.model.state_dict(), src.model.state_dict()
    assert torch.equal(mine["decoder.head.proj.weight"], theirs["decoder.head.proj.weight"])
    rnn_in = "decoder.rnn.weight_ih_l0"
    assert mine[rnn_in].shape[1] == theirs[rnn_in].shape[1] - 1  # two categories became one
    assert torch.equal(mine[rnn_in][:, :-1], theirs[rnn_in][:, :-2])
    assert tuned.meta["init_from"]["step"] == 2
    err = capsys.readouterr().err
    assert "weights copied" in err
    # the circles have another scale factor: they are normalised by the one the weights know
    assert PreparedData.load(tuned_data).scale_factor != src.scale_factor
    assert tuned.scale_factor == src.scale_factor and "normalising the data by" in err
    train_main([*args, "--steps", "2"])  # resuming keeps the record of where it started
    assert checkpoint.load(out).meta["init_from"]["checkpoint"] == str(source)
    assert checkpoint.load(out).scale_factor == src.scale_factor  # and the scale
    with pytest.raises(CommandError, match="lacks influence.head.bias: a different network"):
        train_main(
            [
                "--config",
                "sketch-rnn",
                "--data",
                str(tuned_data),
                "--out",
                str(tmp_path / "other"),
                "--init-from",
                str(source),
                *common,
            ]
        )


@pytest.mark.parametrize("conditioned", [False, True])
def test_sketch_rnns_decoder_alone_trains_from_the_same_code(prepared, tmp_path, conditioned):
    """The sketch-rnn-decoder preset (no encoder, a zero start state) trains and draws with the
    same command: unconditional, or one decoder a category when the condition is on; its loss
    is l_r alone."""
    out = tmp_path / "decoder"
    train_main(
        ["--config", "sketch-rnn-decoder", "--small", "--data", prepared, "--out", str(out),
         "--batch-size", "8", "--steps", "6", "--quiet", "--set", "eval_every=3",
         "--set", f"use_condition={str(conditioned).lower()}"]
    )  # fmt: skip
    ckpt = checkpoint.load(out)
    assert ckpt.config.encoder == "none" and ckpt.model.z_dim == 0
    assert ckpt.model.bank == conditioned
    assert len(getattr(ckpt.model, "decoders", [])) == (2 if conditioned else 0)
    metrics = ckpt.meta["metrics"]["valid"]
    assert metrics["l_kl"] == 0.0 and np.isfinite(metrics["l_r"])
    drawn = sample(
        ckpt, SketchRequest(conditions={"category": "square"}, n=2, seed=0, max_points=20)
    )
    assert all(sum(map(len, d)) >= 2 for d in drawn)
