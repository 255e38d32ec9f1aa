"""A validated suggest becomes the model's request in one place, and the two sides agree on the
modes and defaults (the protocol is stdlib-only, so it cannot import them from the model)."""

from __future__ import annotations

import dataclasses

from model import sample
from model.sample import SketchRequest
from sketch_server import protocol
from sketch_server.protocol import Suggest
from sketch_server.requests import sketch_request


def test_the_wire_and_the_model_agree_on_modes_and_defaults() -> None:
    """A mode, default or temperature range changed on one side alone fails here."""
    assert protocol.MODES == sample.MODES
    assert protocol.DEFAULT_TEMPERATURE == sample.DEFAULT_TEMPERATURE
    assert protocol.DEFAULT_MAX_POINTS == sample.DEFAULT_MAX_POINTS
    assert protocol.DEFAULT_STRENGTH == sample.DEFAULT_STRENGTH
    assert (protocol.MIN_TEMPERATURE, protocol.MAX_TEMPERATURE) == sample.TEMPERATURES
    assert protocol.MAX_NAME_LEN == sample.MAX_SOURCE_LEN


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
