"""Characters in real Krita (5.1, Debian) under Xvfb, against a real server with the shipped
`faces` model: Keep character, Same character, the Character sheet (tests/krita/characters.py
presses the plugin's actions; these tests check its report). Skipped, with the reason, where
Krita or Xvfb is not installed.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from model.checkpoint import read_config, shipped
from wire.character import character_conditions
from wire.protocol import character_parts
from wire.suggestion import MAX_IN_FLIGHT

from .krita import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
SCREENSHOT_ENV = "AI_SKETCHER_SCREENSHOT_OUT"  # a path in the folder for krita-character-sheet.png
FACE_LATENT = slice(0, -32)  # a faces character's bytes without its conditions (16 float16s)


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> harness.Run:
    reason = harness.missing()
    if reason:
        pytest.skip(reason)
    if not harness.SYSTEM_PYQT.is_dir():
        pytest.fail(
            f"Krita is installed but python3-pyqt5 is not; install with: {harness.APT_LINE}"
        )
    work = tmp_path_factory.mktemp("krita-characters")
    shot = Path(os.environ.get(SCREENSHOT_ENV) or work / "krita-docker.png")
    script = Path(harness.__file__).with_name("characters.py")
    try:
        run = harness.run_krita(work, [shipped("faces")], shot, script)
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    assert "error" not in run.report, run.report["error"]
    return run


@pytest.fixture(scope="module")
def report(session) -> dict:
    return session.report


def drawn_as(character: str) -> dict[str, str]:
    """Who a `faces` character says it was drawn as (its last numbers; the one-value category
    says nothing), as the plugin keeps it."""
    vocab = read_config(shipped("faces"))["conditions"]  # the welcome's order: its attributes
    offered = {name: vocab["values"][name] for name in vocab["attributes"]}
    return {k: v for k, v in character_conditions(character, offered).items() if k != "category"}


def same_person(a: str, b: str) -> bool:
    """Two characters of `faces` hold the same person (they may differ in conditions)."""
    return character_parts(a)[1][FACE_LATENT] == character_parts(b)[1][FACE_LATENT]


def test_the_plugin_runs_with_the_faces_model_and_its_new_actions(report):
    assert report["connected"] and report["models"] == {"faces": True}
    assert report["shortcuts"]["ai_sketcher_keep_character"] == "Ctrl+Alt+K"
    assert report["shortcuts"]["ai_sketcher_character_sheet"] == "Ctrl+Alt+H"
    assert "ai_sketcher_same_character" in report["shortcuts"]
    assert report["kept_at_start"] is None
    assert report["docker_before"].startswith("No character kept")


def test_keep_character_after_accept_saves_it_in_the_document(report):
    """Keep character right after Accept keeps the accepted face's character, as a document
    annotation (so Krita marks the document modified), and the docker says who it is."""
    first = report["first"]
    assert first["request"]["mode"] == "generate" and first["request"]["character"] is None
    shown = first["showing"][0] - 1
    assert first["characters"].get(str(shown)), first
    keep = report["keep_after_accept"]
    kept = keep["kept"]
    assert kept["character"] == first["characters"][str(shown)]
    assert kept["model"] == "faces" and kept["conditions"] == drawn_as(kept["character"])
    assert kept["conditions"]["style"] == "cartoon" and kept["conditions"]["gender"]
    assert kept["source"] == f"alternative {shown + 1} on 'Faces'" and kept["strokes"] > 0
    assert keep["message"].startswith(f"Kept {kept['describe']};")
    assert keep["docker"] == f"Kept: {kept['describe']}" and keep["thumbnail"]
    assert keep["annotations"] == ["ai_sketcher_character"] and keep["modified"]
    assert keep["history_unchanged"]  # keeping is not an undo step


def test_same_character_sends_the_kept_character_and_the_server_draws_that_person(report):
    """With Same character on, Suggest sends the kept character with the docker's conditions,
    and every alternative that comes back is that person, happy."""
    kept = report["keep_after_accept"]["kept"]["character"]
    same = report["same"]
    assert report["same_on"]["on"] and same["docker_same"]
    who = ", ".join(drawn_as(kept).values())
    assert f"draw {who} (faces)" in report["same_on"]["message"], report["same_on"]["message"]
    (request,) = same["requests"]
    assert request["character"] == kept and request["mode"] == "generate"
    assert request["conditions"] == {"style": "cartoon", "emotion": "happy"}
    assert any(same["counts"]), same["message"]
    assert same["characters"] and all(same_person(c, kept) for c in same["characters"].values())
    assert "as the kept character" not in same["message"]  # the summary replaced it once done
    again = report["keep_while_shown"]["kept"]
    assert same_person(again["character"], kept)
    assert again["conditions"] == drawn_as(again["character"])
    assert again["conditions"]["emotion"] == "happy" and again["conditions"]["style"] == "cartoon"
    assert again["source"].endswith("on 'Faces 2'")
    assert report["same_off"] is False


def test_the_kept_character_is_saved_in_the_kra_and_back_when_opened(session, report):
    assert report["saved"]
    with zipfile.ZipFile(session.home.parent / "characters.kra") as kra:
        (name,) = [n for n in kra.namelist() if n.endswith("annotations/ai_sketcher_character")]
        saved = json.loads(kra.read(name))
    assert saved["character"] == report["saved_kept"]["character"]
    assert saved["model"] == "faces" and saved["format"] == 1
    reopened = report["reopened"]
    assert reopened["kept"] == report["saved_kept"] == reopened["active_kept"]


def test_character_sheet_draws_the_kept_character_on_a_new_layer_only(report):
    """The Character sheet makes a new vector layer on top with one face group per emotion and
    view, each inside its cell, all drawn from the kept character, at most MAX_IN_FLIGHT
    requests open at once; every other layer is exactly as it was."""
    kept = report["saved_kept"]["character"]
    sheet = report["sheet"]
    assert report["sheet_started"]["running"], report["sheet_started"]["message"]
    before = report["sheet_layers_before"]
    assert sheet["layers"] == [k.split(":", 1)[1] for k in before] + ["Character sheet"]
    assert sheet["types"][-1] == "vectorlayer"
    assert sheet["others"] == before  # names, visibility, opacity, shapes and pixels
    faces = [s for s in sheet["shapes"] if s["name"] != "titles"]
    titles = [s for s in sheet["shapes"] if s["name"] == "titles"]
    assert len(faces) == 21, sheet["message"]
    assert len(titles) == 1 and set(titles[0]["children"]) == {"KoSvgTextShapeID"}
    cells = {c["label"]: c["bounds"] for c in report["cells"]}
    for face in faces:
        assert face["type"] == "groupshape" and face["children"], face["name"]
        assert set(face["children"]) == {"KoPathShape"}
        label = next(
            label for label in cells if "-".join(label.replace(",", " ").split()) == face["name"]
        )
        x0, y0, x1, y1 = cells[label]
        points = [p for stroke in face["strokes"] for p in stroke]
        assert points and all(
            x0 - 0.5 <= x <= x1 + 0.5 and y0 - 0.5 <= y <= y1 + 0.5 for x, y in points
        )
    assert sheet["message"] == "Drew 21 faces of one character on 'Character sheet'."
    requests = sheet["requests"]
    assert len(requests) == 21 and all(r["sheet"] for r in requests)
    assert all(r["character"] == kept and r["use_library"] is None for r in requests)
    assert sorted(tuple(sorted(r["conditions"].items())) for r in requests) == sorted(
        (("emotion", label.split(", ")[0]), ("view", label.split(", ")[1])) for label in cells
    )
    assert max(r["sheet_open"] for r in requests) == MAX_IN_FLIGHT
    assert max(r["all_open"] for r in requests) <= MAX_IN_FLIGHT
    assert sheet["kept"]["character"] == kept  # the sheet does not change who is kept


def test_character_sheet_without_a_kept_character_makes_one_from_its_first_face(report):
    """After Forget, the sheet's first face is drawn alone from the docker's conditions, and its
    character draws the other 20 and becomes the document's kept character."""
    assert report["forgot"]["kept"] is None and report["forgot"]["annotations"] == []
    new = report["new_sheet"]
    first, *rest = new["requests"]
    assert first["character"] is None
    emotion, view = report["cells"][0]["label"].split(", ")  # the first cell's
    assert first["conditions"] == {"style": "cartoon", "emotion": emotion, "view": view}
    made = new["kept"]["character"]
    assert len(rest) == 20 and all(r["character"] == made for r in rest)
    assert not same_person(made, report["saved_kept"]["character"])
    assert new["kept"]["source"] == "the first face of a character sheet"
    assert new["layers"][-2:] == ["Character sheet", "Character sheet"]
    assert new["others"] == report["new_layers_before"]
    assert len([s for s in new["shapes"] if s["type"] == "groupshape"]) == 22


def test_screenshot_of_the_character_sheet(session, report):
    assert report.get("screenshot") is True, report.get("screenshot_path")
    assert Path(report["screenshot_path"]).stat().st_size > 20_000
