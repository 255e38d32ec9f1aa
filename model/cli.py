"""How every command of the project reads its options and reports a mistake.

`run(main, prog)` calls a command's `main(argv)` and turns the project's own errors, and missing
or unreadable files, into one line on stderr, `PROG: error: what, which file, what to do`, and
exit status 2. A bug keeps its traceback; `--debug` or AI_SKETCHER_DEBUG=1 shows it for every
error. `parser()` makes argument parsers whose help states each option's default and whose
usage errors are the same one line. `output_file()` and `output_dir()` check where a command
will write before it starts long work. Standard library only, so any entry point can use it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

DEBUG_ENV = "AI_SKETCHER_DEBUG"
# Set by tests/test_docs.py, which runs every documented command: long runs shrink to a few
# steps and counts (see quick()), so the docs are checked in minutes, not hours.
QUICK_ENV = "AI_SKETCHER_DOCS_QUICK"

# The project's errors that describe a mistake a person can fix, by module and class. They are
# matched by name, so catching them imports nothing (torch included), and an error class of the
# module run with `python -m` (whose module is then "__main__") is still recognised.
USER_ERRORS = frozenset(
    {
        ("model.checkpoint", "CheckpointError"),
        ("lab.data", "PreparedDataError"),
        ("lab.distributed", "DistributedError"),
        ("lab.download", "DownloadError"),
        ("model.library.store", "LibraryError"),
        ("model.sample", "ConditionError"),
        ("lab.shards", "ShardError"),
        ("lab.sources", "SourceError"),
        ("model.strokes", "StrokeError"),
        ("model.cli", "CommandError"),
        ("sketch_server.config", "ConfigError"),
    }
)


class CommandError(Exception):
    """A mistake in a command's input that the user can fix; the message says what and how."""


def is_user_error(exc: BaseException) -> bool:
    """True for the project's errors that a person can fix (see USER_ERRORS)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    main_name = spec.name if spec is not None else "__main__"
    return any(
        (main_name if c.__module__ == "__main__" else c.__module__, c.__name__) in USER_ERRORS
        for c in type(exc).__mro__
    )


def describe(exc: BaseException) -> str | None:
    """The one-line message for an error a person can act on; None for a bug."""
    if is_user_error(exc) or (
        isinstance(exc, OSError)
        and exc.filename is None
        and exc.args
        and isinstance(exc.args[0], str)
    ):
        text = str(exc)  # the project's message, or an OSError raised with a sentence
    elif isinstance(exc, FileNotFoundError):
        text = f"{exc.filename}: no such file or folder; check the path"
    elif isinstance(exc, IsADirectoryError):
        text = f"{exc.filename}: is a folder; name a file"
    elif isinstance(exc, NotADirectoryError):
        text = f"{exc.filename}: part of this path is a file, not a folder"
    elif isinstance(exc, PermissionError):
        text = f"{exc.filename}: permission denied; choose a path you may read or write"
    elif isinstance(exc, OSError):
        text = f"{exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc)
    elif isinstance(exc, UnicodeDecodeError):
        text = f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start})"
    elif isinstance(exc, json.JSONDecodeError):
        text = f"an input file is not valid JSON ({exc.msg} at line {exc.lineno})"
    else:
        return None
    return " ".join(text.split()) or type(exc).__name__


def debugging(argv: Sequence[str] | None = None) -> bool:
    """True when the user asked for tracebacks: --debug among the arguments or AI_SKETCHER_DEBUG."""
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in args or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def run(main: Callable[[Any], int | None], prog: str, argv: Sequence[str] | None = None) -> int:
    """Run `main(argv)` as a command: its status, or 2 and one line for a user's mistake."""
    try:
        return int(main(None if argv is None else list(argv)) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as exc:
        message = describe(exc)
        if message is None:
            raise  # a bug: its traceback is what a report needs
        if debugging(argv):
            traceback.print_exc()
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2


def exit_with(main: Callable[[Any], int | None], prog: str) -> NoReturn:
    """`run` for `if __name__ == "__main__":` blocks and console scripts."""
    sys.exit(run(main, prog))


def quick(value: int, small: int, what: str = "") -> int:
    """`value`, or at most `small` when AI_SKETCHER_DOCS_QUICK is set (said once on stderr)."""
    if os.environ.get(QUICK_ENV, "") in ("", "0") or value <= small:
        return value
    global _quick_said
    if not _quick_said:
        print(
            f"note: {QUICK_ENV} is set, so this run is shrunk ({what or 'counts'} {value} -> "
            f"{small}, ...); unset it for a real run",
            file=sys.stderr,
        )
        _quick_said = True
    return small


_quick_said = False


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's and epilog's line breaks and appends each option's default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        empty = (
            default is None
            or default is False
            or default is argparse.SUPPRESS
            or (isinstance(default, (list, tuple, str)) and not default)
        )
        if (
            not text
            or "default:" in text
            or "%(default)" in text
            or empty
            or (not action.option_strings and action.nargs not in ("?", "*"))
        ):
            return text
        return f"{text} (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line usage errors, in the same form as every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser(prog: str, description: str, epilog: str | None = None) -> ArgumentParser:
    """An argument parser with --debug, whose help shows every default."""
    ap = ArgumentParser(
        prog=prog, description=description, epilog=epilog, formatter_class=HelpFormatter
    )
    ap.add_argument(
        "--debug",
        action="store_true",
        help=f"show the full traceback of an error (or set {DEBUG_ENV}=1)",
    )
    return ap


def _nearest_existing(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _check_parent(path: Path, target: Path, option: str) -> None:
    probe = _nearest_existing(target)
    if not probe.is_dir():
        raise CommandError(
            f"cannot write {path}: {probe} is a file, not a folder; choose another {option}"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CommandError(f"cannot write {path}: {probe} is not writable; choose another {option}")


def output_file(
    path: str | os.PathLike[str], suffixes: Sequence[str] = (), option: str = "--out"
) -> Path:
    """Check before any work that a file can be written there (and has a wanted suffix)."""
    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise CommandError(f"{option} {out}: name a {' or '.join(suffixes)} file")
    if out.is_dir():
        raise CommandError(f"{option} {out} is a folder; name a file")
    if out.exists():
        if not os.access(out, os.W_OK):
            raise CommandError(f"cannot write {out}: it is read-only; choose another {option}")
        return out
    _check_parent(out, out.parent, option)
    return out


def output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check before any work that a folder can be created or written there."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{option} {out} is a file; name a folder")
    _check_parent(out, out, option)
    return out


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """A JSON file's content; a file that is not UTF-8 JSON is named in the error."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not {what}: it is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise CommandError(
            f"{path} is not {what}: not valid JSON ({e.msg} at line {e.lineno})"
        ) from None
