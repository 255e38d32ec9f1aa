"""install.py into a temporary HOME: installs, is idempotent, uninstalls, keeps kritarc intact."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import install
from installer import kritarc, paths

KRITARC = """[General]
LastPreset=b) Basic-5 Size
windowState=@ByteArray(AAAA/wAAAAD9)

[python]
enable_scripter=true
enable_lastdocumentsdocker=false

[theme]
Theme=Krita dark
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh HOME with the XDG overrides a CI box may have cleared."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
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


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), bytecode left out."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def run(capsys, *args: str) -> tuple[int, str]:
    code = install.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def plugin_dir(home: Path) -> Path:
    return home / ".local" / "share" / "krita" / "pykrita"


def test_installs_the_krita_plugin(home, capsys):
    """The plugin, its shortcuts, the shared files and pure-Python copies go to Krita's folders."""
    code, out = run(capsys, "--only", "krita")
    assert code == 0, out
    pykrita = plugin_dir(home)
    package = pykrita / "ai_sketcher"
    assert "X-KDE-Library=ai_sketcher" in (pykrita / "ai_sketcher.desktop").read_text()
    assert (
        'name="ai_sketcher_suggest"'
        in (home / ".local/share/krita/actions/ai_sketcher.action").read_text()
    )
    for name in (
        "__init__.py",
        "canvas.py",
        "controller.py",
        "docker.py",
        "extension.py",
        "svg.py",
        "wire/__init__.py",
        "wire/client.py",
        "wire/suggestion.py",
        "wire/guide.py",
        "wire/protocol.py",
        "install.json",
    ):
        assert (package / name).is_file(), name
    assert not (package / "selftest.py").exists()  # the test driver stays in tests/krita
    assert (package / "wire" / "protocol.py").read_bytes() == (
        paths.REPO / "wire" / "protocol.py"
    ).read_bytes()
    assert not (package / "wire" / "vendor.py").exists()  # the checkout's stand-in
    vendor = package / "wire" / "vendor"
    assert (vendor / "websockets" / "sync" / "client.py").is_file()
    assert (vendor / "msgpack" / "fallback.py").is_file()
    assert not [p for p in vendor.rglob("*") if p.suffix in (".so", ".pyd", ".dylib")]
    assert list((vendor / "LICENSES").iterdir())
    kritarc = (home / ".config" / "kritarc").read_text()
    assert kritarc == "[python]\nenable_ai_sketcher=true\n"
    assert "Restart Krita" in out and "Settings > Dockers > AI Sketcher" in out
    assert "python -m sketch_server" in out


def test_installed_plugin_imports_on_its_own(home, capsys, tmp_path):
    """Outside the repository and site-packages, the installed package imports its own copies,
    relatively: sys.path is not touched and no top-level websockets or msgpack appears."""
    assert run(capsys, "--only", "krita")[0] == 0
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); path = list(sys.path); import ai_sketcher;"
        "from ai_sketcher import svg; from ai_sketcher.wire import client, protocol;"
        "assert sys.path == path, sys.path;"
        "top = {'websockets', 'msgpack'} & set(sys.modules); assert not top, top;"
        "assert client.protocol is protocol, client.protocol;"
        "assert protocol.msgpack.__name__ == 'ai_sketcher.wire.vendor.msgpack';"
        "assert protocol.msgpack.Packer.__module__ == 'ai_sketcher.wire.vendor.msgpack.fallback';"
        "assert client.connect.__module__ == 'ai_sketcher.wire.vendor.websockets.sync.client';"
        "assert protocol.decode(protocol.encode(protocol.Cancel(id=1))) == {'type': 'cancel', "
        "'id': 1};"
        "print(client.SuggestClient.__name__, svg.path_data([(0, 0), (1, 2)]))"
    )
    done = isolated(code, plugin_dir(home), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "SuggestClient M0 0L1 2"


IMPORT = "import sys; sys.path.insert(0, sys.argv[1]); import ai_sketcher"


def isolated(code: str, folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a Python without site-packages or the repository, `folder` as its argv[1]."""
    return subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(folder)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_a_broken_copy_says_to_run_install_again(home, capsys, tmp_path):
    """A vendored package that does not import stops the plugin with what to do about it."""
    assert run(capsys, "--only", "krita")[0] == 0
    (plugin_dir(home) / "ai_sketcher" / "wire" / "vendor" / "msgpack" / "fallback.py").unlink()
    done = isolated(IMPORT + ".wire.client", plugin_dir(home), tmp_path)
    assert done.returncode == 1
    assert "cannot load its copy of websockets or msgpack" in done.stderr
    assert "Run `python install.py` again" in done.stderr


def test_running_twice_changes_nothing(home, capsys):
    """A second run leaves every file byte for byte as it was, and says so."""
    assert run(capsys, "--only", "krita")[0] == 0
    first = snapshot(home)
    code, out = run(capsys, "--only", "krita")
    assert code == 0
    assert snapshot(home) == first
    assert "as it was (already this version)" in out and "is already true" in out
    assert "Backed up" not in out


def test_kritarc_is_backed_up_and_other_keys_kept(home, capsys):
    """kritarc is backed up first and keeps every other group and key; uninstall restores it."""
    rc = home / ".config" / "kritarc"
    rc.parent.mkdir()
    rc.write_text(KRITARC)
    assert run(capsys, "--only", "krita")[0] == 0
    assert (home / ".config" / "kritarc.ai-sketcher-backup").read_text() == KRITARC
    new = rc.read_text()
    assert new == KRITARC.replace(
        "enable_lastdocumentsdocker=false\n",
        "enable_lastdocumentsdocker=false\nenable_ai_sketcher=true\n",
    )
    assert run(capsys, "--only", "krita", "--uninstall")[0] == 0
    assert rc.read_text() == KRITARC
    assert not (home / ".config" / "kritarc.ai-sketcher-backup").exists()  # nothing to keep


def test_uninstall_leaves_nothing_of_ours(home, capsys):
    """After install and uninstall only the user's own files remain, unchanged."""
    krita = home / ".local" / "share" / "krita"
    (krita / "pykrita").mkdir(parents=True)
    (krita / "pykrita" / "other.desktop").write_text("[Desktop Entry]\n")
    (krita / "actions").mkdir()
    (krita / "actions" / "other.action").write_text("<ActionCollection/>\n")
    (home / ".config").mkdir()
    (home / ".config" / "kritarc").write_text(KRITARC)
    before = snapshot(home)
    assert run(capsys, "--only", "krita")[0] == 0
    code, out = run(capsys, "--only", "krita", "--uninstall")
    assert code == 0 and "Removed" in out
    assert snapshot(home) == before


def test_uninstall_on_a_fresh_home_removes_every_file(home, capsys):
    """When install.py created kritarc, uninstall removes it with the rest: no file is left."""
    assert run(capsys)[0] == 0
    assert run(capsys, "--uninstall")[0] == 0
    assert snapshot(home) == {}


def test_dry_run_touches_nothing(home, capsys):
    """--dry-run says what it would do and changes no file."""
    (home / ".config").mkdir()
    (home / ".config" / "kritarc").write_text(KRITARC)
    before = snapshot(home)
    code, out = run(capsys, "--dry-run")
    assert code == 0 and snapshot(home) == before
    assert "would install the Krita plugin" in out and "would enable the plugin" in out


def test_custom_folders(home, capsys, tmp_path):
    """--krita-dir and --kritarc put the plugin and the setting where they are told."""
    krita, rc = tmp_path / "portable" / "krita", tmp_path / "portable" / "kritarc"
    assert run(capsys, "--only", "krita", "--krita-dir", str(krita), "--kritarc", str(rc))[0] == 0
    assert (krita / "pykrita" / "ai_sketcher" / "__init__.py").is_file()
    assert "enable_ai_sketcher=true" in rc.read_text()
    assert not (home / ".local").exists() and not (home / ".config").exists()


def test_refuses_to_replace_a_folder_it_did_not_make(home, capsys):
    """A pykrita/ai_sketcher without install.py's marker is left alone, with a reason."""
    foreign = plugin_dir(home) / "ai_sketcher"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("# someone else's plugin\n")
    code, out = run(capsys, "--only", "krita")
    assert code == 1 and "was not put there by install.py" in out
    assert (foreign / "__init__.py").read_text() == "# someone else's plugin\n"
    assert run(capsys, "--only", "krita", "--uninstall")[0] == 1


def test_missing_dependency_is_explained(home, capsys, monkeypatch):
    """Without websockets in this Python, install.py says how to get it and installs nothing."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: None if name == "websockets" else real(name),
    )
    code, out = run(capsys, "--only", "krita")
    assert code == 1 and "pip install -e ." in out
    assert not plugin_dir(home).exists()


@pytest.mark.parametrize(
    "system, env, expected",
    [
        ("Linux", {}, "HOME/.local/share/krita"),
        ("Linux", {"XDG_DATA_HOME": "XDG"}, "XDG/krita"),
        ("Darwin", {}, "HOME/Library/Application Support/krita"),
        ("Windows", {"APPDATA": "APPDATA"}, "APPDATA/krita"),
    ],
)
def test_krita_folder_per_system(home, monkeypatch, system, env, expected):
    """The resource folder is where Krita looks on each system."""
    for key, value in env.items():
        monkeypatch.setenv(key, str(home.parent / value))
    expected = expected.replace("HOME", str(home)).replace("XDG", str(home.parent / "XDG"))
    expected = expected.replace("APPDATA", str(home.parent / "APPDATA"))
    assert paths.krita_resource_dir(system) == Path(expected)


def test_kritarc_per_system(home, monkeypatch):
    """kritarc is in ~/.config on Linux, Preferences on macOS, LOCALAPPDATA on Windows."""
    monkeypatch.setenv("LOCALAPPDATA", str(home / "Local"))
    assert paths.kritarc_path("Linux") == home / ".config" / "kritarc"
    assert paths.kritarc_path("Darwin") == home / "Library" / "Preferences" / "kritarc"
    assert paths.kritarc_path("Windows") == home / "Local" / "kritarc"


@pytest.mark.parametrize(
    "before, after",
    [
        ("", "[python]\nk=true\n"),
        ("[a]\nx=1", "[a]\nx=1\n\n[python]\nk=true\n"),
        ("[python]\nk=false\nother=1\n[b]\n", "[python]\nk=true\nother=1\n[b]\n"),
        ("[python]\nk=1\nk=2\n", "[python]\nk=true\n"),
        (
            "[python]\r\n# note\r\nother=1\r\n\r\n[b]\r\n",
            ("[python]\r\n# note\r\nother=1\r\nk=true\r\n\r\n[b]\r\n"),
        ),
    ],
)
def test_edit_ini_sets_one_key(before, after):
    """Setting the key touches only its own line, in the file's own line endings."""
    assert kritarc.edit_ini(before, "python", "k", "true") == after


@pytest.mark.parametrize(
    "before, after",
    [
        ("[a]\nx=1\n\n[python]\nk=true\n", "[a]\nx=1\n"),
        ("[python]\nk=true\nother=1\n", "[python]\nother=1\n"),
        ("[python]\n# mine\nk=true\n", "[python]\n# mine\n"),
        ("[a]\nk=true\n", "[a]\nk=true\n"),
    ],
)
def test_edit_ini_removes_one_key(before, after):
    """Removing the key drops its group only if nothing else was in it."""
    assert kritarc.edit_ini(before, "python", "k", None) == after
