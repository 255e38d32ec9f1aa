"""The Krita plugin's characters without Krita (characters.py, svg.py's groups and titles): the
kept character as the document saves it, when a request sends it, the Character sheet's layout
on the page and its run of requests. tests/test_krita_real_characters.py runs them in Krita."""

from __future__ import annotations

import itertools
import json
import struct
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from wire.protocol import character_text

from .addons_built import addon_module

C = addon_module("krita", "characters")
svg = addon_module("krita", "svg")
MAX_IN_FLIGHT = addon_module("krita", "wire.suggestion").MAX_IN_FLIGHT

FACES = {
    "gender": ["female", "male"],
    "emotion": ["neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"],
    "style": ["realistic", "cartoon", "abstract"],
    "view": ["frontal", "mid-profile left", "mid-profile right"],
}
A = character_text(b"face", bytes(8))  # two well-formed characters of a model "face"
B = character_text(b"face", bytes(range(8)))
FACE = [[(0.0, 0.0), (10.0, 5.0), (20.0, 0.0)], [(5.0, 8.0), (15.0, 8.0)]]


def model(name: str, conditions: dict, characters: bool = True) -> SimpleNamespace:
    return SimpleNamespace(name=name, conditions=conditions, characters=characters)


# --- the kept character -----------------------------------------------------------------------


def test_a_kept_character_round_trips_through_the_documents_annotation() -> None:
    kept = C.Kept("faces", A, {"gender": "female", "emotion": "happy"}, "alternative 2", FACE)
    again = C.Kept.from_bytes(kept.to_bytes())
    assert again == C.Kept(
        "faces",
        A,
        {"gender": "female", "emotion": "happy"},
        "alternative 2",
        [
            [(0.0, 0.0), (10.0, 5.0), (20.0, 0.0)],
            [(5.0, 8.0), (15.0, 8.0)],
        ],
    )
    assert again.describe() == "female, happy (faces), from alternative 2"
    assert C.Kept("faces", A).describe() == "a faces character"


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"not json",
        b"[1, 2]",
        json.dumps({"format": 99, "model": "faces", "character": A}).encode(),
        json.dumps({"format": 1, "model": "", "character": A}).encode(),
        json.dumps({"format": 1, "model": "faces", "character": "%%%"}).encode(),
        json.dumps({"format": 1, "model": "faces", "character": A, "strokes": [[1]]}).encode(),
    ],
)
def test_an_unreadable_annotation_counts_as_no_character(data) -> None:
    """Another version's or a damaged annotation is not sent to the server as a character."""
    assert C.Kept.from_bytes(data) is None


def test_the_thumbnail_is_thinned_and_rounded() -> None:
    long = [[(i / 3, i * 1.04) for i in range(5000)]]
    thinned = C.thin(long, 600)
    assert 300 < len(thinned[0]) <= 601
    assert thinned[0][0] == (0.0, 0.0) and thinned[0][-1] == (1666.3, 5199.0)
    assert len(C.Kept("faces", A, strokes=long).to_bytes()) < 12_000
    assert C.thin([[(0, 0)]], 10) == []  # a dot is no line


def test_conditions_left_out_come_from_the_character_sent() -> None:
    """Keeping a face drawn as the kept character: what the request asked over what the kept
    one was (the server keeps the rest from the character too)."""
    sent = C.Kept("faces", A, {"gender": "female", "emotion": "neutral"})
    kept = C.kept_from("faces", B, {"emotion": "sad", "view": "frontal"}, sent, "x", FACE)
    assert kept.conditions == {"gender": "female", "emotion": "sad", "view": "frontal"}
    assert kept.character == B
    assert C.kept_from("faces", B, {}, None, "x", []).conditions == {}


def test_a_kept_character_says_who_it_was_drawn_as() -> None:
    """With the model's welcome conditions, the character's own numbers say who it is, what
    the model chose included (a gender nobody asked for); one-value conditions say nothing."""
    offered = {"category": ["face"], **FACES}
    numbers = []
    for name, values in offered.items():  # drawn as a sad cartoon woman, frontal
        wanted = {"category": "face", "gender": "female", "emotion": "sad"}
        wanted |= {"style": "cartoon", "view": "frontal"}
        numbers += [0x3C00 if v == wanted[name] else 0 for v in values]  # 1.0 in float16
    who = character_text(b"face", struct.pack(f"<{4 + len(numbers)}H", *[0x3555] * 4, *numbers))
    kept = C.kept_from("faces", who, {"emotion": "sad"}, None, "x", FACE, offered)
    assert kept.conditions == {
        "gender": "female",
        "emotion": "sad",
        "style": "cartoon",
        "view": "frontal",
    }
    assert kept.describe() == "female, sad, cartoon, frontal (faces), from x"
    assert C.kept_from("faces", B, {"emotion": "sad"}, None, "x", FACE, offered).conditions == {
        "emotion": "sad"
    }  # a string too short to hold the conditions: what was asked


def test_same_character_sends_the_kept_one_for_its_own_model_only() -> None:
    kept = C.Kept("faces", A)
    assert C.request_character(kept, "faces", True) == A
    assert C.request_character(kept, "faces", False) is None
    assert C.request_character(None, "faces", True) is None
    with pytest.raises(C.CharacterError) as e:
        C.request_character(kept, "objects", True)
    assert str(e.value) == (
        "The kept character was drawn by the 'faces' model; choose 'faces' as the Model, "
        "or untick Same character, and try again."
    )


def test_the_sheets_model_is_the_kept_characters_or_one_that_draws_emotions() -> None:
    faces, objects = model("faces", FACES), model("objects", {"category": ["cat"]})
    quickdraw = model("quickdraw", {"category": ["cat"]}, characters=False)
    models = [objects, faces, quickdraw]
    assert C.sheet_model(models, faces, None) is faces
    assert C.sheet_model(models, objects, C.Kept("faces", A)) is faces
    with pytest.raises(C.CharacterError, match="choose 'faces' as the Model and press"):
        C.sheet_model(models, objects, None)
    with pytest.raises(C.CharacterError, match="Forget the character"):
        C.sheet_model([objects], objects, C.Kept("faces", A))
    with pytest.raises(C.CharacterError, match="Not connected"):
        C.sheet_model([], None, None)


# --- the sheet's layout -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1400, 640), (640, 400), (400, 1000)])
def test_the_sheet_fills_the_page_without_overlaps(size) -> None:
    width, height = size
    layout = C.sheet_layout(FACES, width, height)
    cells = layout.cells
    assert len(cells) == 21 and len({c.label for c in cells}) == 21
    boxes = [c.bounds for c in cells]
    for x0, y0, x1, y1 in boxes:
        assert 0 < x0 < x1 < width and 0 < y0 < y1 < height
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    # as large as fits: the grid with its titles touches the margins on one axis
    margin = C.SHEET_MARGIN * min(size)
    left = (
        min(b[0] for b in boxes)
        - max(len(r) for r in FACES["view"]) * C.LABEL_WIDTH * layout.font
        - layout.font
    )
    top = min(b[1] for b in boxes) - 1.6 * layout.font
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    assert min(abs(left - margin), abs(top - margin)) < 1e-6
    assert (
        abs((left + right) / 2 - width / 2) < 1e-6 and abs((top + bottom) / 2 - height / 2) < 1e-6
    )
    titles = {t.text: t for t in layout.labels}
    assert set(titles) == set(FACES["emotion"]) | set(FACES["view"])
    happy = next(c for c in cells if c.conditions == {"emotion": "happy", "view": "frontal"})
    assert titles["happy"].x == pytest.approx((happy.bounds[0] + happy.bounds[2]) / 2)
    assert titles["happy"].y < happy.bounds[1] and titles["frontal"].x < cells[0].bounds[0]
    for view in FACES["view"]:  # row titles end left of the grid and start inside the margin
        start = titles[view].x - len(view) * C.LABEL_WIDTH * layout.font
        assert titles[view].anchor == "end" and start >= margin - 1e-6


def test_a_page_too_small_for_a_sheet_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        C.sheet_layout(FACES, 60, 40)


def test_a_face_is_asked_inside_its_cell_and_fitted_into_it() -> None:
    assert C.face_box((100, 200, 200, 300)) == pytest.approx((110, 210, 190, 290))
    inside = [[(120.0, 220.0), (180.0, 280.0)]]
    assert C.fit_into(inside, (100, 200, 200, 300)) == inside  # left as drawn
    wide = [[(50.0, 240.0), (250.0, 260.0)], [(150.0, 250.0), (150.0, 310.0)]]
    fitted = C.fit_into(wide, (100, 200, 200, 300))
    xs, ys = [p[0] for s in fitted for p in s], [p[1] for s in fitted for p in s]
    assert min(xs) == pytest.approx(100) and max(xs) == pytest.approx(200)  # shrunk by half
    assert min(ys) >= 200 and max(ys) <= 300
    assert (max(ys) - min(ys)) == pytest.approx(35)  # the same shape, only smaller
    off = [[(90.0, 250.0), (130.0, 260.0)]]  # small but over the edge: moved, not shrunk
    assert C.fit_into(off, (100, 200, 200, 300)) == [[(100.0, 250.0), (140.0, 260.0)]]


def test_faces_and_titles_become_named_groups_and_escaped_text() -> None:
    cells = C.sheet_layout(FACES, 1400, 640).cells
    assert C.face_name(cells[1], 1) == "happy-frontal"
    assert C.face_name(cells[8], 8) == "happy-mid-profile-left"
    group = svg.group_svg(svg.paths_svg(FACE), C.face_name(cells[1], 1))
    title = svg.text_svg('<sad & "odd">', 10, 20, 12, "#555555", "end")
    root = ET.fromstring(svg.svg_document(group + title, 100, 100))
    g, text = list(root)
    assert g.get("id") == "happy-frontal" and len(list(g)) == 2
    assert text.text == '<sad & "odd">' and text.get("text-anchor") == "end"
    assert svg.svg_to_polylines(svg.svg_document(group + title, 100, 100)) == [
        [(0, 0), (10, 5), (20, 0)],
        [(5, 8), (15, 8)],
    ]  # titles are not strokes when a sheet layer is read back


# --- the sheet's requests ---------------------------------------------------------------------


def run_sheet(sheet, answer, room: int = MAX_IN_FLIGHT, limit: int = 100):
    """Drive a sheet as the controller does: submit what fits, answer the oldest open job
    with `answer(job, request)`, until it ends. Returns every (request, open-at-the-time)."""
    ids = itertools.count()
    sent = []
    for _ in range(limit):
        for job in sheet.to_submit(room - len(sheet.session.open_ids())):
            request = sheet.request(job)
            sent.append((request, len(sheet.session.open_ids()) + 1))
            sheet.session.submitted(job, f"j{next(ids)}")
            job.request = request
        open_jobs = [j for j in sheet.session.jobs if j.running]
        if not open_jobs:
            return sent
        answer(open_jobs[0])
    raise AssertionError("the sheet never ended")


def face_for(sheet, character: str):
    def answer(job) -> None:
        sheet.done(job.id, [FACE], [character])

    return answer


def test_a_sheet_draws_the_kept_character_in_every_cell_three_at_a_time() -> None:
    layout = C.sheet_layout(FACES, 1400, 640)
    sheet = C.Sheet(layout, "faces", C.Kept("faces", A, {"gender": "male"}), {"gender": "female"})
    sent = run_sheet(sheet, face_for(sheet, A))
    assert len(sent) == 21 and max(n for _, n in sent) == MAX_IN_FLIGHT
    for (request, _), cell in zip(sent, layout.cells):
        assert request["character"] == A and "use_library" not in request
        assert request["conditions"] == cell.conditions  # the rest is the character's own
        assert request["bounds"] == C.face_box(cell.bounds) and request["mode"] == "generate"
    faces = sheet.to_draw()
    assert [i for i, _, _ in faces] == list(range(21))
    for _, cell, strokes in faces:
        xs = [p[0] for s in strokes for p in s]
        assert cell.bounds[0] <= min(xs) and max(xs) <= cell.bounds[2]
    sheet.drawn.update(i for i, _, _ in faces)
    assert not sheet.running and sheet.to_draw() == []
    assert sheet.summary() == "Drew 21 faces of one character on 'Character sheet'."


def test_a_new_sheet_draws_its_first_face_alone_and_that_character_for_the_rest() -> None:
    layout = C.sheet_layout(FACES, 1400, 640)
    sheet = C.Sheet(layout, "faces", None, {"gender": "female", "emotion": "sad"})
    first = sheet.to_submit(MAX_IN_FLIGHT)
    assert first == [sheet.session.jobs[0]]
    assert sheet.request(first[0]) == {
        "mode": "generate",
        "strokes": [],
        "conditions": {"gender": "female", "emotion": "neutral", "view": "frontal"},
        "bounds": C.face_box(layout.cells[0].bounds),
        "character": None,
    }
    sheet.session.submitted(first[0], "first")
    assert sheet.to_submit(MAX_IN_FLIGHT) == []  # the rest wait for its character
    sheet.done("first", [FACE], [B])
    assert sheet.character == B
    sent = run_sheet(sheet, face_for(sheet, B))
    assert len(sent) == 20 and all(r["character"] == B for r, _ in sent)
    assert all("gender" not in r["conditions"] for r, _ in sent)


def test_a_new_sheet_whose_first_face_fails_stops_with_why() -> None:
    sheet = C.Sheet(C.sheet_layout(FACES, 1400, 640), "faces", None, {})
    job = sheet.to_submit(MAX_IN_FLIGHT)[0]
    sheet.session.submitted(job, "first")
    sheet.error("first", "the server is busy.")
    assert not sheet.running and sheet.to_draw() == []
    assert sheet.summary() == "The server could not draw the character sheet: the server is busy."
    empty = C.Sheet(C.sheet_layout(FACES, 1400, 640), "faces", None, {})
    empty.session.submitted(empty.to_submit(1)[0], "first")
    empty.done("first", [[]], [""])
    assert not empty.running and "drew nothing for the first face" in empty.summary()


def test_the_sheet_keeps_within_the_room_it_is_given() -> None:
    """A suggestion or trace in flight takes room from the sheet; none leaves it none."""
    sheet = C.Sheet(C.sheet_layout(FACES, 1400, 640), "faces", C.Kept("faces", A), {})
    assert len(sheet.to_submit(1)) == 1 and sheet.to_submit(0) == [] and sheet.to_submit(-1) == []
    sent = run_sheet(sheet, face_for(sheet, A), room=2)
    assert max(n for _, n in sent) == 2


def test_stopping_a_sheet_cancels_the_open_faces_and_draws_only_finished_ones() -> None:
    sheet = C.Sheet(C.sheet_layout(FACES, 1400, 640), "faces", C.Kept("faces", A), {})
    for i, job in enumerate(sheet.to_submit(MAX_IN_FLIGHT)):
        sheet.session.submitted(job, f"j{i}")
    sheet.done("j0", [FACE], [A])
    assert sorted(sheet.stop()) == ["j1", "j2"]
    assert (
        sheet.to_submit(MAX_IN_FLIGHT) == []
        and sheet.summary() == "Stopping the character sheet..."
    )
    sheet.done("j1", [FACE[:1]], [A], cancelled=True)  # a stopped face ends cancelled
    sheet.error("j2", "stopped")
    assert [i for i, _, _ in sheet.to_draw()] == [0]
    sheet.drawn.add(0)
    assert not sheet.running
    assert sheet.summary() == "Character sheet stopped with 1 face on 'Character sheet'."


def test_a_sheet_says_which_faces_failed() -> None:
    sheet = C.Sheet(C.sheet_layout(FACES, 1400, 640), "faces", C.Kept("faces", A), {})

    def answer(job) -> None:
        if job.target.conditions.get("emotion") == "angry":
            sheet.error(job.id, "the model failed.")
        else:
            sheet.done(job.id, [FACE], [A])

    run_sheet(sheet, answer)
    sheet.drawn.update(i for i, _, _ in sheet.to_draw())
    assert sheet.summary() == (
        "Drew 18 faces of one character on 'Character sheet'. 3 faces could not be drawn: "
        "the model failed."
    )
