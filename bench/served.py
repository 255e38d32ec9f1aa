"""The real server command (`python -m sketch_server`) as a subprocess on 127.0.0.1, for the
benches that measure what a client gets from it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def launch(*args: str, log_level: str = "warning") -> tuple[subprocess.Popen[str], str]:
    """`python -m sketch_server --port 0 ARGS` from the repository: the process and its URL,
    once it has printed `ready URL`; RuntimeError with what it printed instead."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sketch_server", "--port", "0", "--log-level", log_level, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the server did not start (it printed {line!r})")
    return proc, line.split()[1]


def stop_server(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, and SIGKILL if it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served(*args: str, log_level: str = "warning") -> Iterator[str]:
    """The URL of a server started as launch() starts it, stopped on the way out."""
    proc, url = launch(*args, log_level=log_level)
    try:
        yield url
    finally:
        stop_server(proc)
