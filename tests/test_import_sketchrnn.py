"""Importing sketch-rnn-js decoders: the imported model computes what the file's own weights do
(an independent numpy forward pass in TensorFlow's layout), samples on the fast path, and a file
that is not a decoder is refused in one line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lab.import_sketchrnn import PROG, main
from model import cli
from model import strokes as S
from model.checkpoint import dequantize, load, quantize, shipped
from model.library.store import Library
from model.mixture import offset_log_prob
from model.sample import DecodeBatch, DoneEvent, SketchRequest, runnable_modes
from tests.magenta_numpy import NumpyDecoder

SHARED_BIRD = (
    Path(__file__).resolve().parents[2] / "shared/data/pretrained/sketch-rnn-js/bird.gen.json"
)


def write_gen_json(
    path: Path, name: str, scale: float, hidden: int = 24, m: int = 4, seed: int = 0
) -> Path:
    """A decoder file in sketch-rnn-js's format with random weights (int16, as published)."""
    rng = np.random.default_rng(seed)
    shapes = [[hidden, 6 * m + 3], [6 * m + 3], [5, 4 * hidden], [hidden, 4 * hidden], [4 * hidden]]
    blobs = []
    for shape in shapes:
        q = np.clip(rng.normal(0, 600, shape), -32767, 32767).astype("<i2")
        blobs.append(base64.b64encode(q.tobytes()).decode())
    info = {"mode": 2, "version": 6, "max_seq_len": 120, "name": name, "scale_factor": scale}
    path.write_text(json.dumps([info, shapes, blobs]))
    return path


def real_drawings(category: str, count: int) -> list[np.ndarray]:
    """Real Quick, Draw! drawings of a category (stroke-3, 256 box) from the shipped library,
    row 0 at the start point as Sketch-RNN's data have it."""
    lib = Library.load(shipped("objects"))
    label = lib.vocab.values["category"].index(category)
    out = []
    for i in np.flatnonzero(lib.labels[:, 0] == label)[:count]:
        s3 = lib.stroke3(int(i)).astype(np.float64)
        s3[0, :2] = 0
        out.append(s3)
    return out


def box_scale(ckpt, category: str) -> float:
    """How much the import scaled a decoder's drawings, from its pixels to the 256 box."""
    return next(d["box_scale"] for d in ckpt.meta["decoders"] if d["category"] == category)


def numpy_nll(ref: NumpyDecoder, s3: np.ndarray, scale: float) -> np.ndarray:
    """The file's own NLL of a drawing given in box units: the drawing in the file's pixels,
    and the density brought back to box units (2 log scale a point)."""
    s5 = S.stroke3_to_stroke5(s3)
    s5[:, :2] /= scale
    return ref.point_nll(s5) + 2 * np.log(scale)


def point_nll(ckpt, category: str, s3: np.ndarray) -> np.ndarray:
    """The imported model's negative log-likelihood of each point of a drawing, in the 256 box
    (offset density and pen cross-entropy), through the project's network."""
    seq = np.concatenate(
        [S.START_TOKEN[None], S.stroke3_to_stroke5(S.normalize(s3, ckpt.scale_factor))]
    )
    x = torch.tensor(seq, dtype=torch.float32)[None]
    cond = torch.tensor(ckpt.vocab.encode({"category": category}))[None]
    with torch.no_grad():
        p = ckpt.model.teacher_force(x[:, :-1], ckpt.model.prior_z(cond, None), cond)
        offset = -offset_log_prob(p, x[:, 1:, :2])[0].double() + 2 * np.log(ckpt.scale_factor)
        pen = -torch.log_softmax(p.pen_logits[0].double(), -1)[
            torch.arange(len(s3)), x[0, 1:, 2:].argmax(-1)
        ]
    return (offset + pen).numpy()


def greedy(ckpt, category: str, steps: int) -> np.ndarray:
    """The imported model's most likely drawing through the project's decoder, stroke-5 in the
    256 box: the likeliest component's mean and pen state each step."""
    k = ckpt.vocab.values["category"].index(category)
    decoder = ckpt.model.decoder_for(k)
    prev = torch.tensor(S.START_TOKEN)[None, None]
    state = decoder.initial_state(torch.zeros(1, 0))
    rows = []
    with torch.no_grad():
        for _ in range(steps):
            p, state = decoder.run(prev, torch.zeros(1, 0), state)
            c = int(p.log_pi[0, 0].argmax())
            pen = torch.eye(3)[int(p.pen_logits[0, 0].argmax())]
            prev = torch.cat([p.mu[0, 0, c], pen])[None, None]
            rows.append([*(p.mu[0, 0, c] * ckpt.scale_factor).tolist(), *pen.tolist()])
            if pen[2] == 1:
                break
    return np.array(rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    """Three decoders of different scale factors (so the import must bring them to one unit),
    and the real bird decoder where ../shared has it."""
    tmp = tmp_path_factory.mktemp("gen")
    out = [
        write_gen_json(tmp / "bird.gen.json", "bird", 71.4, seed=1),
        write_gen_json(tmp / "palm_tree.gen.json", "palm_tree", 120.0, seed=2),
        write_gen_json(tmp / "rabbit.gen.json", "rabbit", 45.0, seed=3),
    ]
    return out


@pytest.fixture(scope="module")
def imported(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "quickdraw"
    main([*map(str, files), "--out", str(out), "--precision", "float32"])
    return load(out)


def assert_same_nll(got: np.ndarray, want: np.ndarray) -> None:
    """A drawing's NLL per point (its mean over the points) within 1e-4 relative, and every
    point's within 1e-3 (float32 against float64: a point far out in a narrow component
    magnifies the rounding)."""
    np.testing.assert_allclose(got.mean(), want.mean(), rtol=1e-4)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).mean())


def test_the_nll_of_real_drawings_matches_the_files_own_weights(files, imported) -> None:
    """Per point, on real drawings, for every decoder of a three-category import whose scale
    factors differ: the numpy forward pass of each JSON file within 1e-4 relative."""
    for path in files:
        ref = NumpyDecoder(path)
        category = ref.name.replace("_", " ")
        for s3 in real_drawings("bird", 4):
            want = numpy_nll(ref, s3, box_scale(imported, category))
            assert_same_nll(point_nll(imported, category, s3), want)


def test_greedy_drawings_match_the_files_own_weights(files, imported) -> None:
    for path in files:
        ref = NumpyDecoder(path)
        category = ref.name.replace("_", " ")
        want = ref.greedy(60)
        want[:, :2] *= box_scale(imported, category)
        got = greedy(imported, category, 60)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got[:, 2:], want[:, 2:])
        np.testing.assert_allclose(got[:, :2], want[:, :2], rtol=1e-4, atol=1e-3)


@pytest.mark.skipif(not SHARED_BIRD.is_file(), reason="needs ../shared/data/pretrained")
def test_magentas_real_bird_decoder_imports_exactly(tmp_path) -> None:
    """The published bird decoder (512 units, 20 components): NLL of real birds and the greedy
    bird agree with the numpy forward pass of the file."""
    main([str(SHARED_BIRD), "--out", str(tmp_path / "bird"), "--precision", "float32"])
    ckpt, ref = load(tmp_path / "bird"), NumpyDecoder(SHARED_BIRD)
    assert ckpt.config.dec_rnn_size == 512 and ckpt.config.num_mixture == 20
    scale = box_scale(ckpt, "bird")
    assert 0.2 < scale < 0.5  # Magenta's birds are about three times the box
    assert ckpt.scale_factor == pytest.approx(71.3754 * scale)
    for s3 in real_drawings("bird", 5):
        assert_same_nll(point_nll(ckpt, "bird", s3), numpy_nll(ref, s3, scale))
    want = ref.greedy(129)
    want[:, :2] *= scale
    got = greedy(ckpt, "bird", 129)
    np.testing.assert_array_equal(got[:, 2:], want[:, 2:])
    np.testing.assert_allclose(got[:, :2], want[:, :2], rtol=1e-3, atol=1e-2)


def test_the_folder_records_provenance_and_the_category_vocabulary(files, imported) -> None:
    assert imported.vocab.values["category"] == ("bird", "palm tree", "rabbit")
    assert imported.config.encoder == "none" and imported.model.bank
    assert imported.meta["row0"] == "start"
    assert "Google Magenta" in imported.meta["provenance"]
    assert "CC BY 4.0" in imported.meta["provenance"]
    by_name = {d["category"]: d for d in imported.meta["decoders"]}
    assert by_name["palm tree"]["scale_factor"] == 120.0
    assert set(imported.meta["first_point"]) == {"bird", "palm tree", "rabbit"}
    assert by_name["palm tree"]["file"] == "palm_tree.gen.json"
    assert len(by_name["bird"]["sha256"]) == 64
    assert runnable_modes(imported) == ("complete", "generate")


def test_a_seeded_request_draws_the_same_on_the_fast_and_reference_paths(imported) -> None:
    """Alternatives of several categories in one batch, each on its own decoder."""

    def draw(fast: bool) -> list[list[np.ndarray]]:
        batch = DecodeBatch(imported, fast=fast)
        batch.add(SketchRequest(mode="generate", n=6, seed=3, temperature=0.5, max_points=80))
        batch.add(
            SketchRequest(
                mode="complete",
                strokes=[[[10, 10], [60, 12], [62, 58]]],
                conditions={"category": "rabbit"},
                n=2,
                seed=4,
                max_points=80,
            ),
            tag="b",
        )
        out: dict = {}
        while len(batch):
            for e in batch.step():
                if isinstance(e, DoneEvent):
                    out[(e.tag, e.sample)] = e.strokes
        return [out[k] for k in sorted(out, key=str)]

    fast, reference = draw(True), draw(False)
    assert len(fast) == 8
    for a, b in zip(fast, reference):
        assert len(a) == len(b)
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, atol=1e-2)


def test_int8_weights_keep_each_row_within_half_a_step() -> None:
    w = torch.randn(64, 300) * torch.linspace(0.01, 5, 64)[:, None]
    back = dequantize(quantize({"w": w, "b": torch.randn(64)}))
    step = w.abs().amax(1, keepdim=True) / 127
    assert (back["w"] - w).abs().le(step / 2 + 1e-6).all()
    assert back["b"].dtype == torch.float16  # small tensors stay float16


def run(argv: list[str], capsys) -> tuple[int, str]:
    status = cli.run(main, PROG, argv)
    return status, capsys.readouterr().err


def corrupt(path: Path, edit) -> Path:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return path


BAD_FILES = {
    "not json": (lambda p: p.write_text("{not json"), "not valid JSON"),
    "an object": (lambda p: p.write_text('{"name": "bird"}'), "[info, shapes, weights]"),
    "a VAE": (
        lambda p: corrupt(p, lambda d: (d[1].extend([[1], [1]]), d[2].extend(["AA==", "AA=="]))),
        "a VAE (.vae.json) has an encoder too",
    ),
    "mode 1": (lambda p: corrupt(p, lambda d: d[0].update(mode=1)), "only decoder-only"),
    "no scale": (
        lambda p: corrupt(p, lambda d: d[0].update(scale_factor=-3)),
        "scale_factor must be a positive number",
    ),
    "wrong shapes": (
        lambda p: corrupt(p, lambda d: d[1].__setitem__(2, [6, 96])),
        "are not a decoder's",
    ),
    "bad base64": (
        lambda p: corrupt(p, lambda d: d[2].__setitem__(4, "@@@@")),
        "weights[4] is not valid base64",
    ),
    "short array": (
        lambda p: corrupt(p, lambda d: d[2].__setitem__(1, "AAAA")),
        "weights[1] holds 3 bytes; shape [27] needs 54",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_that_is_not_a_decoder_is_refused_in_one_line(tmp_path, capsys, case) -> None:
    make, message = BAD_FILES[case]
    path = write_gen_json(tmp_path / "x.gen.json", "bird", 60.0)
    make(path)
    status, err = run([str(path), "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"{PROG}: error: ")
    assert message in err
    assert not (tmp_path / "out").exists()  # nothing is written before every file is read


def test_decoders_of_different_sizes_or_twice_the_same_category_are_refused(tmp_path, capsys):
    a = write_gen_json(tmp_path / "a.gen.json", "bird", 60.0, hidden=24)
    b = write_gen_json(tmp_path / "b.gen.json", "cat", 60.0, hidden=32)
    c = write_gen_json(tmp_path / "c.gen.json", "bird", 50.0)
    status, err = run([str(a), str(b), "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and "one model holds decoders of one size" in err
    status, err = run([str(a), str(c), "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and "two files draw 'bird'" in err
