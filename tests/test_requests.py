"""A validated suggest becomes the model's request in one place (the model takes its modes,
defaults and ranges from the wire, so there is one definition of each)."""

from __future__ import annotations

import dataclasses

from model.sample import SketchRequest
from sketch_server.requests import sketch_request
from wire.protocol import Suggest


def test_a_suggest_with_defaults_is_the_models_default_request() -> None:
    """Every field the wire leaves out arrives at the model as the model's own default."""
    assert sketch_request(Suggest(id=1, mode="generate")) == SketchRequest(mode="generate")


def test_every_field_of_a_suggest_reaches_the_model() -> None:
    """Each request field is taken from the message, none from elsewhere."""
    msg = Suggest(
        id="r1",
        mode="refine",
        strokes=[[[0, 0], [10, 5]]],
        conditions={"category": "cat"},
        n=3,
        temperature=1.5,
        seed=7,
        max_points=40,
        bounds=[0, 0, 100, 50],
        use_library=False,
        strength=0.2,
    )
    req = sketch_request(msg)
    fields = {f.name for f in dataclasses.fields(SketchRequest)} - {"sample_latent"}
    assert fields <= {f.name for f in dataclasses.fields(Suggest)}
    for name in fields:
        assert getattr(req, name) == getattr(msg, name), name
    assert req.conditions == {"category": "cat"} and not req.sample_latent
