"""Checkpoints: safetensors + JSON round-trip to identical samples, and refuse what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lab.data import ConditionVocab
from model import checkpoint
from model.config import preset
from model.network import SketchModel
from model.sample import SketchRequest, sample

VOCAB = ConditionVocab(("category",), {"category": ("cat", "face")})


def small_model(name: str = "ai-sketcher") -> SketchModel:
    torch.manual_seed(0)
    return SketchModel(preset(name, small=True, condition_dim=VOCAB.dim)).eval()


def same_sketches(a, b) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(np.array_equal(p, q) for p, q in zip(x, y)) for x, y in zip(a, b)
    )


@pytest.mark.parametrize("name", ["ai-sketcher", "sketch-rnn", "sketch-pix2seq"])
def test_save_load_gives_identical_samples(tmp_path, name):
    """A saved and reloaded model draws exactly what the original drew for the same seed."""
    model = small_model(name)
    checkpoint.save(tmp_path, model, VOCAB, 30.0, meta={"description": "test"})
    loaded = checkpoint.load(tmp_path)
    original = checkpoint.Checkpoint(model, model.cfg, VOCAB, 30.0)
    req = SketchRequest(conditions={"category": "cat"}, n=3, seed=7, max_points=40, temperature=0.8)
    assert same_sketches(sample(original, req), sample(loaded, req))
    assert loaded.vocab == VOCAB and loaded.scale_factor == 30.0
    assert loaded.meta["description"] == "test"


def test_half_precision_checkpoint_loads_as_float32(tmp_path):
    """A checkpoint saved in fp16 (for shipping) loads into a float32 model."""
    model = small_model()
    checkpoint.save(tmp_path, model, VOCAB, 30.0, precision="float16")
    loaded = checkpoint.load(tmp_path)
    weight = next(loaded.model.parameters())
    assert weight.dtype == torch.float32
    ref = next(model.parameters())
    assert torch.allclose(weight, ref, atol=1e-3) and not torch.equal(weight, ref)


def test_config_that_does_not_match_the_weights_is_refused(tmp_path):
    """Weights from another architecture give a CheckpointError naming the mismatch."""
    checkpoint.save(tmp_path, small_model(), VOCAB, 30.0)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["dec_rnn_size"] = 64
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(checkpoint.CheckpointError, match="does not match config.json.*wrong shape"):
        checkpoint.load(tmp_path)


def test_unknown_config_field_and_missing_files_are_refused(tmp_path):
    """A typo in config.json or a folder without a checkpoint is reported in words."""
    with pytest.raises(checkpoint.CheckpointError, match="has no config.json"):
        checkpoint.load(tmp_path)
    checkpoint.save(tmp_path, small_model(), VOCAB, 30.0)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["dec_rnn_sise"] = 64
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(checkpoint.CheckpointError, match="no field.*dec_rnn_sise"):
        checkpoint.load(tmp_path)


def test_loading_never_unpickles(tmp_path, monkeypatch):
    """Loading a checkpoint does not call pickle at all."""
    import pickle

    checkpoint.save(tmp_path, small_model(), VOCAB, 30.0)

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    checkpoint.load(tmp_path)


def test_optimizer_state_round_trips(tmp_path):
    """Adam's moments saved beside the weights come back equal, so training resumes smoothly."""
    model = small_model()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    opt.step()
    checkpoint.save(tmp_path, model, VOCAB, 30.0, optimizer=opt, step=1)
    fresh = torch.optim.Adam(model.parameters(), lr=1e-3)
    assert checkpoint.load_optimizer(tmp_path, fresh)
    a, b = opt.state_dict()["state"], fresh.state_dict()["state"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k]["exp_avg"], b[k]["exp_avg"]) for k in a)


def test_shipped_models_load_by_name_and_fit_the_size_limit():
    """The shipped models load by name and take their conditions; their folders (weights and
    libraries) weigh at most 45 MB together."""
    from model.checkpoint import SHIPPED_LIMIT, SHIPPED_MODELS, load, shipped

    assert SHIPPED_MODELS == ("objects", "faces", "quickdraw")
    total = sum(f.stat().st_size for name in SHIPPED_MODELS for f in shipped(name).iterdir())
    assert total <= SHIPPED_LIMIT, f"the shipped models weigh {total / 2**20:.1f} MB"
    for name in SHIPPED_MODELS:
        ckpt = load(shipped(name))
        assert ckpt.config.use_condition and ckpt.config.condition_dim > 0
    assert len(load(shipped("objects")).vocab.values["category"]) == 344
    quickdraw = load(shipped("quickdraw"))
    assert len(quickdraw.vocab.values["category"]) == 27 and quickdraw.model.bank
    assert "Google Magenta" in quickdraw.meta["provenance"]
    assert set(load(shipped("faces")).vocab.attributes) >= {"gender", "emotion", "style", "view"}
    with pytest.raises(ValueError, match="no shipped model 'default'"):
        shipped("default")


def test_the_best_variety_is_kept_through_export_and_old_configs_read_the_default(tmp_path):
    """export --temperature records a model's measured best Variety in config.json; a config
    written before it existed loads with the protocol's default, 0.5; a value out of range is
    refused with the range."""
    checkpoint.save(tmp_path / "run", small_model(), VOCAB, 30.0)
    assert checkpoint.load(tmp_path / "run").sample.temperature == 0.5
    checkpoint.main([str(tmp_path / "run"), str(tmp_path / "ship"), "--temperature", "0.2"])
    assert checkpoint.load(tmp_path / "ship").sample.temperature == 0.2
    checkpoint.export(tmp_path / "ship", tmp_path / "again")  # kept when not given
    assert checkpoint.load(tmp_path / "again").sample.temperature == 0.2
    config = json.loads((tmp_path / "again" / "config.json").read_text())
    del config["sample"]
    (tmp_path / "again" / "config.json").write_text(json.dumps(config))
    assert checkpoint.load(tmp_path / "again").sample.temperature == 0.5
    with pytest.raises(ValueError, match=r"temperature must be in 0\.01\.\.2\.0; got 3\.0"):
        checkpoint.export(tmp_path / "run", tmp_path / "bad", temperature=3.0)


def test_export_can_replace_the_description_the_welcome_shows(tmp_path):
    """export --description rewrites meta.description and keeps the rest of the meta."""
    checkpoint.save(tmp_path / "run", small_model(), VOCAB, 30.0, meta={"description": "run 7"})
    checkpoint.main([str(tmp_path / "run"), str(tmp_path / "ship"), "--description", "shipped"])
    assert checkpoint.load(tmp_path / "ship").meta["description"] == "shipped"
    checkpoint.export(tmp_path / "ship", tmp_path / "again")
    assert checkpoint.load(tmp_path / "again").meta["description"] == "shipped"
