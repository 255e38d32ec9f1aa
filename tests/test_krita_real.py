"""The Krita plugin in real Krita (5.1, Debian) under Xvfb, against a real server.

One Krita session (tests/krita/harness.py) installs the plugin with install.py, starts Krita,
and the plugin's self-test hook presses the real actions: Suggest on a vector layer, Next,
Accept, Undo, Suggest + Reject, and the same on a paint layer. These tests check its report.
Skipped, with the reason, where Krita or Xvfb is not installed.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from .krita import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
SCREENSHOT_ENV = "AI_SKETCHER_SCREENSHOT_OUT"  # keep the docker screenshot here (for docs/)


@pytest.fixture(scope="module")
def session(tmp_path_factory, model_dir) -> harness.Run:
    """One real Krita run shared by the tests below."""
    reason = harness.missing()
    if reason:
        pytest.skip(reason)
    if not harness.SYSTEM_PYQT.is_dir():
        pytest.fail(
            f"Krita is installed but python3-pyqt5 is not, so Krita cannot load Python "
            f"plugins; install with: {harness.APT_LINE}"
        )
    work = tmp_path_factory.mktemp("krita")
    shot = Path(os.environ.get(SCREENSHOT_ENV) or work / "krita-docker.png")
    try:
        run = harness.run_krita(work, model_dir, shot)
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    assert "error" not in run.report, run.report["error"]
    return run


@pytest.fixture(scope="module")
def report(session) -> dict:
    return session.report


def test_install_enables_the_plugin_and_krita_loads_it(session, report):
    """install.py enables the plugin in kritarc; Krita loads it with its shortcuts and docker."""
    kritarc = (session.home / ".config" / "kritarc").read_text()
    assert re.search(r"^enable_ai_sketcher=true$", kritarc, re.MULTILINE)
    assert report["krita"].startswith("5.") and report["exit_code"] == 0
    assert report["shortcuts"]["ai_sketcher_suggest"] == "Ctrl+Alt+A"
    assert report["docker_visible"]
    assert report["connected"], report["connection_text"]
    # its own websockets and msgpack, under ai_sketcher.vendor: none at the top level
    assert report["top_level_modules"] == []


def test_variety_starts_at_the_models_best_and_keeps_the_artists_choice(report):
    """Before the artist moves it, Variety is the model's measured best from the welcome; once
    moved it is remembered for that model (and another model shows its own)."""
    variety = report["variety"]
    assert variety["best"] is not None and variety["start"] == variety["best"]
    assert variety["after"] == 0.8
    if "other" in variety:
        assert variety["other"][0] == variety["other"][1] and variety["back"] == 0.8


def test_reads_the_artists_strokes_with_curves_and_transforms(report):
    """Shape SVG becomes polylines: Beziers flattened, Z closed, the eyes' transform applied."""
    outline, left_eye, right_eye = report["input_strokes"]
    assert len(outline) > 20 and outline[0] == outline[-1] == pytest.approx([390, 220])
    # the eyes are "translate(320, 200) scale(1.2)" applied to (-25, 0)..(-11, 0), (11, 0)..(25, 0)
    assert left_eye[0] == pytest.approx([290, 200]) and left_eye[-1] == pytest.approx([306.8, 200])
    assert right_eye[0] == pytest.approx([333.2, 200])
    assert right_eye[-1] == pytest.approx([350, 200])
    assert len(left_eye) > 2 and min(y for _, y in left_eye) < 196  # the curve bulges upwards


def test_suggestion_is_drawn_on_its_own_layer(report):
    """The reply goes on an "AI suggestions" layer above the artist's; theirs is untouched."""
    after = report["after_suggest"]
    assert after["finished"], after["message"]
    counts = {int(k): v for k, v in after["alternatives"].items()}
    assert any(counts.values()), f"no strokes in {report['attempts']} suggestions"
    names = [layer["name"] for layer in after["layers"]]
    assert names == ["Background", "Sketch", "AI suggestions"]
    assert after["active_layer"] == "Sketch"  # the artist keeps drawing on their own layer
    shapes = after["suggestion_shapes"]
    assert len(shapes) == sum(counts.values())
    assert after["original_unchanged"]
    assert after["original_shapes"] == report["original_shapes"]
    assert report["pen"] == ["#2a62c9", 3.0]  # the foreground colour and brush the test set
    for shape in shapes:
        assert 'fill="none"' in shape["svg"] and 'stroke="#2a62c9"' in shape["svg"]
        assert 'stroke-width="3"' in shape["svg"]  # the 3 px brush at 72 dpi is 3 pt
    shown = after["showing"][0] - 1  # only the alternative on show is visible
    assert sum(shape["visible"] for shape in shapes) == counts[shown] > 0


def test_next_shows_the_next_alternative_with_strokes(report):
    """Next hides the alternative on show and shows the next one that has strokes."""
    counts = {int(k): v for k, v in report["after_suggest"]["alternatives"].items()}
    if sum(1 for v in counts.values() if v) < 2:
        pytest.skip(
            f"the model drew only one alternative with strokes ({counts}) in "
            f"{report['attempts']} tries, so Next had nothing else to show"
        )
    before = report["after_suggest"]["showing"][0] - 1
    after = report["after_next"]
    shown = after["showing"][0] - 1
    assert shown != before and counts[shown] > 0
    assert all(not counts.get(i) for i in range(before + 1, shown))  # empty ones are skipped
    assert sum(after["visible"]) == counts[shown]


def test_accept_copies_the_chosen_strokes_in_one_undo_step(report):
    """Accept adds the shown alternative to the artist's layer, drops the suggestion layer,
    and one Undo takes exactly those strokes back."""
    after = report["after_accept"]
    assert [layer["name"] for layer in after["layers"]] == ["Background", "Sketch"]
    shapes = [shape["svg"] for shape in after["artist_shapes"]]
    original = [shape["svg"] for shape in report["original_shapes"]]
    assert len(shapes) == len(original) + report["chosen_strokes"]
    assert all(shape in shapes for shape in original)  # every original shape, unchanged
    assert after["active_layer"] == "Sketch"
    n = report["chosen_strokes"]
    assert after["history"][-2:] == [
        "Remove Layer",
        "Create shape" if n == 1 else f"Create {n} shapes",
    ]
    assert report["after_undo"]["artist_svg_is_original"]
    assert "Undo" in after["message"]


def test_reject_removes_the_suggestion_layer_only(report):
    """Reject removes the suggestion layer and leaves the artist's layer as it was."""
    assert "AI suggestions" in [layer["name"] for layer in report["second_suggestion_layers"]]
    after = report["after_reject"]
    assert [layer["name"] for layer in after["layers"]] == ["Background", "Sketch"]
    assert after["artist_svg_is_original"]


def test_suggest_and_next_on_a_paint_layer_leave_its_pixels_alone(report):
    """On a paint layer the plugin sends its pixels; suggestions appear on the vector
    "AI suggestions" layer above it, Next flips them, and the layer's pixels do not change."""
    assert report["paint_original_ink"] > 1000  # the painted cat face is there
    after = report["paint_suggest"]
    assert any(after["alternatives"]), f"no strokes in {report['paint_attempts']} suggestions"
    assert after["layers"] == ["Background", "Sketch", "Ink", "AI suggestions"]
    assert after["active_layer"] == "Ink" and after["pixels_unchanged"]
    if sum(1 for v in after["alternatives"] if v) >= 2:
        assert report["paint_next"]["showing"] != after["showing"]
    assert report["paint_next"]["pixels_unchanged"]


def test_accept_on_a_paint_layer_paints_the_strokes_in_one_undo_step(report):
    """Accept merges the alternative on show down into the paint layer in the pen's colour
    (one "Merge Down" step); one Undo gives back the exact pixels and the suggestion."""
    accept = report["paint_accept"]
    assert report["paint_chosen"] > 0
    assert accept["layers"] == ["Background", "Sketch", "Ink"], accept["message"]
    assert not accept["pixels_unchanged"] and accept["pen_pixels"] > 20
    assert accept["history"][-1] == "Merge Down", accept["history"]
    assert "Undo" in accept["message"]
    undo = report["paint_undo"]
    assert undo["pixels_unchanged"] and undo["pen_pixels"] == 0
    assert undo["layers"] == ["Background", "Sketch", "Ink", "AI suggestions"]
    assert undo["showing"][1] > 0, undo["message"]  # the suggestion is back to accept or reject


def test_reject_on_a_paint_layer_leaves_nothing_behind(report):
    """Reject removes the suggestion layer; the paint layer's pixels are as painted."""
    for step in ("paint_reject", "paint_reject_again"):
        assert report[step]["layers"] == ["Background", "Sketch", "Ink"]
        assert report[step]["pixels_unchanged"]
        assert report[step]["showing"] == [0, 0]


def test_a_paint_layer_is_read_inside_the_selection_or_where_it_has_paint(report):
    """The raster covers the selection (or the canvas) cropped to where the layer has paint."""
    x0, y0, x1, y1 = report["paint_whole_box"]  # the face: 250..390 x 146..294, 4 px pen
    assert 245 <= x0 <= 250 and 141 <= y0 <= 146 and 390 <= x1 <= 395 and 294 <= y1 <= 299
    assert report["paint_selection_box"] == [300, 150, x1, 210]  # selected 300..400 x 150..210


def test_shadow_guide_follows_a_paint_layer(report):
    """With the guide on, painting on a paint layer brings a guide layer below it with shapes;
    the paint layer's pixels stay as painted, and turning the guide off removes it."""
    guide = report["paint_guide"]
    assert guide["guided"], guide["message"]
    assert guide["layers"] == ["Background", "Sketch", "AI guide", "Ink"]
    assert guide["shapes"] > 0 and guide["pixels_unchanged"]
    before, after = report["paint_thumbnail_signatures"]  # big layers: through a thumbnail
    assert before != after
    off = report["paint_guide_off"]
    assert off["layers"] == ["Background", "Sketch", "Ink"] and off["pixels_unchanged"]


def test_screenshot_of_the_docker(session):
    """The self-test saved a screenshot of the window with the docker on show."""
    assert session.report["screenshot"] is True
    assert session.screenshot.stat().st_size > 20_000
    assert session.report["guide_screenshot"] is True
    guide = session.screenshot.with_name(session.screenshot.stem + "-guide.png")
    assert guide.stat().st_size > 20_000


def test_refine_redraws_the_strokes_with_the_strength_slider(report):
    """Optimize my drawing asks for a refine at the docker's Strength; 0 and 1 differ, and the
    artist's layer is not touched."""
    refine = report["refine"]
    for strength in ("0.0", "1.0"):
        assert refine[strength]["kind"] == "refine", refine[strength]["message"]
        assert refine[strength]["strokes"], refine[strength]["message"]
    assert refine["0.0"]["strokes"] != refine["1.0"]["strokes"]
    assert report["refine_artist_unchanged"]


def test_shadow_guide_follows_each_stroke_on_a_faint_locked_layer_below(report):
    """With the guide on, each stroke on the vector layer brings a guide layer below it with
    the real drawings as shapes; it follows the second stroke; the artist's layer is
    byte-identical to what they drew."""
    assert report["guide_on"]
    first, second = report["guide_steps"]
    for step in (first, second):
        assert step["guided_this_drawing"], step["message"]
        assert step["layers"] == ["Background", "AI guide", "Sketch"]
        assert step["active_layer"] == "Sketch"
        assert step["shapes"] and step["opacity"] == 64 and step["locked"]
        assert step["artist_unchanged"]
    # opacity follows weight: the best drawing is opaque, the others fainter
    assert any('stroke-opacity="0.' in shape["svg"] for shape in first["shapes"])
    assert second["artist_svg"] != first["artist_svg"]  # the second stroke is on the layer


def test_saving_with_the_guide_on_keeps_the_artists_work_and_off_removes_the_guide(session, report):
    """A .kra saved with the guide on holds the artist's layer with their strokes; turning
    the guide off removes its layer and nothing else."""
    import zipfile

    assert report["saved"]
    assert report["after_save"]["artist_svg"] == report["saved_artist_svg"]
    with zipfile.ZipFile(session.home.parent / "guided.kra") as kra:
        maindoc = kra.read("maindoc.xml").decode()
        svgs = [kra.read(n).decode() for n in kra.namelist() if n.endswith(".svg")]
    assert 'name="Sketch"' in maindoc and 'name="AI guide"' in maindoc
    assert any("280" in s and "320" in s and "#202020" in s for s in svgs)
    off = report["guide_off"]
    assert off["layers"] == ["Background", "Sketch"]
    assert off["artist_svg"] == report["saved_artist_svg"]


def test_trace_layer_puts_the_photos_line_drawing_on_a_new_vector_layer(report):
    """Trace layer on a paint layer holding a photo: strokes on a vector layer "Trace of Photo"
    right above it, around the photo's dark disc; the photo's pixels are untouched."""
    trace = report["trace"]
    assert report["trace_started"] == "Tracing 'Photo'…"
    assert trace["type"] == "vectorlayer" and trace["pixels_unchanged"], trace
    assert trace["layers"].index("Trace of Photo") == trace["layers"].index("Photo") + 1
    assert trace["shapes"] >= 2 and trace["message"].startswith("Traced 'Photo' into ")
    # the disc: centre (320, 200), radius 120 pixels, and the document is 640 x 400 pixels at
    # 72 dpi, so a point is a pixel
    assert trace["size_pt"] == [640.0, 400.0]
    points = [p for stroke in trace["strokes"] for p in stroke]
    on_disc = [p for p in points if abs(math.dist(p, (320, 200)) - 120) < 8]
    assert len(on_disc) > len(points) * 0.3, "much of the drawing is the disc's outline"
