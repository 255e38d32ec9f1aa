"""Every command answers a mistake in one line, `PROG: error: ...`, with exit status 2.

Each case runs the entry point as a real subprocess (as a person would) on a missing file, a
file of the wrong kind, an unknown name (condition, category, attribute, preset) and an output
it cannot write, and checks that nothing but that one line reaches stderr.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lab.prepare import build
from lab.sources import SourceDrawing
from model import cli

REPO = Path(__file__).resolve().parent.parent
OBJECTS = str(REPO / "model" / "weights" / "objects")
NOT_A_FOLDER = str(REPO / "README.md")  # a file where a folder is needed: never writable


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != cli.DEBUG_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def command(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m ARGS` from the repository root, as the README runs it."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(args: tuple[str, ...], *needles: str) -> str:
    """Run a command that must fail; its stderr is one line naming the command and the needles."""
    prog = "sketch-server" if args[0] == "sketch_server" else f"python -m {args[0]}"
    if args[0] == "lab.library":
        prog += " build"
    done = command(*args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny prepared file, a PNG renamed .npz, a non-JSON .json and paths that do not exist."""
    root = tmp_path_factory.mktemp("cli")
    square = np.array([[10, 10, 0], [50, 0, 0], [0, 50, 0], [-50, 0, 1]], dtype=np.int16)
    sketches = [SourceDrawing(square, c) for c in ("cat", "cat", "cat", "door", "door", "door")]
    build(sketches, np.array([0, 1, 2, 0, 1, 2]), max_len=250).save(root / "tiny.npz")
    (root / "image.npz").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (root / "image.json").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (root / "model").mkdir()
    (root / "model" / "config.json").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return {
        "tiny": str(root / "tiny.npz"),
        "png": str(root / "image.npz"),
        "png_json": str(root / "image.json"),
        "bad_model": str(root / "model"),
        "missing": str(root / "nope.npz"),
        "missing_dir": str(root / "nope"),
        "root": str(root),
    }


CASES = {
    "lab.train": [
        ("missing", ("--data", "{missing}", "--out", "{root}/run"), ["nope.npz: no such file"]),
        ("wrong kind", ("--data", "{png}", "--out", "{root}/run"), ["it is a PNG image"]),
        (
            "unknown name",
            ("--data", "{tiny}", "--out", "{root}/run", "--config", "sketch-rn"),
            ["sketch-rn"],
        ),
        (
            "unwritable",
            ("--data", "{tiny}", "--out", f"{NOT_A_FOLDER}/run"),
            ["cannot write", "README.md is a file"],
        ),
        (
            "no people",
            ("--data", "{tiny}", "--out", "{root}/run", "--set", "cross_reconstruction=0.5"),
            ["needs data that records who each drawing is"],
        ),
    ],
    "lab.evaluate": [
        (
            "missing",
            ("--checkpoint", "{missing_dir}", "--data", "{tiny}"),
            ["nope: no such checkpoint folder"],
        ),
        ("wrong kind", ("--checkpoint", OBJECTS, "--data", "{png}"), ["it is a PNG image"]),
        (
            "unknown name",
            ("--checkpoint", OBJECTS, "--data", "{tiny}", "--categories", "kat"),
            ["no category 'kat'"],
        ),
        (
            "unwritable",
            ("--checkpoint", OBJECTS, "--data", "{tiny}", "--json", f"{NOT_A_FOLDER}/x.json"),
            ["cannot write"],
        ),
    ],
    "lab.classifier": [
        ("missing", ("--data", "{missing}", "--out", "{root}/clf"), ["nope.npz: no such file"]),
        ("wrong kind", ("--data", "{png}", "--out", "{root}/clf"), ["it is a PNG image"]),
        (
            "unknown name",
            ("--data", "{tiny}", "--out", "{root}/clf", "--attribute", "mood"),
            ["no attribute 'mood'"],
        ),
        ("unwritable", ("--data", "{tiny}", "--out", f"{NOT_A_FOLDER}/clf"), ["cannot write"]),
    ],
    "lab.draw": [
        (
            "missing",
            ("--checkpoint", "{missing_dir}", "--out", "{root}/g.svg"),
            ["no such checkpoint folder"],
        ),
        (
            "wrong kind",
            ("--checkpoint", "{bad_model}", "--out", "{root}/g.svg"),
            ["config.json is not valid JSON"],
        ),
        (
            "unknown name",
            ("--checkpoint", OBJECTS, "--condition", "category=kat", "--out", "{root}/g.svg"),
            ["unknown value 'kat'", "'cat'"],
        ),
        (
            "unwritable",
            ("--checkpoint", OBJECTS, "--out", "{root}/g.jpg"),
            ["name a .svg or .png file"],
        ),
    ],
    "lab.reference": [
        (
            "missing",
            ("--pretrained", "{missing}", "--data", "{tiny}", "--checkpoint", OBJECTS),
            ["no such file", "nope.npz"],
        ),
        (
            "wrong kind",
            ("--pretrained", "{png_json}", "--data", "{tiny}", "--checkpoint", OBJECTS),
            ["image.json is not a sketch-rnn-js model"],
        ),
        (
            "unknown name",
            (
                "--pretrained",
                "{png_json}",
                "--data",
                "{tiny}",
                "--checkpoint",
                OBJECTS,
                "--splits",
                "tset",
            ),
            ["unknown split 'tset'"],
        ),
    ],
    "model.checkpoint": [
        ("missing", ("{missing_dir}", "{root}/export"), ["no such checkpoint folder"]),
        ("wrong kind", ("{bad_model}", "{root}/export"), ["config.json is not valid JSON"]),
        ("unwritable", (OBJECTS, f"{NOT_A_FOLDER}/export"), ["cannot write"]),
    ],
    "lab.prepare": [
        ("missing", ("--out", "{root}/p.npz", "{missing_dir}"), ["nope: no such file"]),
        (
            "wrong kind",
            ("--out", "{root}/p.npz", "{png}", "--quiet"),
            ["image.npz: not a Sketch-RNN .npz archive: it is a PNG image"],
        ),
        (
            "unknown name",
            ("--out", "{root}/p.npz", "--quickdraw", "kat", "--from", "{root}"),
            ["no file for QuickDraw category 'kat'"],
        ),
        ("unwritable", ("--out", f"{NOT_A_FOLDER}/p.npz", "{tiny}"), ["cannot write"]),
    ],
    "lab.datasets.faces": [
        ("unwritable", ("--n", "2", "--out", f"{NOT_A_FOLDER}/f.npz"), ["cannot write"]),
        (
            "wrong kind",
            ("--n", "2", "--out", "{root}/f.npz", "--grid", "{root}/g.jpg"),
            ["--grid must name a .png or .svg file"],
        ),
    ],
    "lab.library": [
        (
            "missing",
            ("build", "--data", "{missing}", "--checkpoint", OBJECTS, "--out", "{root}/lib"),
            ["nope.npz: no such file"],
        ),
        (
            "wrong kind",
            ("build", "--data", "{png}", "--checkpoint", OBJECTS, "--out", "{root}/lib"),
            ["it is a PNG image"],
        ),
        (
            "unknown name",
            (
                "build",
                "--data",
                "{tiny}",
                "--checkpoint",
                OBJECTS,
                "--out",
                "{root}/lib",
                "--split",
                "tset",
            ),
            ["--split takes"],
        ),
        (
            "unwritable",
            ("build", "--data", "{tiny}", "--checkpoint", OBJECTS, "--out", f"{NOT_A_FOLDER}/lib"),
            ["cannot write"],
        ),
    ],
    "sketch_server": [
        ("missing", ("--port", "0", "--model", "{missing_dir}"), ["nope does not exist"]),
        (
            "wrong kind",
            ("--port", "0", "--model", "{bad_model}"),
            ["config.json is not valid JSON"],
        ),
        ("unknown name", ("--port", "0", "--device", "tpu"), ["'tpu'"]),
    ],
}


@pytest.mark.parametrize(
    ("module", "case", "args", "needles"),
    [(m, case, args, needles) for m, cases in CASES.items() for case, args, needles in cases],
    ids=[f"{m}-{case}" for m, cases in CASES.items() for case, _, _ in cases],
)
def test_every_command_fails_in_one_line(
    files: dict[str, str], module: str, case: str, args: tuple[str, ...], needles: list[str]
) -> None:
    """A mistake gives exit status 2 and one stderr line naming the command, with no traceback."""
    filled = tuple(a.format(**files) for a in args)
    one_line_error((module, *filled), *needles)
    assert not Path(files["root"], "run").exists(), "nothing is written when the input is bad"


@pytest.mark.parametrize(
    "module",
    [
        "lab.train",
        "lab.evaluate",
        "lab.classifier",
        "lab.draw",
        "lab.reference",
        "model.checkpoint",
        "lab.prepare",
        "lab.datasets.faces",
        "lab.library",
        "sketch_server",
    ],
)
def test_help_stands_alone(module: str) -> None:
    """--help starts with a one-line description and states the defaults it has."""
    done = command(module, "--help")
    assert done.returncode == 0, done.stderr
    description = done.stdout.split("\n\n")[1]
    assert "\n" not in description.strip() and len(description) < 120, description
    assert "--debug" in done.stdout
    if module not in ("model.checkpoint", "lab.prepare", "lab.library"):
        assert re.search(r"\(default:\s", done.stdout)


def test_debug_shows_the_traceback(files: dict[str, str]) -> None:
    """--debug (or AI_SKETCHER_DEBUG=1) adds the traceback above the same one-line error."""
    done = command(
        "lab.draw",
        "--checkpoint",
        files["missing_dir"],
        "--out",
        f"{files['root']}/g.svg",
        "--debug",
    )
    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("python -m lab.draw: error: ")


def test_a_usage_error_is_one_line_too() -> None:
    """argparse's own mistakes (a missing option) are the same single line, with a pointer."""
    done = command("lab.draw", "--n", "2")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert (
        lines[0].startswith("python -m lab.draw: error: the following arguments are required")
        and "--help" in lines[0]
    )


def test_output_checks(tmp_path: Path) -> None:
    """Outputs are checked before work: suffix, a folder in the way, a file in the path."""
    assert cli.output_file(tmp_path / "new" / "deeper" / "x.png", (".png",)).name == "x.png"
    assert not (tmp_path / "new").exists(), "checking creates nothing"
    (tmp_path / "taken").mkdir()
    for path, suffixes, message in [
        (tmp_path / "x.jpg", (".png", ".svg"), "name a .png or .svg file"),
        (tmp_path / "taken", (), "is a folder"),
        (Path(NOT_A_FOLDER) / "x.png", (), "README.md is a file, not a folder"),
    ]:
        with pytest.raises(cli.CommandError, match=message):
            cli.output_file(path, suffixes)
    with pytest.raises(cli.CommandError, match="is a file; name a folder"):
        cli.output_dir(NOT_A_FOLDER)
    assert cli.output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"


def test_describe_keeps_bugs_as_tracebacks() -> None:
    """Only the project's errors and file problems become one line; a bug is not hidden."""
    assert cli.describe(KeyError("x")) is None
    assert cli.describe(ValueError("x")) is None
    assert cli.describe(FileNotFoundError(2, "No such file", "a.npz")) == (
        "a.npz: no such file or folder; check the path"
    )
    with pytest.raises(json.JSONDecodeError) as raised:
        json.loads("{")
    assert "not valid JSON" in str(cli.describe(raised.value))
    assert (
        cli.run(lambda argv: (_ for _ in ()).throw(cli.CommandError("bad\n  input")), "prog", [])
        == 2
    )


def test_quick_shrinks_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """AI_SKETCHER_DOCS_QUICK caps long runs (for tests/test_docs.py) and says so on stderr."""
    monkeypatch.delenv(cli.QUICK_ENV, raising=False)
    assert cli.quick(5000, 2, "steps") == 5000
    monkeypatch.setenv(cli.QUICK_ENV, "1")
    monkeypatch.setattr(cli, "_quick_said", False)
    assert cli.quick(5000, 2, "steps") == 2 and cli.quick(1, 2) == 1
    assert "steps 5000 -> 2" in capsys.readouterr().err
