"""The sketch library: alignment, projection, search engines, storage and the build command."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model.checkpoint import Checkpoint, shipped
from model.library import Library, LibraryError, open_library
from model.library.align import Similarity, fit, size_of
from model.library.search import ExactIndex, FaissIndex
from model.library.suggest import distance, project_simplex, simplex_least_squares, vary
from model.sample import SketchRequest, sample

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def objects_library(checkpoint: Checkpoint):
    """The shipped objects model's library, searchable."""
    library = open_library(shipped("objects"), checkpoint)
    assert library is not None, "the shipped objects model has no library"
    return library


def test_shipped_libraries_are_small_and_attributed() -> None:
    """Both shipped models carry a library under 10 MB that names its source and licence."""
    for name in ("objects", "faces"):
        folder = shipped(name)
        size = (folder / "library.npz").stat().st_size + (folder / "library.json").stat().st_size
        assert size < 10e6, f"{name}'s library is {size / 1e6:.1f} MB"
        lib = Library.load(folder)
        assert "CC BY 4.0" in lib.licence and "Quick, Draw!" in lib.source
        assert len(lib.ids) == len(lib) and len(set(lib.ids)) == len(lib)


def test_faces_library_covers_every_attribute_combination() -> None:
    """The faces library has a drawing for each gender, emotion, style and view together."""
    lib = Library.load(shipped("faces"))
    combos = {tuple(row[1:]) for row in lib.labels.tolist() if min(row) >= 0}
    sizes = [len(lib.vocab.values[a]) for a in lib.vocab.attributes[1:]]
    assert len(combos) == int(np.prod(sizes))


def test_faces_library_holds_each_person_in_every_look() -> None:
    """The faces library's procedural faces are people (a character set): each in all 21
    emotions and views, in one gender and style; the real QuickDraw faces are no one."""
    lib = Library.load(shipped("faces"))
    assert lib.people is not None
    procedural = [i for i, source in enumerate(lib.ids) if source.startswith("faces:")]
    assert (lib.people[procedural] >= 0).all()
    assert (np.delete(lib.people, procedural) == -1).all()
    people = set(lib.people[procedural].tolist())
    assert len(people) == 96
    for person in people:
        drawn = [lib.conditions(int(i)) for i in np.flatnonzero(lib.people == person)]
        assert len({(d["emotion"], d["view"]) for d in drawn}) == len(drawn) == 21
        assert len({(d["gender"], d["style"]) for d in drawn}) == 1


def test_a_library_keeps_its_people_and_an_older_one_has_none(tmp_path: Path) -> None:
    """people survives save and load; a library written before it (objects) loads as unknown."""
    old = Library.load(shipped("objects"))
    assert old.people is not None and (old.people == -1).all()
    lib = Library.load(shipped("faces"))
    lib.save(tmp_path)
    again = Library.load(tmp_path)
    assert again.people is not None and lib.people is not None
    assert again.people.tolist() == lib.people.tolist()
    with pytest.raises(LibraryError, match="people must be int32"):
        dataclasses.replace(lib, people=lib.people[:-1])


def test_library_arrays_load_without_pickle() -> None:
    """library.npz is plain arrays: numpy reads every one with allow_pickle=False."""
    with np.load(shipped("objects") / "library.npz", allow_pickle=False) as archive:
        assert {a.dtype.kind for a in (archive[k] for k in archive.files)} <= {"i", "f", "u"}


def test_a_broken_library_is_named_in_the_error(tmp_path: Path, checkpoint: Checkpoint) -> None:
    """A truncated library.npz gives a LibraryError naming the file, not a traceback."""
    for name in ("library.json", "library.npz"):
        (tmp_path / name).write_bytes((shipped("objects") / name).read_bytes())
    with zipfile.ZipFile(tmp_path / "library.npz", "w") as z:
        z.writestr("points.npy", b"not an array")
    with pytest.raises(LibraryError, match="library.npz"):
        open_library(tmp_path, checkpoint)


@pytest.mark.parametrize("seed", range(12))
def test_fit_recovers_a_moved_scaled_turned_drawing(objects_library, seed: int) -> None:
    """A library drawing moved, scaled and turned is laid back onto itself within 1 % of size."""
    rng = np.random.default_rng(seed)
    lib = objects_library.library
    drawing = lib.polylines(int(rng.integers(len(lib))))
    truth = Similarity(
        rng.uniform(0.3, 4.0), rng.uniform(-0.15, 0.15), tuple(rng.uniform(-1000, 1000, 2))
    )
    target = truth.apply_all(drawing)
    found = fit(drawing, target)
    points = np.concatenate(drawing)
    error = np.abs(found.transform.apply(points) - truth.apply(points)).max()
    assert error <= 0.01 * size_of(np.concatenate(target))
    assert found.error < 0.01


def test_fit_scores_a_good_match_above_a_bad_one(objects_library) -> None:
    """A drawing fits its own copy far better than it fits another drawing."""
    lib = objects_library.library
    a, b = lib.polylines(0), lib.polylines(500)
    moved = Similarity(2.0, 0.05, (30.0, -40.0)).apply_all(a)
    assert fit(a, moved).error < 0.2 * fit(b, moved).error


def test_simplex_least_squares_finds_the_convex_weights() -> None:
    """Weights of a point inside the hull are recovered; outside it they stay on the simplex."""
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(12, 5))
    truth = np.array([0.5, 0.3, 0.2, 0.0, 0.0])
    w = simplex_least_squares(basis, basis @ truth, iterations=5000)
    assert np.allclose(w, truth, atol=1e-4)
    outside = simplex_least_squares(basis, 10 * basis[:, 0])
    assert outside.min() >= 0 and abs(outside.sum() - 1) < 1e-9
    assert np.allclose(project_simplex(np.array([2.0, 0.0, -1.0])), [1.0, 0.0, 0.0])


def test_exact_and_faiss_search_agree_on_a_filtered_query() -> None:
    """faiss finds the same best entries as exact search, with and without a filter."""
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(20_000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact, approx = ExactIndex(vectors), FaissIndex(vectors, nprobe=256)
    query = vectors[7] + 0.01 * rng.normal(size=16).astype(np.float32)
    assert exact.search(query, 5)[0][0] == 7
    assert list(approx.search(query, 5)[0]) == list(exact.search(query, 5)[0])
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[::3] = True
    allowed[7] = False
    found, _ = exact.search(query, 8, allowed)
    assert allowed[found].all() and 7 not in found
    assert list(approx.search(query, 8, allowed)[0]) == list(found)


def test_variation_is_never_a_verbatim_copy(objects_library) -> None:
    """A varied drawing differs from its source, more at higher temperature, yet stays close."""
    drawing = objects_library.library.polylines(42)
    rng = np.random.default_rng
    low = distance(vary(drawing, rng(0), 0.1, whole=True), drawing)
    high = distance(vary(drawing, rng(0), 1.0, whole=True), drawing)
    assert 0 < low < high < 0.15


def test_generate_serves_real_drawings_of_the_category(checkpoint, objects_library) -> None:
    """generate returns varied library cats, each named by its source id; without the
    library the network draws."""
    req = SketchRequest(mode="generate", conditions={"category": "cat"}, n=3, seed=4)
    from model.sample import DoneEvent, stream

    done = [e for e in stream(checkpoint, req, objects_library) if isinstance(e, DoneEvent)]
    assert [e.source.split(":")[:2] for e in done] == [["quickdraw", "cat"]] * 3
    lib = objects_library.library
    for e in done:
        source = lib.polylines(lib.ids.index(e.source))
        assert 0 < distance(e.strokes, source) < 0.1
    alone = [
        e
        for e in stream(
            checkpoint,
            SketchRequest(
                mode="generate", conditions={"category": "cat"}, n=1, seed=4, use_library=False
            ),
            objects_library,
        )
        if isinstance(e, DoneEvent)
    ]
    assert alone[0].source == "model"


def test_complete_keeps_the_artist_strokes_and_adds_aligned_ones(checkpoint, objects_library):
    """complete returns the artist's strokes exactly, then a neighbour's remaining strokes
    placed on the artist's drawing."""
    lib = objects_library.library
    cat = int(np.flatnonzero(lib.matching({"category": "cat"}))[3])
    whole = Similarity(3.0, 0.0, (500.0, 200.0)).apply_all(lib.polylines(cat))
    half = whole[: len(whole) // 2]
    out = sample(
        checkpoint,
        SketchRequest(
            mode="complete",
            strokes=[p.tolist() for p in half],
            conditions={"category": "cat"},
            n=1,
            seed=0,
        ),
        objects_library,
    )[0]
    assert len(out) > len(half)
    for given, back in zip(half, out):
        assert np.array_equal(given, back)
    box = np.concatenate(whole)
    new = np.concatenate(out[len(half) :])
    assert (new.min(0) > box.min(0) - 0.5 * size_of(box)).all()
    assert (new.max(0) < box.max(0) + 0.5 * size_of(box)).all()


def test_build_command_writes_a_servable_folder(tmp_path: Path) -> None:
    """`python -m lab.library build` on prepared data writes weights, config and library."""
    data = tmp_path / "cats.npz"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.prepare",
            "--out",
            str(data),
            str(ROOT.parent / "shared/data/quickdraw/simplified_first25/cat.ndjson"),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    out = tmp_path / "model"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.library",
            "build",
            "--data",
            str(data),
            "--checkpoint",
            str(shipped("objects")),
            "--out",
            str(out),
            "--part",
            "1/2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {
        "weights.safetensors",
        "config.json",
        "library.npz",
        "library.json",
    }
    lib = Library.load(out)
    assert len(lib) == 13 and all(i.startswith("quickdraw:cat:") for i in lib.ids)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.library",
            "build",
            "--data",
            str(data),
            "--checkpoint",
            str(tmp_path / "nothing"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("python -m lab.library build: error:")


def test_each_drawing_is_named_by_where_it_came_from(tmp_path: Path) -> None:
    """Procedural faces are "faces:face:SEED:INDEX" and Quick, Draw! faces
    "quickdraw:face:KEY_ID", in one library built from both (never a procedural face under
    Quick, Draw!'s name and licence)."""
    from lab.data import PreparedData
    from lab.datasets.faces import main as faces_main
    from lab.library.build import build
    from lab.prepare import main as prepare_main
    from model.checkpoint import load

    faces_main(["--n", "12", "--seed", "7", "--out", str(tmp_path / "faces.npz")])
    line = (
        '{"word": "face", "key_id": "5773045685813248", "drawing": [[[10, 90, 50], [10, 20, 90]]]}'
    )
    (tmp_path / "face.ndjson").write_text(line + "\n")
    prepare_main(["--out", str(tmp_path / "qd.npz"), "--quiet", "--split", "1,0,0",
                  str(tmp_path / "face.ndjson")])  # fmt: skip
    data = [PreparedData.load(tmp_path / "faces.npz"), PreparedData.load(tmp_path / "qd.npz")]
    lib = build(load(shipped("faces")), data, progress=False)
    assert lib.ids[-1] == "quickdraw:face:5773045685813248"
    assert all(i.startswith("faces:face:7:") for i in lib.ids[:-1]) and len(lib.ids) > 1
    assert "procedural faces" in lib.source and "Quick, Draw!" in lib.source
