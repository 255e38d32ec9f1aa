"""The server as a command: `python -m sketch_server`, its ready line, signals, shipped models,
tokens from the environment or a file, and its one-line errors."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from .conftest import FACE, TIMEOUT, Client
from .test_server import check_result

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }


async def _start(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """`python -m sketch_server --port 0 ARGS...` with its stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sketch_server",
        "--port",
        "0",
        *args,
        cwd=REPO,
        env=env or _env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_command_line_ready_and_signal(model_dir: Path, sig: signal.Signals) -> None:
    """`python -m sketch_server --port 0` prints one `ready` line, serves, exits 0 on a signal."""
    proc = await _start("--model", str(model_dir))
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()  # type: ignore[union-attr]
        if not line:
            _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
            pytest.fail(f"the server did not start: {err.decode().strip()}")
        assert line.startswith("ready ws://127.0.0.1:") and line.endswith("\n"), line
        c = await Client.open(line.split()[1])
        check_result(await c.suggest(mode="complete", strokes=FACE, max_points=5), 1)
        proc.send_signal(sig)
        with pytest.raises(ConnectionClosed) as closed:
            await c.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001  # going away
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert proc.returncode == 0, err.decode()
        assert out == b"", "stdout must hold exactly one line"
        page = line.split()[1].replace("ws://", "http://") + "/"
        assert f"open {page} in a browser\n" in err.decode(), err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_command_line_serves_the_shipped_objects_and_faces_models() -> None:
    """With no --model the server loads the shipped models by name, lists their conditions in
    the welcome and draws with each; a value the faces model does not know is refused."""
    proc = await _start()
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()  # type: ignore[union-attr]
        assert line.startswith("ready ws://"), line
        c = await Client.open(line.split()[1], hello=False)
        welcome = await c.hello()
        objects, faces, quickdraw = welcome["models"]
        assert (objects["name"], faces["name"]) == ("objects", "faces")  # objects is the default
        assert quickdraw["name"] == "quickdraw" and "library" not in quickdraw
        assert objects["library"]["size"] > 8000 and faces["library"]["size"] > 1000
        assert all("CC BY 4.0" in m["library"]["licence"] for m in (objects, faces))
        assert {"cat", "face", "rabbit", "pig"} <= set(objects["conditions"]["category"])
        assert set(faces["conditions"]["gender"]) == {"female", "male"}
        assert set(faces["conditions"]["emotion"]) == {
            "neutral",
            "happy",
            "sad",
            "angry",
            "fearful",
            "surprised",
            "disgusted",
        }
        assert set(faces["conditions"]["style"]) == {"realistic", "cartoon", "abstract"}
        assert set(faces["conditions"]["view"]) == {
            "frontal",
            "mid-profile left",
            "mid-profile right",
        }
        face = {
            "category": "face",
            "gender": "female",
            "emotion": "happy",
            "style": "cartoon",
            "view": "frontal",
        }
        drawn = await c.suggest(
            model="faces", mode="generate", conditions=face, seed=1, max_points=250
        )
        check_result(drawn, 1)
        assert sum(len(s) for s in drawn.samples[0]) >= 30, "a face has more than a few points"
        for mode in ("complete", "refine"):
            check_result(
                await c.suggest(
                    rid=mode, model="faces", mode=mode, strokes=FACE, conditions=face, seed=2
                ),
                1,
            )
        check_result(
            await c.suggest(
                model="objects",
                mode="generate",
                conditions={"category": "cat"},
                seed=1,
                max_points=40,
            ),
            1,
        )
        await c.send(
            {
                "type": "suggest",
                "id": 9,
                "model": "faces",
                "mode": "generate",
                "conditions": {**face, "emotion": "bored"},
            }
        )
        error = (await c.result(9)).end
        assert error["type"] == "error" and "bored" in error["message"], error
        await c.close()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), TIMEOUT)


async def test_command_line_bad_model_dir(tmp_path: Path) -> None:
    """A --model folder that is not a checkpoint gives one error line and exit code 2."""
    proc = await _start("--model", str(tmp_path / "nope"))
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert out == b""
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "nope does not exist" in lines[0], err.decode()


@pytest.mark.parametrize("source", ["environment", "file"])
async def test_token_from_the_environment_or_a_private_file(
    model_dir: Path, tmp_path: Path, source: str
) -> None:
    """AI_SKETCHER_TOKEN or --token-file (mode 600) set the token, kept out of `ps`."""
    env, args = _env(), ["--model", str(model_dir)]
    if source == "environment":
        env["AI_SKETCHER_TOKEN"] = "from-env"
    else:
        env.pop("AI_SKETCHER_TOKEN", None)
        secret = tmp_path / "token"
        secret.write_text("from-env\n")
        secret.chmod(0o600)
        args += ["--token-file", str(secret)]
    proc = await _start(*args, env=env)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()  # type: ignore[union-attr]
        assert line.startswith("ready ws://"), line
        refused = await Client.open(line.split()[1], hello=False)
        await refused.send({"type": "hello", "protocol": 1, "client": "pytest/1"})
        await refused.expect_error("unauthorized", "needs a token")
        welcomed = await Client.open(line.split()[1], hello=False)
        assert (await welcomed.hello(token="from-env"))["type"] == "welcome"
        await welcomed.close()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), TIMEOUT)


async def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """A --token-file readable by other users stops the server with one line saying chmod 600."""
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    proc = await _start("--token-file", str(secret))
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2 and out == b""
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "chmod 600" in lines[0], err.decode()


async def _refused(*args: str, env: dict[str, str] | None = None) -> str:
    """The one error line of a server that must not start, within 60 s."""
    proc = await _start(*args, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2 and out == b"", err.decode()
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, err.decode()
    return lines[0]


async def test_a_token_file_is_read_safely_and_an_empty_token_is_refused(tmp_path: Path) -> None:
    """--token-file /dev/zero (not a regular file), a private file of endless zeros and an empty
    AI_SKETCHER_TOKEN each stop the server at once with one line; none is read past 4 KiB."""
    assert "is not a regular file" in await _refused("--token-file", "/dev/zero")
    huge = tmp_path / "huge"
    with huge.open("wb") as f:
        f.truncate(1 << 30)  # 1 GiB of zeros, sparse: no line end in the first 4 KiB
    huge.chmod(0o600)
    assert "longer than 4096 bytes" in await _refused("--token-file", str(huge))
    env = {**_env(), "AI_SKETCHER_TOKEN": "  "}
    assert "AI_SKETCHER_TOKEN is set but empty" in await _refused(env=env)


@pytest.mark.parametrize("token", [None, "s3cret"])
async def test_the_log_says_whether_a_token_is_required(model_dir: Path, token) -> None:
    env = {k: v for k, v in _env().items() if k != "AI_SKETCHER_TOKEN"}
    if token:
        env["AI_SKETCHER_TOKEN"] = token
    proc = await _start("--model", str(model_dir), env=env)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()  # type: ignore[union-attr]
        assert line.startswith("ready ws://"), line
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    said = err.decode()
    if token:
        assert "clients must send the token in their hello" in said and token not in said
    else:
        assert "no token: any client that can reach ws://127.0.0.1:" in said


async def test_the_shipped_quickdraw_model_completes_and_generates_and_refuses_refine() -> None:
    """Magenta's decoders, served: one a category; complete continues the artist's strokes near
    them, generate draws from scratch, refine is not offered and the guide has no drawings."""
    proc = await _start()
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()  # type: ignore[union-attr]
        c = await Client.open(line.split()[1], hello=False)
        info = {m["name"]: m for m in (await c.hello())["models"]}["quickdraw"]
        assert info["modes"] == ["complete", "generate"]
        assert info["provenance"].startswith("decoder weights published by Google Magenta")
        assert {"bird", "palm tree", "rabbit"} <= set(info["conditions"]["category"])
        assert info["temperature"] == 0.4
        bird = {"category": "bird"}
        drawn = await c.suggest(model="quickdraw", mode="generate", conditions=bird, n=2, seed=1)
        check_result(drawn, 2)
        assert all(sum(len(s) for s in sample) >= 10 for sample in drawn.samples)
        head = [[[100, 100], [140, 90], [170, 110], [160, 150], [120, 150], [100, 100]]]
        done = await c.suggest(
            model="quickdraw", mode="complete", strokes=head, conditions=bird, n=2, seed=2
        )
        check_result(done, 2)
        for sample in done.samples:
            assert sample, "a completion draws something"
            points = [p for stroke in sample for p in stroke]
            assert all(
                100 - 105 <= x <= 170 + 105 and 90 - 105 <= y <= 150 + 105 for x, y in points
            )
        refused = await c.suggest(model="quickdraw", mode="refine", strokes=head, conditions=bird)
        assert refused.end["type"] == "error" and "cannot refine" in refused.end["message"]
        await c.send({"type": "guide", "id": "g", "model": "quickdraw", "strokes": head})
        guide = await c.recv()
        assert (guide["type"], guide["drawings"]) == ("guide", [])
        await c.close()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), TIMEOUT)


def _dots_png(share: float = 0.3, side: int = 1024) -> bytes:
    """Random dots: the raster that costs the most to trace within the limits (about 1 s)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(np.where(rng.random((side, side)) < share, 0, 255).astype(np.uint8)).save(
        buf, "PNG"
    )
    return buf.getvalue()


async def test_shutdown_answers_every_open_request_and_exits(model_dir: Path) -> None:
    """30 open requests of every kind on five connections (long suggests, a completion, a
    guide, rasters being traced or queued behind one) each get one answer when SIGTERM comes,
    busy unless it had finished, and the server exits at once: within 10 s here, a bound that
    only a wait for the traces or the requests would pass (bench/bench_hostile.py measures it:
    under 2 s)."""
    proc = await _start("--model", str(model_dir))
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()  # type: ignore[union-attr]
        clients = [await Client.open(line.split()[1]) for _ in range(5)]
        raster = {"png": _dots_png(), "box": [0, 0, 100, 100]}
        kinds = [
            {"type": "suggest", "mode": "generate", "max_points": 1000, "n": 4,
             "use_library": False},
            {"type": "suggest", "mode": "generate", "max_points": 1000, "use_library": False},
            {"type": "suggest", "mode": "complete", "strokes": FACE, "max_points": 1000},
            {"type": "guide", "strokes": FACE},
            {"type": "suggest", "mode": "complete", "raster": raster},
            {"type": "guide", "raster": raster},
        ]  # fmt: skip
        ids: dict[int, list[str]] = {i: [] for i in range(5)}
        for i, c in enumerate(clients):
            for k, msg in enumerate(kinds):
                rid = f"{i}-{k}"
                await c.send({**msg, "id": rid})
                ids[i].append(rid)
        await asyncio.sleep(0.3)  # every frame read; traces and suggests under way
        signalled = asyncio.get_running_loop().time()
        proc.send_signal(signal.SIGTERM)
        ends = {}
        for c in clients:
            while True:
                try:
                    m = await c.recv()
                except ConnectionClosed:
                    break
                if m["type"] in ("done", "guide", "error"):
                    assert m["id"] not in ends, f"{m['id']} was answered twice"
                    ends[m["id"]] = m
        await asyncio.wait_for(proc.wait(), 10)
        took = asyncio.get_running_loop().time() - signalled
        assert sorted(ends) == sorted(sum(ids.values(), [])), "every request gets an answer"
        busy = [m for m in ends.values() if m["type"] == "error"]
        assert all(m["code"] == "busy" and "shutting down" in m["message"] for m in busy), busy
        assert len(busy) >= 15, [m["type"] for m in ends.values()]
        assert took < 10.0, f"the server took {took:.1f} s to exit"
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_a_thread_that_never_joins_cannot_keep_a_stopped_server_alive() -> None:
    """Once serve() has closed everything, the process ends within the grace period even if a
    library thread (say, a worker pool's manager) never finishes."""
    code = (
        "import threading, time; from sketch_server import __main__ as m;"
        "threading.Thread(target=time.sleep, args=(600,)).start();"
        "m._exit_within(0.5, 0)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0
    assert "still winding down after 0.5 s; exiting now" in run.stderr
