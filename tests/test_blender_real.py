"""The Blender extension in real Blender (the bpy wheel, 4.5 or 5.0) against a real server.

For each Python named by $AI_SKETCHER_BPY_PYTHON, tests/blender/harness.py installs the
extension with install.py into a throwaway user folder, and tests/blender/scenario.py presses
its operators in that Blender: Suggest, Next, Accept, Undo, Reject, Autodraw face, Autodraw all.
These tests check its report, replaying each request against the same server (same seed, same
strokes) to check the count and placement of every stroke. Skipped, with the reason, where
$AI_SKETCHER_BPY_PYTHON is not set.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest

from addons.blender import geometry

from .blender import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PYTHONS = harness.bpy_pythons() or [None]
TOL = 1e-4  # Blender stores positions as float32


@pytest.fixture(scope="module")
def url():
    """One real server for every Blender version, serving the shipped models (objects, faces)."""
    with harness.server() as address:
        yield address


@pytest.fixture(
    scope="module", params=PYTHONS, ids=lambda p: Path(p).parent.parent.name if p else "no-bpy"
)
def python(request) -> str:
    reason = harness.missing(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


@pytest.fixture(scope="module")
def run(python, url, tmp_path_factory) -> dict:
    """One scenario run in this Blender, after install.py put the extension in."""
    work = tmp_path_factory.mktemp("blender")
    try:
        installed = harness.install(python, work / "user")
        report = harness.run_script(python, "scenario.py", work / "user", url, work / "report.json")
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    assert "error" not in report, report["error"] + report["log"]
    report["install_output"] = installed
    return report


def flat(strokes, matrix=None):
    """3-D strokes from the report as protocol strokes (through `matrix`, e.g. a layer's)."""
    return [geometry.to_protocol(s["points"], matrix) for s in strokes]


def same(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert len(a) == len(b)
        assert [c for p in a for c in p] == pytest.approx([c for p in b for c in p], abs=TOL)


def test_install_py_installs_and_enables_the_extension(run):
    """install.py copies the extension and enables it; a new Blender session has it loaded."""
    assert "Installed the Blender extension" in run["install_output"]
    assert "Enabled the extension" in run["install_output"]
    assert run["enabled"] == [True, True]
    assert all(run["operators"])
    assert run["connection"].startswith("Connected to ai-sketcher/")
    # its own websockets and msgpack, under the extension's vendor/: none at the top level
    assert run["top_level_modules"] == []


def test_operators_need_a_grease_pencil_object(run):
    """Every operator is greyed out without a GP object; Accept and Reject also need a
    suggestion."""
    assert run["poll_without_object"] == [False, False, False, False]
    assert run["poll_with_object"] == [True, True, False, False]


def test_suggest_continues_the_artists_strokes_on_a_layer_of_its_own(run, url):
    """The artist's strokes go out in the plane's coordinates (layer transform applied, y
    flipped); the reply lands on "AI Sketcher", in their plane, radius and active material."""
    suggest = run["suggest"]
    assert suggest["result"] == ["FINISHED"]
    assert suggest["layers"] == ["Lines", "AI Sketcher"] and suggest["active_layer"] == "Lines"
    session = suggest["session"]
    job = session["jobs"][0]
    assert job["mode"] == "complete" and session["options"]["conditions"] == {"category": "face"}
    same(job["strokes"], flat(run["original"], run["layer_matrix"]))
    assert any(session["counts"]), "the model drew nothing for 8 seeds in a row"
    expected = harness.replay(url, job, session["options"])
    same(flat(suggest["shown"]), expected[session["current"]])
    for stroke in suggest["shown"]:
        depths = [p[1] for p in stroke["points"]]
        assert depths == pytest.approx([job["depth"]] * len(depths), abs=TOL)
        theirs = statistics.median(r for s in run["original"] for r in s["radius"])
        assert stroke["radius"][0] == pytest.approx(job["radius"]) == pytest.approx(theirs)
        assert stroke["material"] == 1 and stroke["opacity"][0] == 1.0
    assert suggest["growth"][-1] == len(expected[session["current"]])


def test_next_shows_another_alternative(run, url):
    """Next replaces the strokes on the suggestion layer with the next alternative's."""
    if "flip" not in run:
        pytest.skip("the model drew only one alternative with strokes, so Next had nothing else")
    session = run["suggest"]["session"]
    expected = harness.replay(url, session["jobs"][0], session["options"])
    assert run["flip"]["result"] == ["FINISHED"]
    assert run["flip"]["current"] != session["current"]
    same(flat(run["flip"]["shown"]), expected[run["flip"]["current"]])


def test_accept_adds_the_strokes_in_one_undo_step_and_leaves_the_artists_untouched(run):
    """Accept copies the alternative on show into the artist's layer (through the layer's
    transform) and removes the suggestion layer; the artist's strokes stay byte-identical, and
    one undo brings back the state before Accept."""
    accept = run["accept"]
    assert accept["result"] == ["FINISHED"] and accept["layers"] == ["Lines"]
    assert accept["original_untouched"]
    shown = run.get("flip", run["suggest"])["shown"]
    old, new = accept["artist"][: len(run["original"])], accept["artist"][len(run["original"]) :]
    assert old == run["original"]
    same(flat(new, run["layer_matrix"]), flat(shown))
    assert [s["material"] for s in new] == [1] * len(shown)
    assert "Edit > Undo" in accept["message"]
    undo = run["undo"]
    assert undo["layers"] == ["Lines", "AI Sketcher"]
    assert undo["artist_is_original"] and undo["suggestion_is_back"]


def test_reject_removes_the_suggestion_layer_only(run):
    assert run["reject"]["result"] == ["FINISHED"]
    assert run["reject"]["layers"] == ["Lines"] and run["reject"]["artist_is_original"]


def test_autodraw_draws_a_face_inside_the_cameras_view(run, url):
    """Autodraw asks for category=face in the box the camera sees on the object's plane, and
    the face arrives as the server drew it (a library face comes whole, in one step)."""
    auto = run["autodraw"]
    assert auto["result"] == ["FINISHED"]
    session = auto["session"]
    job = session["jobs"][0]
    assert job["mode"] == "generate" and job["strokes"] == []
    assert session["options"]["conditions"]["category"] == "face"
    assert session["options"]["model"] == "faces", "Auto picks the model that draws faces"
    camera = run["camera"]
    corners = [geometry.transform(camera["matrix"], c) for c in camera["frame"]]
    origin = [row[3] for row in camera["matrix"][:3]]
    directions = [[c - o for c, o in zip(corner, origin)] for corner in corners]
    view = geometry.camera_box([origin] * 4, directions, run["object_matrix"])
    assert job["bounds"] == pytest.approx(list(geometry.shrink(view, 0.1)), abs=TOL)
    expected = harness.replay(url, job, session["options"])[session["current"]]
    assert len(expected) > 2
    same(flat(auto["shown"]), expected)
    x0, y0, x1, y1 = view
    for x, y in (p for s in flat(auto["shown"]) for p in s):
        assert x0 - 0.5 < x < x1 + 0.5 and y0 - 0.5 < y < y1 + 0.5
    growth = [g for g in auto["growth"] if g > 0]
    assert growth == sorted(growth) and growth[-1] == len(expected)


def test_autodraw_box_with_an_orthographic_camera_or_none(run):
    """An orthographic camera's parallel rays give its view too; without a camera the face goes
    around the object's strokes (on the plane, in local units)."""
    camera = run["camera"]
    basis = [row[:3] for row in camera["matrix"][:3]]
    origins = [geometry.transform(camera["matrix"], c) for c in run["ortho"]["frame"]]
    view = geometry.camera_box(
        origins, [geometry.rotate(basis, (0, 0, -1))] * 4, run["object_matrix"]
    )
    assert run["ortho"]["where"] == "camera's view"
    assert run["ortho"]["bounds"] == pytest.approx(list(geometry.shrink(view, 0.1)), abs=TOL)
    assert run["no_camera"]["where"] == "object's strokes"
    strokes = flat(run["autodraw"]["artist"], run["layer_matrix"])
    assert run["no_camera"]["bounds"] == pytest.approx(list(geometry.bounds(strokes)), abs=TOL)


def test_accepting_a_face_keeps_the_artists_strokes(run):
    auto = run["autodraw"]
    assert auto["accept"] == ["FINISHED"] and auto["original_untouched"]
    assert len(auto["artist"]) == len(run["original"]) + len(auto["shown"])
    assert auto["artist"][: len(run["original"])] == run["original"]


def test_autodraw_all_fills_every_selected_object_with_its_own_seed(run):
    """Autodraw all draws on the current frame of each selected GP object, each its own seed."""
    everything = run["all_objects"]
    assert everything["result"] == ["FINISHED"]
    jobs = everything["session"]["jobs"]
    assert [(j["object"], j["frame"]) for j in jobs] == [("Storyboard", 1), ("Panel 2", 1)]
    assert len({j["seed"] for j in jobs}) == 2
    current = everything["session"]["current"]
    for j in jobs:
        assert everything["layers"][j["object"]] == ["Lines", "AI Sketcher"]
        assert len(everything["shown"][j["object"]]) == j["per_sample"][current]
    assert everything["reject"] == ["FINISHED"]
    assert everything["layers_after_reject"] == {"Storyboard": ["Lines"], "Panel 2": ["Lines"]}


def test_autodraw_all_fills_every_keyframe_in_the_frame_range(run):
    """With "Keyframes in range", each keyframe of the active layer in 1..20 gets a face."""
    keys = run["keyframes"]
    assert keys["result"] == ["FINISHED"]
    jobs = keys["session"]["jobs"]
    assert [j["frame"] for j in jobs] == [1, 5] and len({j["seed"] for j in jobs}) == 2
    assert keys["suggestion_frames"] == [1, 5]


def test_problems_are_reported_in_plain_words(run):
    """An empty layer is refused without touching the object; a missing server is explained
    with the command that starts it, in the operator's report and in the panel."""
    assert run["empty_layer"]["result"] == ["CANCELLED"]
    assert "AI Sketcher" not in run["empty_layer"]["layers"]
    error = run["no_server"]["result"]
    assert error[0] == "ERROR"
    assert "No AI-Sketcher server is running at ws://127.0.0.1:9" in error[1]
    assert "python -m sketch_server --port 9" in error[1]
    labels = [c for c in run["no_server"]["panel"]["calls"] if c[0] == "label"]
    assert labels[0][3] == "ERROR"


def test_panel_draws_with_real_properties_icons_and_operators(run):
    """The sidebar panel's draw() only names properties, icons and operators that exist."""
    panel = run["panel_during_suggestion"]
    assert panel["bad_icons"] == [] and panel["operators_missing"] == []
    props = [(c[1][1], c[2]) for c in panel["calls"] if c[0] == "prop"]
    assert props[0][0] == "model" and props[1] == ("value", "Category")
    assert ("variety", "") in props
    assert any(c[2].startswith("Alternative ") for c in panel["calls"] if c[0] == "label")


def test_the_condition_pickers_are_the_ones_the_welcome_lists(run):
    """Every condition a model of the server takes gets a picker, in the welcome's order, and
    no other (the add-on names none itself)."""
    names = list(dict.fromkeys(n for model in run["welcome_conditions"] for n in model))
    assert names and run["pickers"] == names


def test_variety_starts_at_each_models_best_and_keeps_the_artists_choice(run):
    """Variety shows the chosen model's measured best from the welcome until the artist moves
    it; the artist's value is kept for that model only and saved with the scene."""
    seen = run["variety"]
    models = seen["models"]
    auto = "faces" if "faces" in models else next(iter(models))  # the face model, if served
    assert seen["auto"] == pytest.approx(models[auto])
    assert seen["auto_after"] == pytest.approx(0.8) and seen["auto_back"] == pytest.approx(0.8)
    for name, best in models.items():
        assert seen[name] == pytest.approx(0.8 if name == auto else best), name


def test_refine_at_strength_0_and_1_gives_different_redraws(run):
    """Optimize my drawing sends a refine with the panel's Strength; with the same seed,
    Strength 0 and 1 draw different strokes, and the artist's layer is not touched."""
    out = run["refine"]
    shown = {}
    for strength in ("0.0", "1.0"):
        got = out[strength]
        assert got["result"] == ["FINISHED"]
        assert got["session"]["jobs"][0]["mode"] == "refine"
        assert got["session"]["options"]["strength"] == float(strength)
        assert got["shown"], got["session"]["message"]
        shown[strength] = got["shown"]
    assert shown["0.0"] != shown["1.0"]
    assert out["artist_untouched"]


def test_shadow_guide_appears_under_the_layer_and_follows_each_stroke(run):
    """With the guide on, each stroke brings a faint, locked "AI Guide" layer just below the
    artist's, with the real drawings' strokes (opacity from weight); it follows the second
    stroke; the artist's strokes stay byte-identical, through Accept and Undo too; off removes
    the guide layer."""
    g = run["guide"]
    assert g["on"]
    first, second = g["steps"]
    for step in (first, second):
        assert step["shown"], step["message"]
        assert step["layers"] == ["AI Guide", "Lines"]  # bottom first: the guide is below
        assert step["active_layer"] == "Lines"
        assert step["opacity"] == pytest.approx(0.25) and step["lock"]
        assert step["strokes"], "the guide layer has no strokes"
        assert step["artist_untouched"]
    opacities = {round(p, 3) for s in first["strokes"] for p in s["opacity"]}
    assert max(opacities) == 1.0
    assert g["accept"] in (["FINISHED"], ["CANCELLED"])
    assert g["artist_after_accept_undo"]
    assert "AI Guide" not in g["off"]["layers"] and g["off"]["artist_untouched"]


def test_trace_image_draws_the_references_line_drawing_on_a_layer_of_its_own(run):
    """Trace image with a reference image selected: a new layer "Trace of Photo" whose strokes
    lie in the picture's plane, around its dark disc; the artist's layer is untouched."""
    out = run["trace"]
    assert out["poll"] and out["result"] == ["FINISHED"], out
    assert "Trace of Photo" in out["layers"] and out["artist_untouched"]
    assert out["message"].startswith("Traced ") and len(out["local"]) >= 1
    points = [p for stroke in out["local"] for p in stroke]
    assert all(abs(z) < 1e-4 for _, _, z in points), "in the picture's plane"
    # the picture: 320 x 240 pixels over 4 x 3 units, centred; the disc's centre is at (0, 0)
    # and its radius 70 pixels, 0.875 units
    on_disc = [p for p in points if abs(math.hypot(p[0], p[1]) - 0.875) < 0.1]
    assert len(on_disc) > 0.5 * len(points), "the strokes trace the disc"
