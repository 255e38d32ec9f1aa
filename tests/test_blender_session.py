"""The Blender operators' pure logic (addons/blender/session.py): streaming, alternatives, seeds
and conditions, without Blender."""

from __future__ import annotations

import pytest

from addons.blender import session as s
from addons.blender.session import ANY, Job, Request, Session, Target

A = [[0.0, 0.0], [1.0, 1.0]]
B = [[2.0, 2.0], [3.0, 3.0]]
C = [[4.0, 4.0], [5.0, 5.0]]
FACE_MODEL = {"category": ("cat", "face"), "gender": ("female", "male"),
              "emotion": ("happy", "sad"), "style": (), "view": ("front", "side")}
OBJECTS_MODEL = {"category": ("cat", "face", "tree")}


def job(name: str = "Sketch", frame: int = 1) -> Job:
    return Job(Target(name, "Lines", frame), Request(mode="complete", strokes=[A]))


def started(n: int = 2, jobs: int = 1) -> Session:
    """A session whose jobs are all submitted, with ids j1, j2, ..."""
    session = Session("suggest", [job(frame=i + 1) for i in range(jobs)], n)
    for i, j in enumerate(session.to_submit()):
        session.submitted(j, f"j{i + 1}")
    return session


def drain(session: Session) -> list[tuple[int, bool, int]]:
    """Apply the pending draws as the timer would: (frame, clear, strokes) per draw."""
    out = []
    for draw in session.pending_draws():
        out.append((draw.job.target.frame, draw.clear, len(draw.strokes)))
        session.drawn(draw)
    return out


def test_strokes_are_drawn_one_by_one_as_they_stream():
    """Each tick draws only the strokes that arrived since the last one, in index order."""
    session = started()
    assert drain(session) == []
    assert session.stroke("j1", 0, 0, A)
    assert drain(session) == [(1, False, 1)]
    session.stroke("j1", 0, 1, B)
    session.stroke("j1", 1, 0, C)  # another alternative: kept, not drawn
    assert drain(session) == [(1, False, 1)]
    assert session.jobs[0].drawn == 2 and session.counts() == [2, 1]


def test_a_stroke_after_a_gap_waits_for_the_missing_one():
    """Strokes go on the layer in index order, so one that arrives early waits."""
    session = started()
    session.stroke("j1", 0, 1, B)
    assert drain(session) == []
    session.stroke("j1", 0, 0, A)
    assert drain(session) == [(1, False, 2)]


def test_done_fills_in_strokes_that_were_not_streamed():
    """`done` carries every stroke; the ones missed while streaming are drawn from it."""
    session = started(n=1)
    session.stroke("j1", 0, 0, A)
    drain(session)
    assert session.done("j1", [[A, B, C]])
    assert drain(session) == [(1, False, 2)] and not session.running


def test_messages_of_other_jobs_are_ignored():
    session = started()
    assert not session.stroke("other", 0, 0, A)
    assert not session.done("other", [[A]])
    assert not session.error("other", "no")
    assert session.running


def test_flip_wraps_around_and_redraws_the_layer():
    """Next from the last alternative shows the first; flipping empties the layer first."""
    session = started(n=3)
    for i, stroke in enumerate((A, B, C)):
        session.stroke("j1", i, 0, stroke)
    drain(session)
    assert session.flip(-1) == 2
    assert drain(session) == [(1, True, 1)]
    assert session.flip(1) == 0 and session.flip(1) == 1
    assert drain(session) == [(1, True, 1)]


def test_flip_skips_empty_alternatives_once_drawing_is_over():
    """While drawing, an empty alternative may still fill up; afterwards it is skipped."""
    session = started(n=3)
    session.stroke("j1", 0, 0, A)
    assert session.flip(1) == 1  # still running: alternative 2 may get strokes
    session.done("j1", [[A], [], [C]])
    assert session.flip(1) == 2 and session.flip(1) == 0 and session.flip(-1) == 2


def test_done_shows_an_alternative_with_strokes_when_the_current_one_is_empty():
    """The model may leave alternatives empty; the first one with strokes is put on show."""
    session = started(n=3)
    session.done("j1", [[], [], [B]])
    assert session.current == 2
    assert drain(session) == [(1, True, 1)]


def test_empty_empty_result_and_errors_are_summed_up():
    """A result without strokes, or a failed job, ends the session with a plain message."""
    session = started(n=2)
    session.done("j1", [[], []])
    assert "nothing to add" in s.summary(session)
    failed = started(n=1)
    assert failed.error("j1", "Model 'x' is not on this server.")
    assert not failed.running
    assert s.summary(failed) == ("The server could not draw this: Model 'x' is not on this "
                                 "server.")


def test_at_most_three_jobs_are_open_at_once():
    """Autodraw all sends its jobs three at a time (the server allows four per connection)."""
    session = Session("autodraw_all", [job(frame=f) for f in range(1, 6)], 1)
    first = session.to_submit()
    assert [j.target.frame for j in first] == [1, 2, 3]
    for i, j in enumerate(first):
        session.submitted(j, f"j{i + 1}")
    assert session.to_submit() == []
    session.done("j2", [[A]])
    assert [j.target.frame for j in session.to_submit()] == [4]
    session.failed(session.jobs[0], "gone")
    assert [j.target.frame for j in session.to_submit()] == [4, 5]


def test_summary_counts_frames_and_progress():
    session = started(n=1, jobs=2)
    session.stroke("j1", 0, 0, A)
    assert s.summary(session) == ("Drawing (0 of 2 done)... alternative 1 has 1 stroke so far "
                                  "on 2 frames.")
    session.done("j1", [[A]])
    session.done("j2", [[B, C]])
    assert s.summary(session) == ("Alternative 1 of 1: 3 strokes on 2 frames. Accept adds it "
                                  "to your layer, Reject removes it.")


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
        "category": "face", "gender": "male", "style": "ink"}  # view "up" is not offered
    assert s.conditions_for(OBJECTS_MODEL, chosen, face=True) == {"category": "face"}
    assert s.conditions_for({}, chosen, face=True) == {}


def test_suggest_sends_only_the_chosen_conditions():
    chosen = {"category": "cat", "gender": "male"}
    assert s.conditions_for(OBJECTS_MODEL, chosen, face=False) == {"category": "cat"}
    assert s.conditions_for(OBJECTS_MODEL, {"category": ANY}, face=False) == {}
    assert s.conditions_for(OBJECTS_MODEL, {"category": ""}, face=False) == {}


@pytest.mark.parametrize(("offered", "problem"), [
    (OBJECTS_MODEL, None), (FACE_MODEL, None), ({}, None), ({"category": ()}, None),
    ({"category": ("cat", "tree")}, "no 'face' category"),
    ({"category": ("cat",), "gender": ("male",)}, None),
])
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
    """"Auto" picks the model with face conditions, else the server's default; None before a
    welcome."""
    from sketch_server.protocol import ModelInfo

    objects = ModelInfo(name="objects", conditions={"category": ("cat", "face")})
    faces = ModelInfo(name="faces", conditions={"category": ("face",), "gender": ("female",)})
    plain = ModelInfo(name="plain", conditions={})
    assert s.preferred_model([objects, faces]) is faces
    assert s.preferred_model([objects, plain]) is objects
    assert s.preferred_model([]) is None
