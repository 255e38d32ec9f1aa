"""Characters in the Blender extension, in real Blender (the bpy wheel, 4.5 or 5.0) against a
real server with the shipped `faces` model.

tests/blender/characters.py keeps the character of a suggestion's alternative (flipped to and
accepted), autodraws three keyframes with it (timeline markers "happy" and "sad, mid-profile
left" on two of them), draws a character sheet from it and one of a new character, and saves
and reopens the file. These tests check its report against the server: the requests carried the
character and each frame's conditions, the strokes are the ones the server draws for them, and
the characters that came back are the kept person. Skipped, with the reason, where
$AI_SKETCHER_BPY_PYTHON is not set.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from addons.blender import geometry
from model import character as C
from model.checkpoint import Checkpoint, load, shipped

from .blender import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PYTHONS = harness.bpy_pythons() or [None]
MARKED = {
    1: {"category": "face", "emotion": "happy"},  # the marker "happy"
    5: {"category": "face", "emotion": "sad", "view": "mid-profile left"},  # its marker
    9: {"category": "face", "emotion": "angry"},  # no marker: the panel's emotion (not gender)
}


@pytest.fixture(scope="module")
def url():
    with harness.server() as address:
        yield address


@pytest.fixture(scope="module")
def faces() -> Checkpoint:
    """The server's faces model, to read the characters it sent (the same weights)."""
    return load(shipped("faces"))


@pytest.fixture(
    scope="module", params=PYTHONS, ids=lambda p: Path(p).parent.parent.name if p else "no-bpy"
)
def run(request, url, tmp_path_factory) -> dict:
    """One run of tests/blender/characters.py in this Blender, after install.py."""
    python = request.param
    reason = harness.missing(python)
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("characters")
    try:
        harness.install(python, work / "user")
        report = harness.run_script(
            python, "characters.py", work / "user", url, work / "report.json", [str(work)]
        )
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    assert "error" not in report, report["error"] + report["log"]
    return report


def person(faces: Checkpoint, character: str) -> tuple[np.ndarray, dict[str, str]]:
    """Who a character draws (its identity) and the conditions it was drawn under."""
    return C.decode(faces, character)


def flat(strokes):
    return [geometry.to_protocol(s["points"] if isinstance(s, dict) else s) for s in strokes]


def replayed(url: str, job: dict, options: dict, **changes) -> list:
    """The strokes the server draws for a job as the add-on sent it (its own conditions and
    character), with `changes`."""
    sent = {**options, "conditions": job["conditions"], "character": job["character"]}
    return harness.replay(url, job, {**sent, **changes})[0]


def same(got, expected, tol=1e-3):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert np.asarray(a) == pytest.approx(np.asarray(b), abs=tol)


def test_keep_character_keeps_the_alternative_flipped_to_and_accepted(run, faces):
    """Keep character is greyed out until a suggestion with a character is on show; flipped to
    another alternative and accepted, that alternative's character is kept, with the gender
    and style asked for, and the Character panel shows it."""
    first = run["first"]
    job = first["session"]["jobs"][0]
    assert first["keep_poll_before"] is False
    assert first["keep_poll_first_shown"] == bool(job["characters"].get(str(first["first_shown"])))
    assert first["flips"] and set(map(tuple, first["flips"])) == {("FINISHED",)}
    assert first["current"] != first["first_shown"], "an alternative flipped to"
    assert first["keep_poll"] and first["accept"] == ["FINISHED"] and first["keep"] == ["FINISHED"]
    kept = first["kept"]
    assert kept["character"] == job["characters"][str(first["current"])]
    assert kept["model"] == "faces" and kept["same"] is True
    assert kept["traits"] == '{"gender": "female", "style": "cartoon"}'
    assert "female, cartoon" in first["message"]
    _, drawn_as = person(faces, kept["character"])
    assert drawn_as["gender"] == "female" and drawn_as["style"] == "cartoon"
    keep = [c for c in first["panel_during"]["calls"] if c[1] == ["ai_sketcher.keep_character"]]
    assert keep and keep[0][2] == f"Keep character of alternative {first['current'] + 1}"


def test_the_character_panel_shows_for_a_model_that_keeps_characters(run):
    """The Character sub-panel: Keep character and Character sheet; once one is kept, what it
    is, Same character and Forget. It names only real icons, properties and operators."""
    for panel in (run["first"]["panel_before"], run["first"]["panel_after"]):
        assert panel["poll"] and panel["bad_icons"] == [] and panel["operators_missing"] == []
    ops = [c[1][0] for c in run["first"]["panel_after"]["calls"] if c[0] == "operator"]
    assert ops == [
        "ai_sketcher.forget_character",
        "ai_sketcher.keep_character",
        "ai_sketcher.character_sheet",
    ]
    labels = [c[2] for c in run["first"]["panel_after"]["calls"] if c[0] == "label"]
    assert labels[0] == "A face from 'faces': female, cartoon."
    props = [c[1][1] for c in run["first"]["panel_after"]["calls"] if c[0] == "prop"]
    assert props == ["same_character"]


def test_autodraw_all_draws_the_kept_character_with_each_frames_marker(run, url, faces):
    """Every keyframe's request carries the kept character, with the emotion and view of the
    marker on its frame (else the panel's emotion; the panel's gender is the character's to
    say): the strokes on each frame are what the server draws for exactly that request, and
    the person that came back is the kept one, looking as the marker says."""
    marked = run["markers"]
    kept = run["first"]["kept"]["character"]
    identity, own = person(faces, kept)
    assert marked["result"] == ["FINISHED"]
    jobs = marked["session"]["jobs"]
    assert [j["frame"] for j in jobs] == list(MARKED)
    options = marked["options"]
    for job in jobs:
        assert job["character"] == kept and job["conditions"] == MARKED[job["frame"]]
        got = marked["frames"][str(job["frame"])]
        assert got and len(got) == job["per_sample"][0], job["frame"]
        same(flat(got), replayed(url, job, options))
        back, drawn_as = person(faces, job["characters"]["0"])
        assert np.array_equal(back, identity), "the same person"
        wanted = {**own, **MARKED[job["frame"]]}  # what the network chose itself may add to it
        assert {k: drawn_as.get(k) for k in wanted} == wanted, "looking as the marker says"
    other = replayed(url, jobs[1], options, character=None)
    shown = flat(marked["frames"]["5"])
    assert len(shown) != len(other) or not all(
        np.allclose(a, b, atol=1e-3) for a, b in zip(shown, other)
    ), "the character decides the face"


def test_same_character_off_draws_as_before(run):
    """With Same character off, Autodraw all sends no character and the panel's conditions."""
    without = run["markers"]["without"]
    assert without["result"] == ["FINISHED"]
    assert [(j["character"], j["conditions"]) for j in without["session"]["jobs"]] == [
        (None, None)
    ] * 3
    assert without["session"]["options"]["conditions"] == {
        "category": "face",
        "gender": "male",
        "emotion": "angry",
    }


def cells_of(sheet: dict) -> list[tuple[float, float, float, float]]:
    return [tuple(j["bounds"]) for j in sheet["session"]["jobs"]]


def check_sheet(sheet: dict, run: dict, faces: Checkpoint, character: str) -> None:
    """A new object holding one face per emotion x view in its own cell, the character's."""
    assert sheet["result"] == ["FINISHED"] and sheet["active_is_sheet"]
    assert sheet["layers"] == ["Faces"] and sheet["others_untouched"]
    jobs = sheet["session"]["jobs"]
    emotions = ["angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"]
    views = ["frontal", "mid-profile left", "mid-profile right"]
    assert [j["conditions"] for j in jobs[1:]] == [
        {"category": "face", "emotion": e, "view": v} for v, e in itertools.product(views, emotions)
    ][1:]
    assert all(j["per_sample"][0] > 0 and j["error"] is None for j in jobs), sheet["summary"]
    assert sheet["summary"] == "The character sheet has 21 of 21 faces."
    identity, _ = person(faces, character)
    for job in jobs:
        back, drawn_as = person(faces, job["characters"]["0"])
        assert np.array_equal(back, identity)
        assert {k: drawn_as[k] for k in ("emotion", "view")} == {
            k: job["conditions"][k] for k in ("emotion", "view")
        }
    # the layer holds every face's strokes and nothing else; each face lies in its cell (a
    # strand of hair under the chin may reach a quarter of a cell out of it)
    layer = [np.asarray(s) for s in flat(sheet["strokes"])]
    for stroke in (np.asarray(s) for j in jobs for s in j["received"]):
        found = next(
            i
            for i, got in enumerate(layer)
            if got.shape == stroke.shape and np.allclose(got, stroke, atol=1e-4)
        )
        del layer[found]
    assert layer == []
    for job in jobs:
        x0, y0, x1, y1 = job["bounds"]
        points = np.asarray([p for s in job["received"] for p in s])
        middle = (points.min(0) + points.max(0)) / 2
        assert x0 < middle[0] < x1 and y0 < middle[1] < y1, job["conditions"]
        margin = (x1 - x0) / 4
        assert (points >= (x0 - margin, y0 - margin)).all(), job["conditions"]
        assert (points <= (x1 + margin, y1 + margin)).all(), job["conditions"]


def test_a_character_sheet_can_be_stopped(run):
    """Reject stops a sheet while it draws; its object stays."""
    stopped = run["stopped"]
    assert stopped["result"] == ["FINISHED"] and stopped["running"]
    assert stopped["object"] == "Character sheet" and stopped["still_there"]
    assert stopped["stop"] == ["FINISHED"] and not stopped["session"]
    assert stopped["message"] == "Stopped the character sheet; the faces drawn so far stay on it."


def test_character_sheet_draws_the_kept_character_per_emotion_and_view(run, faces):
    """Character sheet: a new Grease Pencil object with 21 faces of the kept character, one per
    emotion x view, each in its cell; the scene's other objects are as they were. It starts
    right after a stopped sheet, whose cancelled requests the server still counts as open for
    a moment: every face is drawn all the same (none refused as one request too many)."""
    sheet = run["sheet"]
    kept = run["first"]["kept"]["character"]
    assert sheet["object"] == "Character sheet.001"
    assert all(j["character"] == kept for j in sheet["session"]["jobs"])
    assert sheet["session"]["jobs"][0]["conditions"] == {
        "category": "face",
        "emotion": "angry",
        "view": "frontal",
    }
    check_sheet(sheet, run, faces, kept)


def test_character_sheet_of_a_new_character(run, faces):
    """With none kept, the first face is drawn from the panel's conditions by the network, and
    the others draw the character it came back with."""
    sheet = run["new_sheet"]
    assert run["forgotten"]["character"] == ""
    assert sheet["object"] == "Character sheet.002"
    jobs = sheet["session"]["jobs"]
    assert jobs[0]["character"] is None
    new = jobs[0]["characters"]["0"]
    assert new and new != run["first"]["kept"]["character"]
    assert all(j["character"] == new for j in jobs[1:])
    check_sheet(sheet, run, faces, new)


def test_the_kept_character_is_saved_with_the_file(run):
    """Kept, saved, another file opened (it keeps none), the file reopened: the character is
    there, and Autodraw face draws it."""
    reopen = run["reopen"]
    new = run["new_sheet"]["session"]["jobs"][0]["characters"]["0"]
    assert reopen["keep"] == ["FINISHED"] and reopen["kept"]["character"] == new
    assert reopen["forgotten_in_other_file"] == ""
    assert reopen["kept_after"] == reopen["kept"]
    assert reopen["autodraw"] == ["FINISHED"]
    job = reopen["session"]["jobs"][0]
    assert job["character"] == new and job["per_sample"][0] > 0
