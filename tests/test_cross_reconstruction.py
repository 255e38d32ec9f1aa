"""Cross-reconstruction (issue 30): the encoders read another drawing of the same person, the
decoder draws this one under its own conditions, so that z learns who and the conditions what."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lab.batches import Batcher
from lab.data import PreparedData
from lab.datasets.faces import faces
from lab.prepare import build
from lab.validation import to_inputs
from model.config import TrainConfig, preset
from model.network import SketchModel


@pytest.fixture(scope="module")
def people() -> PreparedData:
    """Two blocks of procedural faces: 36 people, each drawn 7 times, all in train."""
    drawings = list(faces(252, seed=5))
    return build(drawings, np.zeros(len(drawings), np.int8), max_len=250)


def test_each_row_is_encoded_from_another_drawing_of_its_person(people: PreparedData) -> None:
    batch = next(iter(Batcher(people, "train", 32, augment=True, cross=1.0, seed=1)))
    assert batch.source is not None and len(batch.source.indices) == len(batch.indices)
    mine, theirs = batch.indices.numpy(), batch.source.indices.numpy()
    assert (people.identity[mine] == people.identity[theirs]).all()
    assert (mine != theirs).all(), "every person here has other drawings to read"
    assert not torch.equal(batch.conditions, batch.source.conditions), "other emotions, views"


def test_no_cross_no_source_and_bad_shares_are_refused(people: PreparedData) -> None:
    assert next(iter(Batcher(people, "train", 8, augment=True, seed=1))).source is None
    assert next(iter(Batcher(people, "train", 8, augment=False, cross=1.0))).source is None
    with pytest.raises(ValueError, match="cross must be between 0 and 1"):
        Batcher(people, "train", 8, cross=1.5)
    with pytest.raises(ValueError, match="cross_reconstruction must be between 0 and 1"):
        TrainConfig(cross_reconstruction=-0.1)


def test_the_network_encodes_the_source_and_draws_the_target(people: PreparedData) -> None:
    """Its own drawing as the source changes nothing; another person's drawing changes the loss
    (the encoders read it), while the decoder's target stays this drawing."""
    torch.manual_seed(0)
    model = SketchModel(preset("ai-sketcher", small=True, condition_dim=people.vocab.dim)).eval()
    size = model.cfg.raster_size
    batch = next(
        iter(Batcher(people, "train", 16, augment=True, cross=1.0, seed=2, raster_size=size))
    )
    inp = to_inputs(batch, torch.device("cpu"))
    assert inp.source is not None
    alone = dataclasses.replace(inp, source=None)
    itself = dataclasses.replace(inp, source=alone)
    with torch.no_grad():
        base = model(alone, alpha=1.0)
        same = model(itself, alpha=1.0)
        crossed = model(inp, alpha=1.0)
    assert torch.allclose(base.loss, same.loss)
    assert not torch.allclose(base.l_r, crossed.l_r)
