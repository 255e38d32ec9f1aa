"""Import Google Magenta's pretrained Sketch-RNN decoders (sketch-rnn-js `.gen.json` files) as a
project model: one decoder a category, picked by the `category` condition.

python -m lab.import_sketchrnn bird.gen.json dolphin.gen.json ... --out DIR [--int8]

A `.gen.json` file is `[info, shapes, blobs]`: `info` names the category (`name`) and gives its
`scale_factor` and `max_seq_len`; the five blobs are base64 little-endian int16 arrays, each
value scaled by 10 / 32767: the output layer [H, 6M + 3] and its bias, the LSTM's input weights
[5, 4H], recurrent weights [H, 4H] and bias [4H]. The LSTM is TensorFlow's (gates i, j, f, o; the
forget gate's bias + 1), the head's outputs are 3 pen logits then the mixture's pi, mu_x, mu_y,
log sigma_x, log sigma_y and rho logits (M each). The file is read as JSON and base64 only:
nothing in it is executed or unpickled.

The weights are rearranged into the project's decoder (the `sketch-rnn-decoder` preset with
conditions: one decoder a category) and each category's offsets are brought to one model unit:
the first two input columns are multiplied and the head's means and log sigmas shifted
accordingly, which is exact. Magenta's decoders draw in their data's pixels, about three times
QuickDraw's 256 box that every other model here draws in, so each is scaled (the same way) to
the box: the scale that gives its own drawings, 64 at the model's temperature, a median larger
side of 255, as every simplified QuickDraw drawing has. The same drawings say where `generate`
starts the pen so that they centre in the box. Each file's own scale factor, the box scale, the
length limit, checksum and the licences are kept in the folder's provenance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model import cli
from model import strokes as S
from model.checkpoint import Checkpoint, save
from model.cli import CommandError
from model.config import SampleConfig, preset
from model.network import SketchModel
from model.sample import DecodeBatch, DoneEvent, SketchRequest
from model.vocab import ConditionVocab

QUANTUM = 10.0 / 32767  # sketch-rnn-js stores each weight as int16 * 10 / 32767
MAX_FILE_BYTES = 64 * 2**20  # the published 512-unit files are 3 MB, the 1024-unit ones 11 MB
MAX_HIDDEN = 4096
MAX_MIXTURE = 64
PROVENANCE = (
    "decoder weights published by Google Magenta for sketch-rnn-js; "
    "training data Quick, Draw! (CC BY 4.0)"
)
LICENCE = (
    "published by Google Magenta for sketch-rnn-js (magenta-js and magenta-demos, Apache-2.0; no "
    "separate licence is stated for the weights); trained on Google's Quick, Draw! data, CC BY "
    "4.0: attribution required"
)
DEFAULT_TEMPERATURE = 0.4  # measured: docs/models.md, "quickdraw"
RUNAWAY = 250  # points: a drawing this long did not end (the requests' default limit)


class DecoderFileError(CommandError):
    """A file that is not a sketch-rnn-js decoder; the message names the file and the reason."""


@dataclass(frozen=True)
class MagentaFile:
    """One decoder as read from a `.gen.json` file, in TensorFlow's layout (float64)."""

    path: str
    name: str  # the category, as the file names it ("palm_tree")
    scale_factor: float
    max_seq_len: int
    out_w: np.ndarray  # [H, 6M + 3]
    out_b: np.ndarray  # [6M + 3]
    w_xh: np.ndarray  # [5, 4H], gates i, j, f, o
    w_hh: np.ndarray  # [H, 4H]
    bias: np.ndarray  # [4H]
    sha256: str

    @property
    def hidden(self) -> int:
        return self.w_hh.shape[0]

    @property
    def mixtures(self) -> int:
        return (self.out_b.shape[0] - 3) // 6

    @property
    def category(self) -> str:
        """The QuickDraw category name: sketch-rnn-js writes spaces as underscores."""
        return self.name.replace("_", " ")


def _fail(path: str | os.PathLike[str], reason: str) -> DecoderFileError:
    return DecoderFileError(f"{path} is not a sketch-rnn-js decoder (.gen.json): {reason}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_gen_json(path: str | os.PathLike[str]) -> MagentaFile:
    """Read and check one `.gen.json` file; anything else raises DecoderFileError (one line)."""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail(path, f"{size / 2**20:.0f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit")
    raw = p.read_bytes()
    data = cli.read_json(p, "a sketch-rnn-js decoder (.gen.json)")
    if not (isinstance(data, list) and len(data) == 3):
        raise _fail(path, "it must be a JSON list [info, shapes, weights]")
    info, shapes, blobs = data
    if not isinstance(info, dict):
        raise _fail(path, "its first element (info) must be an object")
    name, scale, max_len, mode = (
        info.get(k) for k in ("name", "scale_factor", "max_seq_len", "mode")
    )
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise _fail(path, "info.name must be the category's name")
    if not _number(scale) or not math.isfinite(scale) or scale <= 0:
        raise _fail(path, f"info.scale_factor must be a positive number; got {scale!r}")
    if not (isinstance(max_len, int) and not isinstance(max_len, bool) and 0 < max_len <= 10_000):
        raise _fail(path, f"info.max_seq_len must be a whole number of points; got {max_len!r}")
    if mode not in (2, "gen", None):
        raise _fail(
            path, f"info.mode is {mode!r}: only decoder-only models (mode 2, .gen.json) import"
        )
    if not (isinstance(shapes, list) and isinstance(blobs, list)):
        raise _fail(path, "shapes and weights must be lists")
    if len(shapes) != 5 or len(blobs) != 5:
        raise _fail(
            path,
            f"it has {len(blobs)} weight arrays; a decoder has 5 (output layer and bias, LSTM "
            "input, recurrent weights and bias); a VAE (.vae.json) has an encoder too",
        )
    if not all(
        isinstance(s, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in s)
        for s in shapes
    ):
        raise _fail(path, "each shape must be a list of whole numbers")
    hidden = shapes[3][0] if len(shapes[3]) == 2 else 0
    outputs = shapes[1][0] if len(shapes[1]) == 1 else 0
    mixtures = (outputs - 3) // 6
    want = [[hidden, outputs], [outputs], [5, 4 * hidden], [hidden, 4 * hidden], [4 * hidden]]
    if (
        shapes != want
        or not 0 < hidden <= MAX_HIDDEN
        or outputs != 6 * mixtures + 3
        or not 0 < mixtures <= MAX_MIXTURE
    ):
        raise _fail(
            path,
            f"shapes {shapes} are not a decoder's [[H, 6M+3], [6M+3], [5, 4H], [H, 4H], [4H]] "
            f"(H up to {MAX_HIDDEN} units, M up to {MAX_MIXTURE} components)",
        )
    arrays = []
    for i, (shape, blob) in enumerate(zip(shapes, blobs)):
        if not isinstance(blob, str):
            raise _fail(path, f"weights[{i}] must be a base64 string")
        try:
            buf = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            raise _fail(path, f"weights[{i}] is not valid base64") from None
        count = int(np.prod(shape))
        if len(buf) != 2 * count:
            raise _fail(
                path,
                f"weights[{i}] holds {len(buf)} bytes; shape {shape} needs {2 * count} (int16)",
            )
        arrays.append(np.frombuffer(buf, dtype="<i2").astype(np.float64).reshape(shape) * QUANTUM)
    out_w, out_b, w_xh, w_hh, bias = arrays
    return MagentaFile(
        str(path),
        name.strip(),
        float(scale),
        max_len,
        out_w,
        out_b,
        w_xh,
        w_hh,
        bias,
        hashlib.sha256(raw).hexdigest(),
    )


def _torch_gates(a: np.ndarray) -> np.ndarray:
    """Rows in TensorFlow's gate order (i, j, f, o) -> PyTorch's (i, f, g = j, o)."""
    i, j, f, o = np.split(a, 4, axis=0)
    return np.concatenate([i, f, j, o], axis=0)


def _head_rows(out_w: np.ndarray, out_b: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The head's outputs from sketch-rnn's (pen 3, pi, mu_x, mu_y, s_x, s_y, rho) to the
    project's (pi, (mu_x, mu_y) a component, (s_x, s_y) a component, rho, pen 3)."""
    pen, pi, mx, my, sx, sy, rho = (
        np.arange(3),
        *(3 + m * k + np.arange(m) for k in range(6)),
    )
    order = np.concatenate(
        [pi, np.stack([mx, my], 1).ravel(), np.stack([sx, sy], 1).ravel(), rho, pen]
    )
    return out_w.T[order], out_b[order]


def decoder_state(f: MagentaFile, unit: float, box_scale: float = 1.0) -> dict[str, np.ndarray]:
    """One file's weights as a project Decoder's state dict, with offsets in `unit` (the file's
    own offsets are in units of its scale factor; the model's in `unit`), its drawings scaled
    by `box_scale` (from the file's pixels to the 256 box)."""
    hidden, m = f.hidden, f.mixtures
    ratio = f.scale_factor * box_scale / unit  # one file unit is `ratio` model units
    w_ih = _torch_gates(f.w_xh.T.copy())  # [4H, 5]
    w_ih[:, :2] /= ratio  # the decoder reads offsets in model units: dx_file = dx_model / ratio
    bias = f.bias.copy()
    bias[2 * hidden : 3 * hidden] += 1.0  # TensorFlow's forget bias, folded into the bias
    w_head, b_head = _head_rows(f.out_w, f.out_b, m)
    # Means scale by ratio; log sigmas shift by log(ratio): rows m..3m and 3m..5m of the head.
    w_head[m : 3 * m] *= ratio
    b_head[m : 3 * m] *= ratio
    b_head[3 * m : 5 * m] += math.log(ratio)
    return {
        "rnn.weight_ih_l0": w_ih,
        "rnn.weight_hh_l0": _torch_gates(f.w_hh.T.copy()),
        "rnn.bias_ih_l0": _torch_gates(bias),
        "rnn.bias_hh_l0": np.zeros(4 * hidden),
        "head.proj.weight": w_head,
        "head.proj.bias": b_head,
    }


def build(
    files: Sequence[MagentaFile], box_scales: Sequence[float] | None = None
) -> tuple[SketchModel, ConditionVocab, float]:
    """The project model of one or more decoders: the network, its category vocabulary and the
    model unit (the geometric mean of the files' scale factors in box units; the one file's
    own for one). box_scales (one a file, default 1) scale each decoder's drawings."""
    if not files:
        raise CommandError("name at least one .gen.json file")
    first = files[0]
    for f in files[1:]:
        if (f.hidden, f.mixtures) != (first.hidden, first.mixtures):
            raise CommandError(
                f"{f.path} has {f.hidden} units and {f.mixtures} components, {first.path} "
                f"{first.hidden} and {first.mixtures}: one model holds decoders of one size; "
                "import them into separate folders"
            )
    names = [f.category for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CommandError(f"two files draw {dup[0]!r}; import each category once")
    scales = list(box_scales) if box_scales is not None else [1.0] * len(files)
    unit = float(np.exp(np.mean([np.log(f.scale_factor * b) for f, b in zip(files, scales)])))
    cfg = replace(
        preset("sketch-rnn-decoder"),
        dec_rnn_size=first.hidden,
        num_mixture=first.mixtures,
        use_condition=True,
        condition_dim=len(files),
    )
    model = SketchModel(cfg)
    state = {
        f"decoders.{k}.{name}": torch.tensor(value, dtype=torch.float32)
        for f, b, k in zip(files, scales, range(len(files)))
        for name, value in decoder_state(f, unit, b).items()
    }
    model.load_state_dict(state)
    vocab = ConditionVocab(("category",), {"category": tuple(names)})
    return model.eval(), vocab, unit


def _own_drawings(
    ckpt: Checkpoint, category: str, n: int, temperature: float, seed: int
) -> list[list[np.ndarray]]:
    """n drawings of a category from its decoder, seeded, those that ended on their own: a
    drawing that ran to the point limit has wandered off."""
    batch = DecodeBatch(ckpt)
    batch.add(
        SketchRequest(conditions={"category": category}, n=n, temperature=temperature, seed=seed)
    )
    drawn: list[list[np.ndarray]] = []
    while len(batch):
        drawn += [e.strokes for e in batch.step() if isinstance(e, DoneEvent)]
    return [d for d in drawn if d and sum(map(len, d)) < RUNAWAY]


def calibrate(
    model: SketchModel, vocab: ConditionVocab, unit: float, temperature: float, n: int = 64
) -> tuple[list[float], dict[str, list[float]]]:
    """Each decoder's box scale and first point, from n of its own drawings (seeded): the scale
    that makes their median larger side BOX, as every Quick, Draw! simplified drawing's is
    (Magenta's files draw in their data's pixels, about three times the box), and the point to
    start the pen at so that their median centre is the box's. The drawings are drawn at
    `temperature`, or higher where fewer than one in eight end there (some decoders, rain's,
    rarely lift the pen at low temperatures)."""
    ckpt = Checkpoint(model, model.cfg, vocab, unit, meta={"row0": "start"})
    scales, starts = [], {}
    for k, category in enumerate(vocab.values["category"]):
        for t in sorted({temperature, *(x for x in (0.6, 0.8, 1.0) if x > temperature)}):
            ended = _own_drawings(ckpt, category, n, t, seed=k)
            if len(ended) >= n // 8:
                break
        boxes = np.array([S.bounds(d) for d in ended]).reshape(-1, 4)  # the pen began mid-box
        size = float(np.median((boxes[:, 2:] - boxes[:, :2]).max(1))) if len(boxes) else 0.0
        if size <= 1e-3:  # a decoder that draws nothing that ends stays as it is
            scales.append(1.0)
            starts[category] = [S.BOX / 2, S.BOX / 2]
            continue
        scale = S.BOX / size
        centre = (np.median((boxes[:, :2] + boxes[:, 2:]) / 2, axis=0) - S.BOX / 2) * scale
        scales.append(scale)
        starts[category] = [float(S.BOX / 2 - centre[0]), float(S.BOX / 2 - centre[1])]
    return scales, starts


def provenance(files: Sequence[MagentaFile], box_scales: Sequence[float]) -> list[dict[str, Any]]:
    """Where each decoder came from, as the folder's config.json records it."""
    return [
        {
            "category": f.category,
            "file": Path(f.path).name,
            "sha256": f.sha256,
            "scale_factor": f.scale_factor,
            "box_scale": b,
            "max_seq_len": f.max_seq_len,
            "units": f.hidden,
            "mixtures": f.mixtures,
        }
        for f, b in zip(files, box_scales)
    ]


def import_files(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    precision: str = "float16",
    temperature: float = DEFAULT_TEMPERATURE,
    description: str | None = None,
    command: str = "",
) -> Path:
    """Read every file (all before writing anything) and write one model folder."""
    files = [read_gen_json(p) for p in paths]
    model, vocab, unit = build(files)
    scales, starts = calibrate(model, vocab, unit, temperature)
    model, vocab, unit = build(files, scales)
    names = ", ".join(vocab.values["category"][:6]) + (", ..." if len(files) > 6 else "")
    meta = {
        "description": description
        or f"Sketch-RNN decoders by Google Magenta, one a category ({len(files)}: {names})",
        "provenance": PROVENANCE,
        "licence": LICENCE,
        "decoders": provenance(files, scales),
        "row0": "start",  # Sketch-RNN's data start at the first point: row 0 is a small offset
        "first_point": starts,  # where `generate` starts each category's pen
        "command": command,
    }
    return save(
        out,
        model,
        vocab,
        unit,
        meta=meta,
        precision=precision,
        sample=SampleConfig(temperature),
    )


PROG = "python -m lab.import_sketchrnn"


def main(argv: list[str] | None = None) -> None:
    """Import from the command line: every file is read and checked before the folder is written."""
    ap = cli.parser(
        PROG,
        "Import Magenta's pretrained Sketch-RNN decoders (sketch-rnn-js .gen.json files) as one "
        "model, one decoder a category, that the server can serve with --model DIR.",
        epilog="example:\n  python -m lab.import_sketchrnn "
        "../shared/data/pretrained/sketch-rnn-js/*.gen.json --out runs/quickdraw\n\n"
        + __doc__.split("\n\n", 2)[2],
    )
    ap.add_argument("files", nargs="+", metavar="FILE.gen.json", help="decoder files to import")
    ap.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    ap.add_argument(
        "--precision",
        choices=("float32", "float16", "int8"),
        default="float16",
        help="how the weights are stored: int8 (a scale a row) is a quarter of float32's size",
    )
    ap.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        help="the model's default Variety, as the welcome lists it",
    )
    ap.add_argument("--description", metavar="TEXT", help="what the welcome says the model is")
    args = ap.parse_args(argv)
    cli.output_dir(args.out)
    try:
        SampleConfig(args.temperature)
    except ValueError as e:
        ap.error(f"--temperature: {e}")
    command = "python -m lab.import_sketchrnn " + " ".join(
        [*(Path(f).name for f in args.files), "--out", str(args.out), "--precision", args.precision]
    )
    out = import_files(
        args.files,
        args.out,
        precision=args.precision,
        temperature=args.temperature,
        description=args.description,
        command=command,
    )
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"imported {len(args.files)} decoder(s) into {out} ({size:.1f} MB, {args.precision})")


if __name__ == "__main__":
    cli.exit_with(main, PROG)
