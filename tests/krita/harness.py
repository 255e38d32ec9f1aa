"""Runs real Krita under Xvfb with a throwaway HOME for tests/test_krita_real.py.

Nothing here is Krita-specific beyond the command line: it installs the plugin with install.py,
starts a real server and an X server, runs `krita --nosplash` with the plugin's self-test hook
(AI_SKETCHER_SELFTEST_SCRIPT: a driver beside this file, selftest.py or characters.py;
AI_SKETCHER_SELFTEST: its report) and returns the JSON report the driver wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
APT_LINE = "apt-get install -y --no-install-recommends krita python3-pyqt5 python3-sip xvfb xauth"
SYSTEM_PYQT = Path("/usr/lib/python3/dist-packages/PyQt5")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SERVER_START_TIMEOUT = 120.0  # seconds: importing torch on a busy 2-core box is slow
KRITA_TIMEOUT = 180.0  # the first start builds Krita's resource database (about 20 s)
SELFTEST = Path(__file__).with_name("selftest.py")


class HarnessError(Exception):
    """The run could not produce a report; the message carries the logs that say why."""


def missing() -> str | None:
    """Why real Krita cannot run here, or None when it can."""
    for tool, package in (("krita", "krita"), ("Xvfb", "xvfb")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed ({package} package); install with: {APT_LINE}"
    return None


@dataclass
class Run:
    """What one Krita session produced."""

    report: dict[str, Any]
    install_output: str
    screenshot: Path
    home: Path


def _read_line(proc: subprocess.Popen[str], timeout: float, what: str) -> str:
    """The first stdout line of `proc` within `timeout` seconds."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line:
                return line.strip()
        if proc.poll() is not None:
            raise HarnessError(f"{what} exited with code {proc.returncode} before it was ready")
    raise HarnessError(f"{what} was not ready within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[Any] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_krita(
    work: Path, models: Path | Sequence[Path], screenshot: Path, script: Path = SELFTEST
) -> Run:
    """Install into work/home, start a server with `models` (the first is the default), Xvfb
    and Krita with the driver `script`, and return the report it wrote."""
    models = [models] if isinstance(models, Path) else list(models)
    home, tmp, runtime = work / "home", work / "tmp", work / "runtime"
    for d in (home, tmp, runtime):
        d.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    # Krita's embedded Python finds its home through the first python3 on PATH; a pyenv or venv
    # python3 there would hide the system's PyQt5 from it, so Krita gets the system PATH only.
    base = {
        "PATH": SYSTEM_PATH,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp),
        "XDG_RUNTIME_DIR": str(runtime),
    }
    installed = subprocess.run(
        [sys.executable, str(REPO / "install.py"), "--only", "krita"],
        env={**base, "PATH": os.environ.get("PATH", SYSTEM_PATH)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if installed.returncode:
        raise HarnessError(f"install.py failed:\n{installed.stdout}{installed.stderr}")
    with contextlib.ExitStack() as stack:
        url = _start_server(work, models, stack)
        report_path = work / "report.json"
        for _ in range(2):  # once more on a new X server if Krita could not reach this one
            with contextlib.ExitStack() as x_server:
                display = _start_xvfb(x_server)
                env = {
                    **base,
                    "DISPLAY": f":{display}",
                    "QT_QPA_PLATFORM": "xcb",
                    "AI_SKETCHER_SELFTEST": str(report_path),
                    "AI_SKETCHER_SELFTEST_SCRIPT": str(script),
                    "AI_SKETCHER_SCREENSHOT": str(screenshot),
                    "AI_SKETCHER_SERVER": url,
                }
                started = time.monotonic()
                code = _run_krita(env, work / "krita.log")
            log_text = (work / "krita.log").read_text(errors="replace")
            if report_path.is_file() or "could not connect to display" not in log_text:
                break
        if not report_path.is_file():
            tail = log_text[-4000:]
            raise HarnessError(f"Krita (exit {code}) wrote no report; its log ends:\n{tail}")
        report = json.loads(report_path.read_text())
        report["seconds"] = round(time.monotonic() - started, 1)
        report["exit_code"] = code
        return Run(report, installed.stdout, screenshot, home)


def _start_server(work: Path, models: Sequence[Path], stack: contextlib.ExitStack) -> str:
    """`python -m sketch_server --port 0`, stopped when `stack` closes; returns its address."""
    log_path = work / "server.log"
    log = stack.enter_context(open(log_path, "w"))  # closed by the stack
    served = [arg for model in models for arg in ("--model", str(model))]
    server = subprocess.Popen(
        [sys.executable, "-m", "sketch_server", "--port", "0", *served],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    stack.callback(_stop, server)
    try:
        ready = _read_line(server, SERVER_START_TIMEOUT, "the server")
    except HarnessError as e:
        log.flush()
        tail = log_path.read_text(errors="replace")[-3000:]
        raise HarnessError(f"{e}; its log ends:\n{tail}") from None
    if not ready.startswith("ready ws://"):
        raise HarnessError(f"the server printed {ready!r} instead of its ready line")
    return ready.split()[1]


def _start_xvfb(stack: contextlib.ExitStack) -> str:
    """An X server on a free display, stopped when `stack` closes; returns the display number."""
    xvfb = subprocess.Popen(
        [
            shutil.which("Xvfb") or "Xvfb",
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x1024x24",
            "-nolisten",
            "tcp",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stack.callback(_stop, xvfb)
    return _read_line(xvfb, 30, "Xvfb")


def _run_krita(env: dict[str, str], log_path: Path) -> int | str:
    """Run `krita --nosplash` until the self-test ends it; its exit code, or why it was killed."""
    with open(log_path, "w") as log:
        try:
            return subprocess.run(
                [shutil.which("krita") or "krita", "--nosplash"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=KRITA_TIMEOUT,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            return f"killed after {KRITA_TIMEOUT:.0f} s"
