"""Tests of the procedural face engine: determinism, identities, attribute checks, visible cues,
limits, CLI."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest

from lab.data import PreparedData
from lab.datasets import faces as faces_module
from lab.datasets.face_hair import FEMALE_HAIR, MALE_HAIR
from lab.datasets.face_identity import HEAD_ASPECTS, HEAD_SHAPES
from lab.datasets.faces import (
    ATTRIBUTES,
    Identity,
    face_attributes,
    face_identity,
    face_identity_id,
    face_sketch,
    faces,
    generate_face,
    generate_face_parts,
    identity,
    main,
)
from model.strokes import stroke3_bounds

N = 12  # faces per attribute value in the cue tests; every cue must hold for all of them


def parts_of(attrs: dict[str, str], k: int) -> list[tuple[str, np.ndarray]]:
    parts, used = generate_face_parts(np.random.default_rng([7, k]), attrs)
    assert {a: used[a] for a in attrs} == attrs
    return parts


def head_box(parts: list[tuple[str, np.ndarray]]) -> tuple[float, float, float, float]:
    """Centre x, centre y, width and height of the head outline."""
    pts = np.concatenate([p for tag, p in parts if tag == "head"])
    lo, hi = pts.min(0), pts.max(0)
    return (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, hi[0] - lo[0], hi[1] - lo[1]


def tagged(parts: list[tuple[str, np.ndarray]], tag: str) -> list[np.ndarray]:
    return [p for t, p in parts if t == tag]


def mouth_bend(parts: list[tuple[str, np.ndarray]], pick: str = "mean") -> float:
    """How far the middle of the first mouth stroke sits below its corners, per mouth width;
    pick "max" (lowest point) or "min" (highest) for open mouths drawn as a loop."""
    mouth = tagged(parts, "mouth")[0]
    x0, x1 = mouth[:, 0].min(), mouth[:, 0].max()
    corners = mouth[[mouth[:, 0].argmin(), mouth[:, 0].argmax()], 1].mean()
    middle = mouth[np.abs(mouth[:, 0] - (x0 + x1) / 2) < 0.2 * (x1 - x0), 1]
    return float((getattr(middle, pick)() - corners) / (x1 - x0))


def brow_droop(parts: list[tuple[str, np.ndarray]]) -> float:
    """Mean slope of the brows toward the nose: > 0 when the inner ends are lower (a frown)."""
    cx = head_box(parts)[0]
    slopes = []
    for brow in tagged(parts, "brow"):
        side = np.sign(brow[:, 0].mean() - cx)
        slope = np.polyfit(brow[:, 0], brow[:, 1], 1)[0]
        slopes.append(-side * slope)
    return float(np.mean(slopes))


# ---------------------------------------------------------------- API and determinism


def test_attributes_are_facex_order() -> None:
    assert list(ATTRIBUTES) == ["gender", "emotion", "style", "view"]
    assert ATTRIBUTES["emotion"] == (
        "neutral",
        "happy",
        "sad",
        "angry",
        "fearful",
        "surprised",
        "disgusted",
    )
    assert ATTRIBUTES["view"] == ("frontal", "mid-profile left", "mid-profile right")


def test_deterministic_and_independent_of_n() -> None:
    a, b = list(faces(6, 3)), list(faces(9, 3))
    for x, y in zip(a, b):
        assert np.array_equal(x.stroke3, y.stroke3) and x.attributes == y.attributes
    assert np.array_equal(face_sketch(3, 4).stroke3, a[4].stroke3)
    assert not np.array_equal(face_sketch(4, 4).stroke3, a[4].stroke3)
    s1, a1 = generate_face(np.random.default_rng(5))
    s2, a2 = generate_face(np.random.default_rng(5))
    assert a1 == a2 and all(np.array_equal(p, q) for p, q in zip(s1, s2))


def test_sketch_records() -> None:
    for s in faces(5, 0):
        assert s.category == "face" and s.split is None and s.stroke3.dtype == np.int16
        assert set(s.attributes) == set(ATTRIBUTES)
        assert all(s.attributes[a] in ATTRIBUTES[a] for a in ATTRIBUTES)
        assert s.stroke3[-1, 2] == 1
        x0, y0, x1, y1 = stroke3_bounds(s.stroke3)
        assert min(x0, y0) >= 0 and max(x1, y1) <= 255 and max(x1, y1) >= 250


def test_attributes_balanced_per_block() -> None:
    block = [tuple(face_attributes(0, i).values()) for i in range(126)]
    assert len(set(block)) == 126


def test_given_attributes_are_checked() -> None:
    rng = np.random.default_rng(0)
    _, used = generate_face(rng, {"emotion": "sad"})
    assert used["emotion"] == "sad" and set(used) == set(ATTRIBUTES)
    with pytest.raises(
        ValueError,
        match="unknown emotion 'bored'; use one of neutral, happy, "
        "sad, angry, fearful, surprised, disgusted",
    ):
        generate_face(rng, {"emotion": "bored"})
    with pytest.raises(
        ValueError,
        match="unknown face attribute 'age'; the attributes are gender, emotion, style, view",
    ):
        generate_face(rng, {"age": "old"})
    with pytest.raises(ValueError, match="n must be a whole number"):
        list(faces(-1, 0))


# ---------------------------------------------------------------- identities

# Parts every drawing of a person has or lacks alike (pupils, lips, wrinkles and tongues come
# and go with the expression).
PERSON_PARTS = {"head", "hair", "brow", "eye", "nose", "mouth", "ear", "beard", "neck", "lash"}


def hair_box(parts: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """The hair's left, right, top and bottom relative to the head's centre, per head size."""
    cx, cy, w, h = head_box(parts)
    hair = np.concatenate(tagged(parts, "hair"))
    lo, hi = hair.min(0), hair.max(0)
    return np.array([(lo[0] - cx) / w, (hi[0] - cx) / w, (lo[1] - cy) / h, (hi[1] - cy) / h])


def person_with_hair(gender: str, style: str, hair: str) -> Identity:
    """The first identity of this gender and style (seeds [k, 77]) wearing this hair style."""
    for k in range(500):
        person = identity([k, 77], gender, style)
        if person.hair.style == hair:
            return person
    raise AssertionError(f"no {gender} {style} identity with {hair} hair in 500 seeds")


def test_identity_is_made_from_its_seed() -> None:
    person = identity(11, "female", "cartoon")
    assert isinstance(person, Identity) and person == identity(11, "female", "cartoon")
    assert person.gender == "female" and person.style == "cartoon"
    assert person.hair.style in FEMALE_HAIR and person.head.shape in HEAD_SHAPES
    other = identity(12, "female", "cartoon")
    assert other != person and other.drawer != person.drawer
    with pytest.raises(dataclasses.FrozenInstanceError):
        person.gender = "male"  # type: ignore[misc]
    assert identity(11) == identity(11, identity(11).gender, identity(11).style)
    assert {identity(k).gender for k in range(12)} == set(ATTRIBUTES["gender"])
    assert {identity(k).style for k in range(12)} == set(ATTRIBUTES["style"])
    with pytest.raises(ValueError, match="unknown gender 'other'; use one of female, male"):
        identity(0, gender="other")


def test_identities_vary_as_much_as_faces_did() -> None:
    """Different identities cover every hair style of their gender, head shape, beard and nose
    class, and every one has its own drawer and proportions."""
    people = [
        identity([k, 5, c], g, s) for k in range(40) for c, (g, s) in enumerate(faces_module._CELLS)
    ]
    women = [p for p in people if p.female]
    men = [p for p in people if not p.female]
    assert {p.hair.style for p in women} == set(FEMALE_HAIR)
    assert {p.hair.style for p in men} == set(MALE_HAIR)
    assert {p.head.shape for p in people} == set(HEAD_SHAPES)
    assert {p.features.beard for p in men} == {"none", "line", "stubble"}
    assert {p.features.beard for p in women} == {"none"}
    for style, noses in {"cartoon": {"button", "u", "hook"}, "abstract": {"line", "wedge"}}.items():
        assert {p.features.nose for p in people if p.style == style} == noses
    assert len({p.drawer for p in people}) == len(people)
    assert len({p.proportions for p in people}) == len(people)


@pytest.mark.parametrize("style", ["realistic", "cartoon"])
def test_head_shapes_can_be_told_apart_in_the_drawing(style: str) -> None:
    """A round, an oval and a long head are drawn apart: the drawn outline's height over width
    of every round head is below every oval one's, and every oval one's below every long one's
    (abstract heads are polygons whose corners move, so only their aspects are checked)."""
    drawn: dict[str, list[float]] = {shape: [] for shape in HEAD_SHAPES}
    for k in range(45):
        person = identity([k, 9], "male", style)
        centres, stray = HEAD_ASPECTS[style]
        assert abs(person.head.aspect - centres[HEAD_SHAPES.index(person.head.shape)]) <= stray
        rng = np.random.default_rng(k)
        parts, _ = generate_face_parts(rng, {"emotion": "neutral", "view": "frontal"}, person)
        width, height = np.ptp(np.concatenate([p for tag, p in parts if tag == "head"]), axis=0)
        drawn[person.head.shape].append(height / width)
    assert all(drawn.values())
    for smaller, larger in itertools.pairwise(HEAD_SHAPES):
        assert max(drawn[smaller]) < min(drawn[larger]), (smaller, larger, drawn)


@pytest.mark.parametrize("style", ATTRIBUTES["style"])
def test_one_identity_is_one_person_in_every_emotion_and_view(style: str) -> None:
    """21 drawings of one identity: the asked emotion and view, the identity's gender and style,
    the same parts (beard, neck, ears, lashes as the identity says) and the same hair."""
    for k, gender in enumerate(ATTRIBUTES["gender"] * 2):
        person = identity([k, 21], gender, style)
        names, boxes = set(), []
        for e, emotion in enumerate(ATTRIBUTES["emotion"]):
            for v, view in enumerate(ATTRIBUTES["view"]):
                rng = np.random.default_rng([k, e, v, 3])
                parts, used = generate_face_parts(rng, {"emotion": emotion, "view": view}, person)
                assert used == {"gender": gender, "emotion": emotion, "style": style, "view": view}
                names.add(frozenset(face_like(parts)) & PERSON_PARTS)
                if view == "frontal":
                    boxes.append(hair_box(parts))
        assert len(names) == 1, (gender, k, names)
        (present,) = names
        assert ("beard" in present) == (person.features.beard != "none")
        assert ("neck" in present) == person.features.neck
        assert ("lash" in present) == (person.features.lashes != "none")
        spread = np.ptp(boxes, axis=0)  # the hair's extent over the 7 emotions
        assert spread.max() < 0.1, (gender, k, person.hair.style, spread)


def test_two_identities_draw_two_people() -> None:
    """With the same attributes and momentary randomness, two identities draw differently,
    while one identity drawn with two random streams keeps its hair."""
    attrs = {"emotion": "happy", "view": "frontal"}
    a, b = identity(1, "male", "realistic"), identity(2, "male", "realistic")
    one, _ = generate_face(np.random.default_rng(0), attrs, a)
    two, _ = generate_face(np.random.default_rng(0), attrs, b)
    assert len(one) != len(two) or any(not np.allclose(p, q) for p, q in zip(one, two))
    hairs = [hair_box(generate_face_parts(np.random.default_rng(r), attrs, a)[0]) for r in range(4)]
    assert np.ptp(hairs, axis=0).max() < 0.1


def test_given_identity_decides_gender_and_style() -> None:
    person = identity(3, "male", "abstract")
    _, used = generate_face(np.random.default_rng(0), None, person)
    assert used["gender"] == "male" and used["style"] == "abstract"
    _, used = generate_face(np.random.default_rng(0), {"gender": "male", "emotion": "sad"}, person)
    assert used["emotion"] == "sad"
    with pytest.raises(
        ValueError, match="the identity is gender 'male', so the attributes cannot ask for 'female'"
    ):
        generate_face(np.random.default_rng(0), {"gender": "female"}, person)
    with pytest.raises(TypeError, match="identity must be an Identity; got int"):
        generate_face(np.random.default_rng(0), None, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ATTRIBUTES["style"])
@pytest.mark.parametrize("hair", sorted(FEMALE_HAIR))
def test_every_female_hair_style_reaches_the_jaw(style: str, hair: str) -> None:
    """Hair carries gender: every female style hangs to the jaw or lower in every view."""
    person = person_with_hair("female", style, hair)
    for v, view in enumerate(ATTRIBUTES["view"]):
        parts, _ = generate_face_parts(np.random.default_rng(v), {"view": view}, person)
        bottom = hair_box(parts)[3]
        assert bottom > 0.42, (view, bottom)  # 0.5 is the chin


def test_data_set_draws_each_identity_once_in_every_emotion() -> None:
    """Block b of 126 samples holds identities 18 b .. 18 b + 17, each 7 times, once per
    emotion, of its own gender and style; the block still holds every combination once."""
    for block in (0, 1):
        samples = range(126 * block, 126 * (block + 1))
        ids = [face_identity_id(0, i) for i in samples]
        assert sorted(set(ids)) == list(range(18 * block, 18 * block + 18))
        for j in set(ids):
            attrs = [face_attributes(0, i) for i, jj in zip(samples, ids) if jj == j]
            assert sorted(a["emotion"] for a in attrs) == sorted(ATTRIBUTES["emotion"])
            person = face_identity(0, j)
            assert {(a["gender"], a["style"]) for a in attrs} == {(person.gender, person.style)}
        assert len({tuple(face_attributes(0, i).values()) for i in samples}) == 126
    assert face_sketch(0, 130).identity == face_identity_id(0, 130)
    assert face_identity(1, 0) != face_identity(0, 0)  # another seed, other people


def test_character_set_draws_each_identity_in_every_look() -> None:
    """--every-look: sample i is identity i // 21 in look i % 21, the gender and style cycling
    through the 6 cells; its keys differ from a data set's of the same seed."""
    made = list(faces_module.faces(126 * 2, 3, every_look=True))
    looks = list(itertools.product(ATTRIBUTES["emotion"], ATTRIBUTES["view"]))
    for j in range(12):
        mine = made[21 * j : 21 * (j + 1)]
        assert {s.identity for s in mine} == {j}
        assert [(s.attributes["emotion"], s.attributes["view"]) for s in mine] == looks
        assert len({(s.attributes["gender"], s.attributes["style"]) for s in mine}) == 1
    cells = {(s.attributes["gender"], s.attributes["style"]) for s in made[:126]}
    assert len(cells) == 6
    assert made[5].stroke3.tolist() == faces_module.character_sketch(3, 5).stroke3.tolist()
    assert made[5].key != face_sketch(3, 5).key


def test_sample_depends_only_on_seed_and_index() -> None:
    """Sample i is the same whatever was drawn before it (no state kept between samples)."""
    first = face_sketch(4, 300)
    for cached in (faces_module.face_identity, faces_module._block_order):
        cached.cache_clear()
    faces_module._block_people.cache_clear()
    list(faces(3, 4))
    again = face_sketch(4, 300)
    assert np.array_equal(first.stroke3, again.stroke3)
    assert first.attributes == again.attributes and first.identity == again.identity


# ---------------------------------------------------------------- visible cues


@pytest.mark.parametrize("style", ATTRIBUTES["style"])
def test_emotion_cues(style: str) -> None:
    base = {"view": "frontal", "style": style}
    for k in range(N):
        gender = ATTRIBUTES["gender"][k % 2]
        look = {
            e: parts_of({**base, "gender": gender, "emotion": e}, k) for e in ATTRIBUTES["emotion"]
        }
        assert mouth_bend(look["happy"], "max") > 0.1  # a smile: middle below the corners
        assert mouth_bend(look["sad"], "min") < -0.1  # a frown
        assert abs(mouth_bend(look["neutral"])) < 0.06
        assert brow_droop(look["angry"]) > 0.25  # inner ends pulled down
        assert brow_droop(look["sad"]) < -0.2 and brow_droop(look["fearful"]) < -0.2
        o = tagged(look["surprised"], "mouth")[0]
        assert np.ptp(o[:, 1]) > 0.8 * np.ptp(o[:, 0])  # an open, round "O"
        assert np.hypot(*(o[0] - o[-1])) < 0.5 * np.ptp(o[:, 0])  # closed
        wave = tagged(look["fearful"], "mouth")[0]
        assert (np.diff(np.sign(np.diff(wave[:, 1]))) != 0).sum() >= 3  # a trembling line
        assert tagged(look["disgusted"], "wrinkle")  # a wrinkled nose
        eye_h = {
            e: np.mean([np.ptp(p[:, 1]) for p in tagged(look[e], "eye")])
            for e in ("surprised", "neutral")
        }
        assert eye_h["surprised"] > eye_h["neutral"]


def test_gender_cues() -> None:
    for style in ATTRIBUTES["style"]:
        for k in range(N):
            reach, jaw = {}, {}
            for g in ATTRIBUTES["gender"]:
                parts = parts_of(
                    {"gender": g, "style": style, "view": "frontal", "emotion": "neutral"}, k
                )
                _, cy, _, h = head_box(parts)
                hair = np.concatenate(tagged(parts, "hair"))
                reach[g] = (hair[:, 1].max() - cy) / h  # how far down the hair comes
                head = tagged(parts, "head")[0]
                low = head[head[:, 1] > cy + 0.35 * h]
                jaw[g] = np.ptp(low[:, 0]) / h if len(low) else 0.0
            assert reach["female"] > 0.42 and reach["male"] < 0.2, (style, k, reach)
    widths = {g: [] for g in ATTRIBUTES["gender"]}
    for k in range(2 * N):
        for g in widths:
            head = tagged(
                parts_of({"gender": g, "style": "realistic", "view": "frontal"}, k), "head"
            )[0]
            cy, h = (head[:, 1].max() + head[:, 1].min()) / 2, np.ptp(head[:, 1])
            y = cy + 0.4 * h  # near the chin
            near = head[np.abs(head[:, 1] - y) < 0.06 * h]
            widths[g].append(np.ptp(near[:, 0]) / np.ptp(head[:, 0]) if len(near) > 1 else 0)
    assert np.mean(widths["male"]) > np.mean(widths["female"]) + 0.1  # a broader jaw


def test_style_cues() -> None:
    eyes, points, heads = {}, {}, {}
    for style in ATTRIBUTES["style"]:
        eyes[style], points[style], heads[style] = [], [], []
        for k in range(N):
            parts = parts_of({"style": style, "view": "frontal", "emotion": "neutral"}, k)
            w = head_box(parts)[2]
            eyes[style].append(np.mean([np.ptp(p[:, 1]) for p in tagged(parts, "eye")]) / w)
            points[style].append(len(face_like(parts)))
            head = tagged(parts, "head")[0]
            heads[style].append(len(head))
    assert min(eyes["cartoon"]) > max(eyes["realistic"])  # big round cartoon eyes
    assert max(heads["abstract"]) <= 14 < min(heads["realistic"])  # a polygon head
    assert np.mean(points["realistic"]) > np.mean(points["abstract"])  # more detail


def face_like(parts: list[tuple[str, np.ndarray]]) -> list[str]:
    return [t for t, _ in parts]


@pytest.mark.parametrize("style", ATTRIBUTES["style"])
def test_view_cues(style: str) -> None:
    for k in range(N):
        offset = {}
        for view in ATTRIBUTES["view"]:
            parts = parts_of({"style": style, "view": view}, k)
            cx, _, w, _ = head_box(parts)
            features = np.concatenate(tagged(parts, "nose") + tagged(parts, "mouth"))
            offset[view] = (features[:, 0].mean() - cx) / w
            ears = tagged(parts, "ear")
            if view != "frontal" and ears:  # only the ear at the back shows
                side = np.sign(np.concatenate(ears)[:, 0].mean() - cx)
                assert side == (1 if view.endswith("left") else -1)
        assert offset["mid-profile left"] < -0.1 < 0.1 < offset["mid-profile right"]
        assert abs(offset["frontal"]) < 0.06


# ---------------------------------------------------------------- limits and CLI


def test_lengths_within_limits() -> None:
    lengths = np.array([len(s.stroke3) for s in faces(200, 11)])
    assert lengths.max() <= 200
    assert 80 <= np.median(lengths) <= 130


def test_cli_writes_prepared_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out, grid, sheet = tmp_path / "faces.npz", tmp_path / "grid.png", tmp_path / "sheet.svg"
    args = ["--n", "40", "--seed", "2", "--out", str(out), "--grid", str(grid), "--quiet"]
    assert main(args + ["--sheet", str(sheet)]) == 0
    printed = capsys.readouterr().out
    assert "emotion:" in printed and "median" in printed and grid.stat().st_size > 1000
    assert "identities: 18" in printed and sheet.read_text().count("<polyline") > 40 * 10
    data = PreparedData.load(out)
    assert data.attributes == ("category", "gender", "emotion", "style", "view")
    assert len(data) == 40 and data.vocab.values["category"] == ("face",)
    for name, values in ATTRIBUTES.items():
        assert set(data.vocab.values[name]) == set(values) or len(data) < 126
    expected = list(faces(40, 2))
    for i in (0, 17, 39):
        assert np.array_equal(data.sketch(i), expected[i].stroke3)
        decoded = {
            a: data.vocab.values[a][data.labels[i, j]] for j, a in enumerate(data.attributes)
        }
        assert decoded == {"category": "face", **expected[i].attributes}
    assert data.identity.tolist() == [s.identity for s in expected]
    assert data.meta["sources"][0]["licence"].startswith("original procedural data")
    assert sorted(np.bincount(data.split).tolist()) == [4, 4, 32]


def test_cli_keeps_only_the_asked_faces_unchanged(tmp_path: Path) -> None:
    """--keep drops the other faces of the same draw, so each kept face is its full-set self."""
    out = tmp_path / "female.npz"
    main(["--n", "60", "--seed", "4", "--keep", "gender=female", "--out", str(out), "--quiet"])
    data = PreparedData.load(out)
    expected = [f for f in faces(60, 4) if f.attributes["gender"] == "female"]
    assert 0 < len(data) == len(expected) < 60
    assert data.vocab.values["gender"] == ("female",)
    for i in (0, len(expected) - 1):
        assert np.array_equal(data.sketch(i), expected[i].stroke3)
    assert data.identity.tolist() == [f.identity for f in expected]
    assert data.meta["counts"]["read"] == 60 and data.meta["counts"]["kept"] == len(expected)


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--n", "0", "--out", str(tmp_path / "x.npz")])
    for bad in ("gender=other", "hair=bun", "gender"):
        with pytest.raises(SystemExit):
            main(["--n", "3", "--keep", bad, "--out", str(tmp_path / "x.npz")])
    with pytest.raises(SystemExit):
        main(["--n", "3", "--out", str(tmp_path / "x.npz"), "--grid", str(tmp_path / "g.jpg")])
    with pytest.raises(SystemExit):
        main(["--n", "3", "--out", str(tmp_path / "x.npz"), "--sheet", str(tmp_path / "s.gif")])


def test_parallel_generation_makes_the_same_faces():
    """Faces made by two worker processes equal those made in this process, in order."""
    from lab.datasets.faces import generate

    one = generate(40, 3, workers=1)
    two = generate(40, 3, workers=2, min_parallel=0)
    assert [s.attributes for s in one] == [s.attributes for s in two]
    assert all(np.array_equal(a.stroke3, b.stroke3) for a, b in zip(one, two))


def test_every_hair_style_an_identity_can_have_is_drawn() -> None:
    """The styles a person is given (face_identity) are exactly the ones face_hair can draw."""
    from lab.datasets.face_identity import FEMALE_HAIR_STYLES, MALE_HAIR_STYLES

    assert set(FEMALE_HAIR) == set(FEMALE_HAIR_STYLES)
    assert set(MALE_HAIR) == set(MALE_HAIR_STYLES)
