"""Krita's side of the plugin shell: the extension with its actions and the docker factory.

Shortcuts come from ai_sketcher.action, which install.py puts into Krita's actions folder, so
the artist can change them in Settings > Configure Krita > Keyboard Shortcuts.
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType
from typing import Any

from PyQt5.QtCore import QTimer
from PyQt5.QtGui import QKeySequence

from . import canvas
from .controller import Controller
from .docker import SketcherDocker

DOCKER_ID = "ai_sketcher_docker"
MENU = "tools/scripts"
SELFTEST_ENV = "AI_SKETCHER_SELFTEST"  # path of a JSON report; see tests/krita/selftest.py
SELFTEST_SCRIPT_ENV = "AI_SKETCHER_SELFTEST_SCRIPT"  # the test driver file, which is not shipped
# id, menu text, what it does
ACTIONS: tuple[tuple[str, str, Any], ...] = (
    ("ai_sketcher_suggest", "AI Sketcher: Suggest Strokes", Controller.suggest_or_stop),
    ("ai_sketcher_next", "AI Sketcher: Next Suggestion", lambda c: c.flip(1)),
    ("ai_sketcher_previous", "AI Sketcher: Previous Suggestion", lambda c: c.flip(-1)),
    ("ai_sketcher_accept", "AI Sketcher: Accept Suggestion", Controller.accept),
    ("ai_sketcher_reject", "AI Sketcher: Reject Suggestion", lambda c: c.reject()),
    ("ai_sketcher_refine", "AI Sketcher: Optimize My Drawing", Controller.refine_or_stop),
    (
        "ai_sketcher_guide",
        "AI Sketcher: Shadow Guide On/Off",
        lambda c: c.set_guide(not c.guide.enabled),
    ),
    ("ai_sketcher_trace", "AI Sketcher: Trace Layer", Controller.trace_layer),
    ("ai_sketcher_keep_character", "AI Sketcher: Keep Character", Controller.keep_character),
    ("ai_sketcher_forget_character", "AI Sketcher: Forget Character", Controller.forget_character),
    (
        "ai_sketcher_same_character",
        "AI Sketcher: Same Character On/Off",
        lambda c: c.set_same_character(not c.same_character),
    ),
    (
        "ai_sketcher_character_sheet",
        "AI Sketcher: Character Sheet",
        Controller.character_sheet_or_stop,
    ),
)

_kept: list[Any] = []  # Python owns these; Krita only borrows them


class SketcherExtension(canvas.Extension):
    """Creates the actions in every window and runs the self-test when asked to."""

    def __init__(self, parent: Any, controller: Controller) -> None:
        super().__init__(parent)
        self.controller = controller

    def setup(self) -> None:
        canvas.app().notifier().applicationClosing.connect(self.controller.shutdown)
        report, script = os.environ.get(SELFTEST_ENV), os.environ.get(SELFTEST_SCRIPT_ENV)
        if report and script:
            selftest = _load_selftest(script)
            canvas.on_window_created(
                lambda: QTimer.singleShot(1500, lambda: selftest.run(self.controller, report))
            )

    def createActions(self, window: Any) -> None:  # Krita's name
        for action_id, text, handler in ACTIONS:
            action = window.createAction(action_id, text, MENU)
            action.triggered.connect(lambda _=False, h=handler: h(self.controller))
            self.controller.shortcuts[action_id] = action.shortcut().toString(
                QKeySequence.NativeText
            )
        self.controller.changed.emit()


def _load_selftest(path: str) -> ModuleType:
    """The test driver file that $AI_SKETCHER_SELFTEST_SCRIPT names, loaded as a module."""
    spec = importlib.util.spec_from_file_location("ai_sketcher_selftest", path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        raise ImportError(f"{SELFTEST_SCRIPT_ENV}={path!r} is not a Python file; unset it")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DockerFactory(canvas.DockWidgetFactoryBase):
    """Makes the docker for each window, all sharing one Controller."""

    def __init__(self, controller: Controller) -> None:
        super().__init__(DOCKER_ID, canvas.dock_right())
        self.controller = controller

    def createDockWidget(self) -> SketcherDocker:  # Krita's name
        return SketcherDocker(self.controller)


def register() -> None:
    """Called once when Krita loads the plugin."""
    controller = Controller()
    extension = SketcherExtension(canvas.app(), controller)
    factory = DockerFactory(controller)
    _kept.extend((controller, extension, factory))
    canvas.register(extension, factory)
