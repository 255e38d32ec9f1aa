"""The fast decoding path gives what the training network gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from model import kernels
from model import strokes as S
from model.checkpoint import Checkpoint, load
from model.decode import FastDecoder
from model.mixture import RHO_LIMIT, draw
from model.network import SketchModel
from model.sample import DecodeBatch, DoneEvent, Placement, SketchRequest

CELLS = {  # cell: (layer_norm, recurrent_dropout, position_input)
    "lstm": (False, 0.0, False),
    "layer norm": (True, 0.0, False),
    "layer norm + recurrent dropout": (True, 0.1, False),
    "lstm reading the pen position": (False, 0.0, True),
    "layer norm reading the pen position": (True, 0.0, True),
}


def _with_cell(checkpoint: Checkpoint, cell: str) -> Checkpoint:
    """The served checkpoint if its decoder has this cell, else a model of its shape with that
    cell (random weights, eval mode), so every cell is tested whichever model is served."""
    layer_norm, dropout, position = CELLS[cell]
    cfg = dataclasses.replace(
        checkpoint.config,
        layer_norm=layer_norm,
        recurrent_dropout=dropout,
        position_input=position,
    )
    if cfg == checkpoint.config:
        return checkpoint
    torch.manual_seed(0)
    model = SketchModel(cfg).eval()
    if layer_norm:
        with torch.no_grad():  # norms that do something, not the identity they start as
            for norm in (model.decoder.rnn.ln_gates, model.decoder.rnn.ln_cell):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.3, 0.3)
    return Checkpoint(model, cfg, checkpoint.vocab, checkpoint.scale_factor)


@pytest.mark.parametrize("cell", CELLS)
def test_steps_match_the_training_cell_under_teacher_forcing(
    checkpoint: Checkpoint, cell: str
) -> None:
    """Step by step, the compiled step matches the training decoder run over the whole
    sequence (1e-5): nn.LSTM, or the layer-norm cell (dropout off when drawing), each also
    reading the pen position."""
    checkpoint = _with_cell(checkpoint, cell)
    decoder = checkpoint.model.decoder
    fast = FastDecoder(decoder)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, checkpoint.model.z_dim, generator=g)
    points = torch.zeros(3, 40, 5)
    points[..., :2] = torch.randn(3, 40, 2, generator=g)
    pen = torch.randint(2, 5, (3, 40), generator=g)
    points[torch.arange(3)[:, None], torch.arange(40), pen] = 1
    with torch.no_grad():
        h0, c0 = decoder.initial_state(z)
        position = points[..., :2].cumsum(1)  # where the pen is after each point
        read = [points, position] if decoder.positional else [points]
        inputs = torch.cat([*read, z[:, None].expand(-1, 40, -1)], -1)
        if decoder.fused:
            hidden, _ = decoder.rnn(inputs, (h0[None], c0[None]))
        else:
            state, outs = (h0, c0), []
            for t in range(40):
                state = decoder.rnn(inputs[:, t], state)
                outs.append(state[0])
            hidden = torch.stack(outs, 1)
        head = decoder.head.proj(hidden).numpy()
    const = fast.constant(z.numpy())
    p = fast.point
    x, c = np.concatenate([np.zeros((3, p), np.float32), h0.numpy()], 1), c0.numpy().copy()
    noise = np.full((3, 1, 4), 0.5, np.float32)
    for t in range(40):
        x[:, :5] = points[:, t].numpy()  # teacher forcing: the given point, not the sampled one
        if decoder.positional:
            x[:, 5:7] = position[:, t].numpy()
        fast.step(x, c, const, np.ones(3, np.float32), noise, np.zeros(3, np.int64))
        np.testing.assert_allclose(x[:, p:], hidden[:, t].numpy(), atol=1e-5)
        np.testing.assert_allclose(fast.head_out, head[:, t], atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mode", ["generate", "complete"])
def test_every_cell_is_served_on_the_compiled_step_and_draws_the_same(
    checkpoint: Checkpoint, mode: str, cell: str
) -> None:
    """Whichever cell its decoder has, a model is served on the compiled step, and a seed
    draws the same there as on the reference step."""
    model = _with_cell(checkpoint, cell)
    assert DecodeBatch(model).fast is not None
    _same_on_both_paths(model, mode)


def test_draw_matches_the_mixture_sampler(checkpoint: Checkpoint) -> None:
    """Given the same head outputs and random numbers, both samplers draw the same rows."""
    decoder = checkpoint.model.decoder
    fast = FastDecoder(decoder)
    rng = np.random.default_rng(1)
    h = rng.normal(size=(64, decoder.hidden)).astype(np.float32)
    noise = np.concatenate([rng.random((64, 2)), rng.standard_normal((64, 2))], 1)
    temperature = rng.uniform(0.05, 2.0, 64).astype(np.float32)
    with torch.no_grad():
        params = decoder.head(torch.from_numpy(h))
        want = draw(params, torch.from_numpy(temperature), torch.from_numpy(noise).float()).numpy()
        head = decoder.head.proj(torch.from_numpy(h)).numpy()
    got = _draw(fast, head, temperature, noise.astype(np.float32)[:, None], np.zeros(64, np.int64))
    np.testing.assert_array_equal(got[:, 2:], want[:, 2:])
    np.testing.assert_allclose(got[:, :2], want[:, :2], atol=1e-4)


def _draw(fast: FastDecoder, head: np.ndarray, *args: np.ndarray) -> np.ndarray:
    """The step's mixture draw (model.kernels.draw) on given head outputs."""
    out = np.zeros((len(head), 5), np.float32)
    kernels.draw(head, *args, fast.mixtures, RHO_LIMIT, out)
    return out


def _drawn(batch: DecodeBatch, req: SketchRequest) -> list[list[np.ndarray]]:
    batch.add(req, tag="t")
    out: dict[int, list[np.ndarray]] = {}
    while len(batch):
        for e in batch.step():
            if isinstance(e, DoneEvent):
                out[e.sample] = e.strokes
    return [out[i] for i in sorted(out)]


@pytest.mark.parametrize("mode", ["generate", "complete", "refine"])
def test_a_seeded_request_draws_the_same_on_both_paths(checkpoint: Checkpoint, mode: str) -> None:
    """The same seeded request gives the same strokes on the fast and the reference path."""
    _same_on_both_paths(checkpoint, mode)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_on_a_gpu_decodes_on_the_fast_path(model_dir: Path) -> None:
    """With the encoders on the GPU, the server still decodes on the compiled CPU step, and a
    seed draws what the reference step draws on the GPU."""
    gpu = load(model_dir, "cuda")
    assert DecodeBatch(gpu).fast is not None
    for mode in ("generate", "complete"):
        _same_on_both_paths(gpu, mode)


def _same_on_both_paths(checkpoint: Checkpoint, mode: str) -> None:
    strokes = [[[10, 10], [60, 12], [62, 58]], [[20, 30], [40, 31]]] if mode != "generate" else []
    for seed in range(3):
        req = SketchRequest(
            mode=mode,
            strokes=strokes,
            conditions={"category": "cat"},
            n=3,
            seed=seed,
            max_points=150,
            temperature=0.6,
            use_library=False,
        )
        fast = _drawn(DecodeBatch(checkpoint, fast=True), req)
        slow = _drawn(DecodeBatch(checkpoint, fast=False), req)
        assert [len(s) for s in fast] == [len(s) for s in slow]
        for a, b in zip(fast, slow):
            for p, q in zip(a, b):
                np.testing.assert_allclose(p, q, atol=1e-3)


@pytest.mark.parametrize("row0", ["box", "start"])
@pytest.mark.parametrize("mode", ["generate", "complete", "refine"])
def test_a_positional_decoder_reads_where_its_pen_is(
    checkpoint: Checkpoint, mode: str, row0: str
) -> None:
    """The position a positional decoder reads is the pen's place in the model's box, counted
    from where the training data's row 0 starts: at every step, after the given strokes too."""
    model = dataclasses.replace(
        _with_cell(checkpoint, "lstm reading the pen position"), meta={"row0": row0}
    )
    batch = DecodeBatch(model)
    strokes = [[[10, 10], [60, 12], [62, 58]], [[20, 30], [40, 31]]] if mode != "generate" else []
    req = SketchRequest(mode=mode, strokes=strokes, n=2, seed=1, max_points=60, use_library=False)
    batch.add(req, tag="t")
    rows = batch.rows
    if mode == "generate":
        origin = np.full(2, S.BOX / 2) if model.starts_at_origin else np.zeros(2)
    else:  # row 0 runs from the box corner, or from the first given point for "start" data
        placement = Placement.for_request(req, [np.asarray(p, float) for p in strokes])
        origin = placement.to_box([np.asarray(strokes[0], float)])[0][0]
        origin = origin if model.starts_at_origin else np.zeros(2)
    while len(rows):
        n = len(rows)
        read = rows.arrays.x[:n, 5:7].astype(np.float64) * model.scale_factor
        np.testing.assert_allclose(rows.arrays.pos[:n] - read, np.tile(origin, (n, 1)), atol=1e-2)
        batch.step()


def test_the_compiled_tanh_is_float32_exact_enough() -> None:
    """The cell's rational tanh stays within 1e-6 of the true tanh, saturation included."""
    x = np.linspace(-30, 30, 600_001, dtype=np.float32)
    out = np.empty_like(x)
    kernels.tanh(x, out)
    assert np.abs(out - np.tanh(x.astype(np.float64))).max() < 1e-6


def test_each_row_draws_with_the_noise_of_its_own_step(checkpoint: Checkpoint) -> None:
    """Row b reads noise[b, steps[b]]: the same noise at another index draws the same row."""
    fast = FastDecoder(checkpoint.model.decoder)
    rng = np.random.default_rng(2)
    h = rng.normal(size=(4, checkpoint.model.decoder.hidden)).astype(np.float32)
    noise = np.concatenate([rng.random((4, 6, 2)), rng.standard_normal((4, 6, 2))], 2)
    noise = noise.astype(np.float32)
    temperature = np.full(4, 0.5, np.float32)
    steps = np.array([0, 3, 5, 9])  # past the last slot reads the last one
    with torch.no_grad():
        head = checkpoint.model.decoder.head.proj(torch.from_numpy(h)).numpy()
    got = _draw(fast, head, temperature, noise, steps)
    picked = noise[np.arange(4), np.minimum(steps, 5)][:, None]
    want = _draw(fast, head, temperature, picked, np.zeros(4, np.int64))
    np.testing.assert_array_equal(got, want)


def test_the_kernels_refuse_arrays_of_the_wrong_size() -> None:
    """numba checks no indices, so each kernel checks its shapes instead of writing past an end."""
    f32, i64 = np.float32, np.int64
    with pytest.raises(ValueError, match="x \\[B, 5 \\+ H\\]"):
        kernels.lstm_cell(np.zeros((2, 16), f32), np.zeros((2, 4), f32), np.zeros((2, 4), f32))
    with pytest.raises(ValueError, match="ln_cell \\[2, H\\]"):
        kernels.ln_lstm_cell(np.zeros((2, 16), f32), np.zeros((2, 4), f32), np.zeros((2, 9), f32),
                             np.zeros((2, 16), f32), np.zeros((2, 3), f32))  # fmt: skip
    with pytest.raises(ValueError, match="noise"):
        out = np.zeros((2, 5), f32)
        kernels.draw(np.zeros((2, 15), f32), np.ones(2, f32), np.zeros((1, 1, 4), f32),
                     np.zeros(2, i64), 2, 0.9, out)  # fmt: skip
    for count, rows in ((2, 0), (0, 3)):  # no slot left; a row out of range
        with pytest.raises(ValueError, match="out of range, or with no slot"):
            kernels.advance(
                np.zeros((1, 5), f32), 1.0, np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)),
                np.zeros((1, 2, 2)), np.full(1, count, i64), np.full(1, 9, i64),
                np.zeros(1, i64), np.full(1, rows, i64),
            )  # fmt: skip


def test_the_compiled_kernels_are_cached_in_the_users_cache_not_the_package(tmp_path) -> None:
    """numba's cache goes to $XDG_CACHE_HOME/ai-sketcher/numba: an installed package's folder
    may be read-only or shared."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = "from model import kernels; kernels.warm_up(); print(kernels.cache_dir())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout.strip()  # fmt: skip
    assert out == str(tmp_path / "ai-sketcher" / "numba")
    assert any(p.suffix == ".nbi" for p in (tmp_path / "ai-sketcher" / "numba").rglob("*"))
