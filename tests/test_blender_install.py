"""install.py's Blender part, into a temporary HOME: where the extension goes, what it holds,
enabling it with a (stand-in) Blender, running twice, and uninstalling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import install
from installer import cli, paths
from wire.protocol import VERSION

EXTENSION = Path("extensions") / "user_default" / "ai_sketcher"
FAKE_BLENDER = """#!{python}
# Stands in for Blender: logs how install.py called it and answers as its script would.
import json, os, sys
with open(os.environ["FAKE_BLENDER_LOG"], "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:],
                        "user": os.environ.get("BLENDER_USER_RESOURCES")}}) + "\\n")
print("AI-SKETCHER-RESULT " + os.environ.get("FAKE_BLENDER_ANSWER", "ok"))
sys.exit(int(os.environ.get("FAKE_BLENDER_CODE", "0")))
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh HOME on Linux, with no Blender on PATH and no XDG or Blender overrides."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    for var in (
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "APPDATA",
        "LOCALAPPDATA",
        "BLENDER_USER_RESOURCES",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(paths, "_system", lambda: "Linux")
    return home


@pytest.fixture
def blender(tmp_path, monkeypatch) -> Path:
    """A stand-in `blender` on PATH; returns the log of its calls (one JSON line each)."""
    exe = tmp_path / "bin" / "blender"
    exe.parent.mkdir(exist_ok=True)
    exe.write_text(FAKE_BLENDER.format(python=sys.executable))
    exe.chmod(0o755)
    log = tmp_path / "blender.log"
    monkeypatch.setenv("FAKE_BLENDER_LOG", str(log))
    return log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run(capsys, *args: str) -> tuple[int, str]:
    code = install.main(["--only", "blender", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def versions(home: Path, *names: str) -> dict[str, Path]:
    """Make Blender user folders as if those versions had run once."""
    out = {}
    for name in names:
        out[name] = home / ".config" / "blender" / name
        (out[name] / "config").mkdir(parents=True)
    return out


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_installs_into_every_blender_43_or_newer(home, capsys):
    """The extension, the shared files and pure-Python copies go to each 4.3+ user folder; an
    older Blender is skipped with the reason; without Blender, the one click is explained."""
    dirs = versions(home, "4.2", "4.5", "5.0")
    code, out = run(capsys)
    assert code == 0, out
    for name in ("4.5", "5.0"):
        package = dirs[name] / EXTENSION
        for f in (
            "__init__.py",
            "blender_manifest.toml",
            "geometry.py",
            "gpencil.py",
            "operators.py",
            "panels.py",
            "preferences.py",
            "properties.py",
            "session.py",
            "controller.py",
            "wire/client.py",
            "wire/suggestion.py",
            "wire/guide.py",
            "wire/protocol.py",
            "install.json",
        ):
            assert (package / f).is_file(), f
        assert (package / "wire" / "protocol.py").read_bytes() == (
            paths.REPO / "wire" / "protocol.py"
        ).read_bytes()
        assert not (package / "wire" / "vendor.py").exists()  # the checkout's stand-in
        manifest = tomllib.loads((package / "blender_manifest.toml").read_text())
        assert manifest["version"] == VERSION  # the wire's one version, written by install.py
        assert (package / "wire" / "vendor" / "websockets" / "sync" / "client.py").is_file()
        assert (package / "wire" / "vendor" / "msgpack" / "fallback.py").is_file()
        assert not [p for p in package.rglob("*") if p.suffix in (".so", ".pyd", ".dylib")]
    assert not (dirs["4.2"] / "extensions").exists()
    assert "needs Blender 4.3 or newer" in out
    assert "no Blender executable was found" in out
    assert "Edit > Preferences > Add-ons, search 'AI Sketcher' and tick it" in out
    assert "press N and open the AI Sketcher tab" in out


def test_installed_extension_imports_without_blender(home, capsys, tmp_path):
    """In an isolated Python, the package's vendored websockets/msgpack and client import, under
    the extension's own package: sys.path is not touched and no top-level copy appears."""
    versions(home, "4.5")
    assert run(capsys)[0] == 0
    root = home / ".config" / "blender" / "4.5" / EXTENSION.parent
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); path = list(sys.path);"
        "import ai_sketcher.wire.vendor;"
        "from ai_sketcher import geometry, session; from ai_sketcher.wire import client;"
        "assert sys.path == path, sys.path;"
        "top = {'websockets', 'msgpack'} & set(sys.modules); assert not top, top;"
        "assert 'ai_sketcher.wire.vendor.websockets.sync.client' in sys.modules;"
        "wire = sys.modules['ai_sketcher.wire.protocol'];"
        "assert wire.msgpack.__name__ == 'ai_sketcher.wire.vendor.msgpack';"
        "print(client.protocol.PROTOCOL_VERSION, client.DEFAULT_URL)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "ws://127.0.0.1:8737"]


def test_version_and_folder_options(home, capsys, tmp_path):
    """--blender-version installs for a Blender that has not run yet; --blender-dir anywhere."""
    assert run(capsys, "--blender-version", "4.4")[0] == 0
    assert (home / ".config" / "blender" / "4.4" / EXTENSION / "__init__.py").is_file()
    portable = tmp_path / "portable"
    assert run(capsys, "--blender-dir", str(portable))[0] == 0
    assert (portable / EXTENSION / "__init__.py").is_file()
    with pytest.raises(SystemExit):
        cli.parse_args(["--blender-version", "latest"])
    assert "is not a Blender version like 4.5" in capsys.readouterr().err


def test_blender_user_resources_is_honoured(home, capsys, tmp_path, monkeypatch):
    """With BLENDER_USER_RESOURCES set (as Blender honours it), that folder is the one used."""
    monkeypatch.setenv("BLENDER_USER_RESOURCES", str(tmp_path / "isolated"))
    assert run(capsys)[0] == 0
    assert (tmp_path / "isolated" / EXTENSION / "__init__.py").is_file()
    assert not (home / ".config").exists()


def test_enables_and_disables_with_blender(home, capsys, blender):
    """Blender itself enables the extension for its own folder, and disables it on uninstall."""
    dirs = versions(home, "4.5")
    code, out = run(capsys)
    assert code == 0, out
    assert f"Enabled the extension in {dirs['4.5'] / 'config' / 'userpref.blend'}" in out
    assert "tick it" not in out
    (call,) = calls(blender)
    assert call["user"] == str(dirs["4.5"])
    assert call["argv"][:4] == ["--background", "--python-exit-code", "1", "--python-expr"]
    assert call["argv"][-4:] == ["--", "enable", "bl_ext.user_default.ai_sketcher", "4.5"]
    code, out = run(capsys, "--uninstall")
    assert code == 0 and "Removed the extension from" in out
    assert calls(blender)[-1]["argv"][-3:-1] == ["disable", "bl_ext.user_default.ai_sketcher"]
    assert not (dirs["4.5"] / EXTENSION).exists()


def test_a_blender_of_another_version_is_not_used(home, capsys, blender, monkeypatch):
    """A `blender` of another version would write its settings into the wrong folder: the
    extension is installed but left for the one click, with the reason."""
    versions(home, "4.5")
    monkeypatch.setenv("FAKE_BLENDER_ANSWER", "version 4.4")
    monkeypatch.setenv("FAKE_BLENDER_CODE", "3")
    code, out = run(capsys)
    assert code == 0
    assert "is Blender 4.4, not 4.5" in out and "tick it" in out


def test_python_with_bpy_is_called_as_python(home, capsys, tmp_path, blender):
    """--blender-exe may name a Python with the bpy module: it gets `-c SCRIPT` instead."""
    python = tmp_path / "bin" / "python3.11"
    python.write_text((tmp_path / "bin" / "blender").read_text())
    python.chmod(0o755)
    assert (
        run(capsys, "--blender-dir", str(tmp_path / "user"), "--blender-exe", str(python))[0] == 0
    )
    (call,) = calls(blender)
    assert call["argv"][0] == "-c" and call["argv"][-3:] == [
        "enable",
        "bl_ext.user_default.ai_sketcher",
        "",
    ]  # any folder name: no version check


def test_running_twice_changes_nothing_and_uninstall_leaves_only_the_users_files(home, capsys):
    """A second run changes no byte; uninstall removes everything it added and nothing else."""
    dirs = versions(home, "4.5")
    (dirs["4.5"] / "config" / "userpref.blend").write_bytes(b"BLENDER-v405 prefs")
    other = dirs["4.5"] / "extensions" / "user_default" / "someone_elses"
    other.mkdir(parents=True)
    (other / "blender_manifest.toml").write_text('id = "someone_elses"\n')
    before = snapshot(home)
    assert run(capsys)[0] == 0
    first = snapshot(home)
    code, out = run(capsys)
    assert code == 0 and "as it was (already this version)" in out
    assert snapshot(home) == first
    code, out = run(capsys, "--uninstall")
    assert code == 0 and f"Removed {dirs['4.5'] / EXTENSION}" in out
    assert snapshot(home) == before
    assert "Found no Blender extension of ours" in run(capsys, "--uninstall")[1]


def test_uninstall_removes_the_folders_install_made_for_a_blender_that_never_ran(home, capsys):
    """--blender-version makes ~/.config/blender/4.5; --uninstall leaves no empty folder."""
    assert run(capsys, "--blender-version", "4.5")[0] == 0
    assert (home / ".config" / "blender" / "4.5" / EXTENSION).is_dir()
    assert run(capsys, "--uninstall")[0] == 0
    assert not (home / ".config" / "blender").exists()


def test_refuses_to_replace_a_folder_it_did_not_make(home, capsys):
    foreign = versions(home, "4.5")["4.5"] / EXTENSION
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("# someone else's\n")
    code, out = run(capsys)
    assert code == 1 and "was not put there by install.py" in out
    assert run(capsys, "--uninstall")[0] == 1
    assert (foreign / "__init__.py").read_text() == "# someone else's\n"


def test_no_blender_folder_creates_nothing(home, capsys):
    """Without a Blender user folder nothing is created, and the message says what to do."""
    code, out = run(capsys)
    assert code == 0 and "start Blender once, or pass --blender-version 4.5" in out
    assert snapshot(home) == {}


@pytest.mark.parametrize(
    "system, env, expected",
    [
        ("Linux", {}, "HOME/.config/blender"),
        ("Linux", {"XDG_CONFIG_HOME": "XDG"}, "XDG/blender"),
        ("Darwin", {}, "HOME/Library/Application Support/Blender"),
        ("Windows", {"APPDATA": "APPDATA"}, "APPDATA/Blender Foundation/Blender"),
    ],
)
def test_blender_folder_per_system(home, monkeypatch, system, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, str(home.parent / value))
    root = paths.blender_config_root(system)
    assert root == Path(
        expected.replace("HOME", str(home))
        .replace("XDG", str(home.parent / "XDG"))
        .replace("APPDATA", str(home.parent / "APPDATA"))
    )
    assert os.fspath(root)
