"""The network: every configuration builds, gives finite loss terms and can learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.config import PRESETS, preset
from model.network import SketchModel

from .sketches import face, house, make_inputs

CONDITIONS = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=np.float32)


def batch_for(cfg):
    sketches = [face(), house(), face()[:2], house()[:1]]
    return make_inputs(sketches, CONDITIONS, cfg.raster_size if cfg.needs_raster else 0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_forward_gives_finite_scalar_terms(name):
    """Each preset's forward pass returns finite scalar loss terms."""
    torch.manual_seed(0)
    cfg = preset(name, small=True, condition_dim=2)
    model = SketchModel(cfg)
    terms = model(batch_for(cfg), alpha=0.5)
    for field, value in vars(terms).items():
        assert value.shape == (), field
        assert torch.isfinite(value), field
    assert terms.l_r > 0
    if cfg.variational:
        assert terms.l_z > 0
    else:
        assert terms.l_z == 0
    assert (terms.l_a > 0) == cfg.use_influence
    assert (terms.l_img > 0) == cfg.use_raster


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_config_overfits_one_batch(name):
    """Training on one small batch halves its loss within 80 steps."""
    torch.manual_seed(0)
    cfg = preset(
        name,
        small=True,
        condition_dim=2,
        max_seq_len=40,
        kl_weight=0.01,
        kl_weight_start=0.01,
        sketch_dropout=0.0,
    )
    model = SketchModel(cfg)
    batch = batch_for(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(model(batch, alpha=0.01).loss)
    for _ in range(80):
        loss = model(batch, alpha=0.01).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        last = float(model(batch, alpha=0.01).loss)
        if cfg.needs_raster:  # the CNN still tells sketches apart (a saturated tanh would not)
            assert model.raster_encoder(batch.raster).std(0).mean() > 0.05
    assert last < first / 2, (first, last)


def test_ablations_change_the_decoder_input():
    """Switching off z_r, the influence layer or the condition shrinks the decoder's input."""
    full = SketchModel(preset("ai-sketcher", small=True, condition_dim=2))
    sizes = {
        name: SketchModel(preset("ai-sketcher", small=True, condition_dim=2, **{name: False})).z_dim
        for name in ("use_raster", "use_influence", "use_condition")
    }
    assert sizes["use_raster"] == full.z_dim - full.cfg.raster_z_size
    assert sizes["use_influence"] == full.z_dim - full.cfg.influence_size
    assert sizes["use_condition"] == full.z_dim - 2


def test_padding_does_not_change_the_loss_of_real_points():
    """Extra padding rows leave the encoder's output and the masked l_r unchanged."""
    torch.manual_seed(0)
    cfg = preset("ai-sketcher", small=True, condition_dim=2, sketch_dropout=0.0)
    model = SketchModel(cfg).eval()
    inp = batch_for(cfg)
    pad = torch.zeros(inp.strokes.shape[0], 7, 5)
    pad[..., 4] = 1
    longer = type(inp)(torch.cat([inp.strokes, pad], 1), inp.lengths, inp.conditions, inp.raster)
    a, b = model(inp, 0.5, mask_pen=True), model(longer, 0.5, mask_pen=True)
    assert torch.allclose(a.l_r, b.l_r, atol=1e-6)
    assert torch.allclose(a.l_a, b.l_a, atol=1e-6)


def test_layer_norm_decoder_runs():
    """The layer-norm decoder with recurrent dropout gives finite terms too."""
    cfg = preset("sketch-rnn", small=True, layer_norm=True, recurrent_dropout=0.1)
    terms = SketchModel(cfg)(batch_for(cfg), alpha=0.5)
    assert torch.isfinite(terms.loss)


def test_prior_dropout_hides_the_sketch_from_the_decoder():
    """With prior_dropout 1 each training row gets what "generate" gives: noise z_s, z_r = ad = 0
    (the condition is all that is left)."""
    torch.manual_seed(0)
    cfg = preset("ai-sketcher", small=True, condition_dim=2, sketch_dropout=0.0, prior_dropout=1.0)
    model = SketchModel(cfg).train()
    inp = batch_for(cfg)
    z = model.encode(inp, sample=True).z
    z_s, rest = z[:, : cfg.z_size], z[:, cfg.z_size : -2]
    assert torch.all(rest == 0)
    assert torch.equal(z[:, -2:], inp.conditions)
    mu_s = model.latent(
        torch.cat([model.stroke_encoder(inp.strokes[:, 1:], inp.lengths)[1], inp.conditions], -1)
    )[:, : cfg.z_size]
    assert not torch.allclose(z_s, mu_s, atol=0.5)  # z_s no longer tracks the encoder
    model.eval()  # at evaluation the encoder is used as usual
    z_eval = model.encode(inp, sample=False).z
    assert torch.allclose(z_eval[:, : cfg.z_size], mu_s, atol=1e-6)
    assert z_eval[:, cfg.z_size : -2].abs().sum() > 0
