"""Runs the Blender extension in real Blender (the bpy wheel, in a Python of its own).

bpy pins numpy<2 while this project uses numpy 2, so bpy lives in a separate virtual environment
named by $AI_SKETCHER_BPY_PYTHON (its python; several, separated by os.pathsep, run in turn).
This module, in the test interpreter, starts a real server, installs the extension with
install.py into a throwaway Blender user folder (BLENDER_USER_RESOURCES) and runs scenario.py in
that Python under a timeout. `python -m tests.blender.harness docs/blender-faces.png` makes
the picture in the docs the same way (with the first of those Pythons).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BPY_ENV = "AI_SKETCHER_BPY_PYTHON"
SETUP = (
    "python3.11 -m venv /tmp/bpy45 && /tmp/bpy45/bin/pip install bpy==4.5.15, then "
    f"{BPY_ENV}=/tmp/bpy45/bin/python"
)
SERVER_START_TIMEOUT = 180.0  # importing torch on a busy 2-core box is slow
BPY_TIMEOUT = 240.0  # one scenario run, Blender's start included
INSTALL_TIMEOUT = 300.0


class HarnessError(Exception):
    """Blender or the server could not produce a report; the message says why, with logs."""


def bpy_pythons() -> list[str]:
    """The Pythons with bpy named by $AI_SKETCHER_BPY_PYTHON."""
    return [p for p in os.environ.get(BPY_ENV, "").split(os.pathsep) if p.strip()]


def missing(python: str | None) -> str | None:
    """Why real Blender cannot run here, or None when it can."""
    if not python:
        return f"{BPY_ENV} is not set, so the add-on is not run in real Blender; set up: {SETUP}"
    if not Path(python).is_file():
        return f"{BPY_ENV} names {python}, which does not exist; set up: {SETUP}"
    return None


def bpy_env(user_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a bpy process: its own user folder, none of this Python's paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "BLENDER_USER_RESOURCES": str(user_dir), **extra}


@contextmanager
def server(model_dir: Path | None = None) -> Iterator[str]:
    """A real server on a free port, stopped afterwards; yields its ws:// address."""
    cmd = [sys.executable, "-m", "sketch_server", "--port", "0", "--log-level", "warning"]
    if model_dir is not None:
        cmd += ["--model", str(model_dir)]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield _ready_url(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def _ready_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    end = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < end:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            line = proc.stdout.readline().strip()
            if line.startswith("ready "):
                return line.split(" ", 1)[1]
        if proc.poll() is not None:
            raise HarnessError(
                f"the server exited with code {proc.returncode} before it was "
                f"ready:\n{proc.stderr.read() if proc.stderr else ''}"
            )
    raise HarnessError(f"the server was not ready within {SERVER_START_TIMEOUT:.0f} s")


def install(python: str, user_dir: Path) -> str:
    """install.py --only blender into `user_dir`, enabling the extension with that bpy."""
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "install.py"),
            "--only",
            "blender",
            "--blender-dir",
            str(user_dir),
            "--blender-exe",
            python,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if run.returncode:
        raise HarnessError(f"install.py failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    return run.stdout


def run_script(
    python: str, script: str, user_dir: Path, url: str, report: Path, args: Sequence[str] = ()
) -> dict[str, Any]:
    """Run tests/blender/SCRIPT in that bpy; returns the JSON report it wrote.

    bpy 5.0.1 in module mode has crashed (SIGSEGV) about once in six runs at an undo that
    replaces every datablock; a script killed by a signal is run once more, and the report
    says so in `crashed_once`. A second crash, or any other failure, fails the test.
    """
    env = bpy_env(user_dir, AI_SKETCHER_SERVER=url)
    crashed = ""
    for _ in range(2):
        try:
            run = subprocess.run(
                [python, str(HERE / script), *args, str(report)],
                env=env,
                cwd=user_dir,
                capture_output=True,
                text=True,
                timeout=BPY_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise HarnessError(
                f"{script} in {python} did not finish within {BPY_TIMEOUT:.0f} s "
                f"(Blender 4.5 hangs at exit if a class stays registered):\n"
                f"{_text(e.stdout)[-3000:]}{_text(e.stderr)[-3000:]}"
            ) from None
        if report.is_file() or run.returncode >= 0 or crashed:
            break
        crashed = f"exit code {run.returncode}: {run.stdout[-1000:]}{run.stderr[-1000:]}"
    if not report.is_file():
        raise HarnessError(
            f"{script} wrote no report (exit code {run.returncode}):\n"
            f"{run.stdout[-3000:]}{run.stderr[-3000:]}"
        )
    result = json.loads(report.read_text())
    result["log"] = run.stdout[-5000:] + run.stderr[-5000:]
    result["crashed_once"] = crashed
    return result


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def replay(url: str, job: dict[str, Any], options: dict[str, Any]) -> list[list[Any]]:
    """What the server draws for a job the add-on sent: the same request, the same seed."""
    from wire.client import SuggestClient

    client = SuggestClient(url, "pytest-blender/1")
    client.start()
    try:
        end = time.monotonic() + 30
        while client.state != "connected" and time.monotonic() < end:
            time.sleep(0.05)
        job_id = client.suggest(
            job["mode"], job["strokes"], seed=job["seed"], bounds=job["bounds"], **options
        )
        end = time.monotonic() + 90
        while time.monotonic() < end:
            for msg in client.poll():
                if getattr(msg, "id", None) == job_id and msg.TYPE == "done":
                    return [list(map(list, sample)) for sample in msg.samples]
                if getattr(msg, "id", None) == job_id and msg.TYPE == "error":
                    raise HarnessError(f"the replayed request failed: {msg.message}")
            time.sleep(0.02)
        raise HarnessError("the replayed request did not finish in time")
    finally:
        client.close()


def render(out: Path, python: str | None = None, script: str = "render_faces.py") -> dict[str, Any]:
    """Run a render script in real Blender (render_faces.py: faces autodrawn on three storyboard
    keyframes; render_guide.py: the shadow guide; render_sheet.py: a character sheet) and put
    its Workbench renders side by side in `out` (a PNG)."""
    import tempfile

    from PIL import Image, ImageOps

    python = python or (bpy_pythons() or [None])[0]
    reason = missing(python)
    if reason:
        raise HarnessError(reason)
    with tempfile.TemporaryDirectory(prefix="ai-sketcher-render-") as tmp:
        user = Path(tmp) / "user"
        install(python, user)
        with server() as url:
            result = run_script(python, script, user, url, Path(tmp) / "report.json", [tmp])
        if "error" in result:
            raise HarnessError(result["error"] + result["log"])
        frames = [
            ImageOps.expand(Image.open(p).convert("RGB"), border=2, fill=(90, 90, 90))
            for p in result["frames"]
        ]
        strip = Image.new(
            "RGB",
            (sum(f.width for f in frames) + 16 * (len(frames) + 1), frames[0].height + 32),
            (235, 235, 235),
        )
        x = 16
        for frame in frames:
            strip.paste(frame, (x, 16))
            x += frame.width + 16
        strip.save(out, optimize=True)
    return {k: v for k, v in result.items() if k not in ("log", "frames")}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "docs" / "blender-faces.png")
    script = sys.argv[2] if len(sys.argv) > 2 else "render_faces.py"
    print(f"Wrote {target}: {json.dumps(render(target, script=script))}")
