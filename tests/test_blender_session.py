"""The Blender operators' pure logic (addons/blender/session.py, as installed): streaming,
alternatives, seeds and conditions, without Blender (the shared suggestion state is
tests/test_suggestion.py)."""

from __future__ import annotations

import pytest

from .addons_built import addon_module

s = addon_module("blender", "session")
ANY, Job, Request, Session, Target = s.ANY, s.Job, s.Request, s.Session, s.Target

A = [[0.0, 0.0], [1.0, 1.0]]
FACE_MODEL = {
    "category": ("cat", "face"),
    "gender": ("female", "male"),
    "emotion": ("happy", "sad"),
    "style": (),
    "view": ("front", "side"),
}
OBJECTS_MODEL = {"category": ("cat", "face", "tree")}


def test_a_blender_job_targets_an_object_frame_by_name():
    """Blender's jobs carry names and frame numbers only (undo replaces Blender data)."""
    session = Session(
        "suggest", [Job(Target("Sketch", "Lines", 1), Request(mode="complete", strokes=[A]))], 2
    )
    assert [j.target.frame for j in session.to_submit()] == [1]


def test_seeds_are_reproducible_and_differ_per_object_and_frame():
    """Autodraw all gives each (object, frame) its own seed, the same every time for a base."""
    seeds = {s.seed_for(7, name, frame) for name in ("A", "B") for frame in (1, 2, 3)}
    assert len(seeds) == 6
    assert s.seed_for(7, "A", 1) == s.seed_for(7, "A", 1) != s.seed_for(8, "A", 1)
    assert all(0 <= seed < 2**32 for seed in seeds)


def test_autodraw_asks_for_a_face_and_the_face_conditions_the_model_offers():
    """Faces: category=face, plus gender/emotion/style/view when the model lists them."""
    chosen = {"category": "cat", "gender": "male", "emotion": ANY, "style": "ink", "view": "up"}
    assert s.conditions_for(FACE_MODEL, chosen, face=True) == {
        "category": "face",
        "gender": "male",
        "style": "ink",
    }  # view "up" is not offered
    assert s.conditions_for(OBJECTS_MODEL, chosen, face=True) == {"category": "face"}
    assert s.conditions_for({}, chosen, face=True) == {}


def test_suggest_sends_only_the_chosen_conditions():
    chosen = {"category": "cat", "gender": "male"}
    assert s.conditions_for(OBJECTS_MODEL, chosen, face=False) == {"category": "cat"}
    assert s.conditions_for(OBJECTS_MODEL, {"category": ANY}, face=False) == {}
    assert s.conditions_for(OBJECTS_MODEL, {"category": ""}, face=False) == {}


@pytest.mark.parametrize(
    ("offered", "problem"),
    [
        (OBJECTS_MODEL, None),
        (FACE_MODEL, None),
        ({}, None),
        ({"category": ()}, None),
        ({"category": ("cat", "tree")}, "no 'face' category"),
        ({"category": ("cat",), "gender": ("male",)}, None),
    ],
)
def test_face_problem(offered, problem):
    """Only a model whose categories leave out faces (and has no face conditions) cannot."""
    found = s.face_problem(offered)
    assert (found is None) if problem is None else (problem in found)


def test_missing_face_conditions():
    assert s.missing_face_conditions(OBJECTS_MODEL) == ["gender", "emotion", "style", "view"]
    assert s.missing_face_conditions(FACE_MODEL) == []


def test_enum_numbers_are_stable_positive_32_bit():
    """Saved menu choices are stored as these numbers, so they must not depend on list order."""
    numbers = [s.enum_number(v) for v in ("face", "cat", "The Eiffel Tower")]
    assert numbers == [s.enum_number(v) for v in ("face", "cat", "The Eiffel Tower")]
    assert len(set(numbers)) == 3 and all(0 < n < 2**31 for n in numbers)


def test_wrap():
    assert list(s.wrap("one two three four", 9)) == ["one two", "three", "four"]
    assert list(s.wrap("", 9)) == []


def test_auto_model_prefers_the_one_that_draws_faces():
    """ "Auto" picks the model with face conditions, else the server's default; None before a
    welcome."""
    from wire.protocol import ModelInfo

    objects = ModelInfo(name="objects", conditions={"category": ("cat", "face")})
    faces = ModelInfo(name="faces", conditions={"category": ("face",), "gender": ("female",)})
    plain = ModelInfo(name="plain", conditions={})
    assert s.preferred_model([objects, faces]) is faces
    assert s.preferred_model([objects, plain]) is objects
    assert s.preferred_model([]) is None


class _Pickers(list):
    """Shaped like a CollectionProperty of ConditionChoice: items with a name, and add()."""

    def add(self):
        self.append(type("Choice", (), {"name": "", "value": ANY})())
        return self[-1]


def test_the_pickers_follow_the_welcome_and_keep_earlier_choices() -> None:
    """Each condition any model takes gets one picker, in the welcome's order; a picker made for
    another server's condition stays, with its choice."""
    models = [
        type("Info", (), {"conditions": OBJECTS_MODEL})(),
        type("Info", (), {"conditions": FACE_MODEL})(),
    ]
    names = s.condition_names(models)
    assert names == ["category", "gender", "emotion", "style", "view"]
    settings = type("Settings", (), {"conditions": _Pickers()})()
    assert s.add_pickers(settings, ["category", "pose"])
    settings.conditions[1].value = "sitting"
    assert s.add_pickers(settings, names)
    assert not s.add_pickers(settings, names)
    assert [c.name for c in settings.conditions] == ["category", "pose", *names[1:]]
    assert settings.conditions[1].value == "sitting"
