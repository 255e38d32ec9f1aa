"""The AI Sketcher docker: connection status, model and conditions, variety and alternatives,
and the Suggest / Previous / Next / Accept / Reject buttons. It only talks to the Controller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .canvas import DockWidget
from .controller import Controller, client_module

TITLE = "AI Sketcher"
ANY = "(any)"  # a condition left to the model
SEARCHABLE = 12  # condition lists longer than this get a type-to-search box
STATE_COLOURS = {
    "connected": "#3a9d4f",
    "connecting": "#c9a227",
    "disconnected": "#c0392b",
    "error": "#c0392b",
}


class SketcherDocker(DockWidget):
    """One per Krita window; every instance shows the same Controller."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.setWindowTitle(TITLE)
        self.controller = controller
        self._built_for: Any = None  # the ModelInfo the condition rows were made for
        self._condition_boxes: dict[str, QComboBox] = {}

        root = QWidget(self)
        layout = QVBoxLayout(root)
        self.connection = QLabel(wordWrap=True)
        layout.addWidget(self.connection)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.model_box = QComboBox(toolTip="The model the server draws with")
        self.model_box.activated.connect(self._model_chosen)
        form.addRow("Model", self.model_box)
        self.conditions_form = QFormLayout()
        self.conditions_form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.conditions_form)
        protocol = client_module.protocol
        self.variety, self.variety_label = _slider_row(
            form,
            "Variety",
            (round(protocol.MIN_TEMPERATURE * 100), round(protocol.MAX_TEMPERATURE * 100)),
            round(controller.temperature * 100),
            "Low keeps close to typical drawings; high is wilder",
            self._variety_changed,
        )
        self.strength, self.strength_label = _slider_row(
            form,
            "Strength",
            (0, 100),
            round(controller.strength * 100),
            "Optimize: 0 keeps the model's own redraw of your strokes, "
            "1 moves it onto the nearest real drawings",
            self._strength_changed,
        )
        self.alternatives = QSpinBox(
            minimum=1,
            maximum=protocol.MAX_N,
            value=controller.alternatives,
            toolTip="How many different suggestions to draw at once",
        )
        self.alternatives.valueChanged.connect(controller.set_alternatives)
        form.addRow("Alternatives", self.alternatives)
        layout.addLayout(form)

        self.suggest = QPushButton("Suggest strokes")
        self.suggest.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.suggest.setMinimumHeight(32)
        self.suggest.clicked.connect(controller.suggest_or_stop)
        layout.addWidget(self.suggest)
        self.refine = QPushButton(
            "Optimize my drawing",
            clicked=controller.refine_or_stop,
            toolTip="Redraw your strokes as a suggestion; Strength sets how "
            "far towards real drawings",
        )
        layout.addWidget(self.refine)
        self.guide = QCheckBox(
            "Shadow guide",
            toggled=controller.set_guide,
            toolTip="After each stroke, show real drawings like yours faintly "
            "on a locked layer under yours",
        )
        layout.addWidget(self.guide)
        self.trace = QPushButton(
            "Trace layer",
            clicked=controller.trace_layer,
            toolTip="Turn the active paint layer (a photo, a painting) into strokes on a new "
            "vector layer above it; the paint layer stays as it is",
        )
        layout.addWidget(self.trace)

        flip = QHBoxLayout()
        self.previous = QPushButton("< Previous", clicked=lambda: controller.flip(-1))
        self.which = QLabel(alignment=Qt.AlignCenter)
        self.next = QPushButton("Next >", clicked=lambda: controller.flip(1))
        for w in (self.previous, self.which, self.next):
            flip.addWidget(w)
        layout.addLayout(flip)
        decide = QHBoxLayout()
        self.accept = QPushButton(
            "Accept",
            clicked=controller.accept,
            toolTip="Add the strokes on show to your layer (one undo step)",
        )
        self.reject = QPushButton(
            "Reject",
            clicked=lambda: controller.reject(),
            toolTip="Remove the suggestion; your layer stays as it was",
        )
        decide.addWidget(self.accept)
        decide.addWidget(self.reject)
        layout.addLayout(decide)
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.message)

        server = QGroupBox("Server")
        server_form = QFormLayout(server)
        self.url = QLineEdit(
            controller.server_url,
            toolTip="Where `python -m sketch_server` "
            "listens; it prints the address when it is ready",
        )
        self.token = QLineEdit(
            controller.token or "",
            echoMode=QLineEdit.Password,
            placeholderText="only if the server has --token",
        )
        for edit in (self.url, self.token):
            edit.editingFinished.connect(self._server_edited)
        server_form.addRow("Address", self.url)
        server_form.addRow("Token", self.token)
        layout.addWidget(server)
        layout.addStretch(1)
        self.setWidget(root)

        controller.changed.connect(self.refresh)
        self.refresh()

    def canvasChanged(self, canvas: Any) -> None:  # Krita's name
        """Krita calls this when the active view changes; the docker shows no per-view state."""

    # --- from the controller to the widgets ------------------------------------------------

    def refresh(self) -> None:
        c = self.controller
        colour = STATE_COLOURS.get(c.state, "#888888")
        self.connection.setText(
            f'<span style="color:{colour}">&#9679;</span> {_escape(c.connection_text)}'
        )
        self._fill_models()
        _quietly(self.variety.setValue, round(c.temperature * 100))
        _quietly(self.alternatives.setValue, c.alternatives)
        chosen = c.chosen_conditions()
        for key, box in self._condition_boxes.items():
            if not (box.hasFocus() or (box.lineEdit() is not None and box.lineEdit().hasFocus())):
                _quietly(box.setCurrentText, chosen.get(key, ANY))  # not while being typed in
        self.variety_label.setText(f"{self.variety.value() / 100:.2f}")
        _quietly(self.strength.setValue, round(c.strength * 100))
        self.strength_label.setText(f"{self.strength.value() / 100:.2f}")
        _quietly(self.guide.setChecked, c.guide.enabled)
        running = c.running
        shortcut = c.shortcuts.get("ai_sketcher_suggest", "")
        self.suggest.setText("Stop" if running else "Suggest strokes")
        self.suggest.setToolTip(
            f"Suggest the next strokes for the active paint or vector layer"
            f"{f' ({shortcut})' if shortcut else ''}; while drawing, stop"
        )
        self.refine.setText("Stop" if running else "Optimize my drawing")
        shown, total = c.showing
        self.which.setText(f"{shown} / {total}" if total else "")
        for button in (self.previous, self.next):
            button.setEnabled(total > 1)
        for button in (self.accept, self.reject):
            button.setEnabled(total > 0)
        self.trace.setEnabled(c.tracing is None)
        self.message.setText(c.message)

    def _fill_models(self) -> None:
        c = self.controller
        names = [m.name for m in c.models]
        if [self.model_box.itemText(i) for i in range(self.model_box.count())] != names:
            self.model_box.clear()
            self.model_box.addItems(names)
        info = c.model_info()
        if info is not None:
            self.model_box.setCurrentText(info.name)
            self.model_box.setToolTip(info.description or info.name)
        self.model_box.setEnabled(len(names) > 1)
        if info is not self._built_for:
            self._build_conditions(info)

    def _build_conditions(self, info: Any) -> None:
        """One combo per condition the model takes, with the artist's saved choice selected."""
        while self.conditions_form.rowCount():
            self.conditions_form.removeRow(0)
        self._condition_boxes = {}
        self._built_for = info
        if info is None:
            return
        chosen = self.controller.chosen_conditions()
        for key, allowed in info.conditions.items():
            box = QComboBox()
            box.addItem(ANY)
            box.addItems(list(allowed))
            box.setToolTip(f"Leave at {ANY} to let the model choose the {key}")
            if not allowed or len(allowed) > SEARCHABLE:
                box.setEditable(True)
                box.setInsertPolicy(QComboBox.NoInsert)
                if allowed:
                    completer = QCompleter(list(allowed), box)
                    completer.setFilterMode(Qt.MatchContains)
                    completer.setCaseSensitivity(Qt.CaseInsensitive)
                    box.setCompleter(completer)
            box.setCurrentText(chosen.get(key, ANY))
            box.currentTextChanged.connect(
                lambda text, key=key, allowed=tuple(allowed): self._condition_changed(
                    key, text, allowed
                )
            )
            self._condition_boxes[key] = box
            self.conditions_form.addRow(key.capitalize(), box)

    # --- from the widgets to the controller ------------------------------------------------

    def _model_chosen(self, index: int) -> None:
        self.controller.set_model(self.model_box.itemText(index))
        self.refresh()

    def _condition_changed(self, key: str, text: str, allowed: tuple[str, ...]) -> None:
        text = text.strip()
        if text in ("", ANY):
            self.controller.set_condition(key, None)
        elif not allowed or text in allowed:
            self.controller.set_condition(key, text)
        # Anything else is half-typed: keep the last valid choice until it matches one.

    def _variety_changed(self, value: int) -> None:
        self.controller.set_temperature(value / 100)
        self.variety_label.setText(f"{value / 100:.2f}")

    def _strength_changed(self, value: int) -> None:
        self.controller.set_strength(value / 100)
        self.strength_label.setText(f"{value / 100:.2f}")

    def _server_edited(self) -> None:
        self.controller.set_server(self.url.text(), self.token.text())


def _slider_row(
    form: Any,
    name: str,
    limits: tuple[int, int],
    value: int,
    tip: str,
    changed: Callable[[int], None],
) -> tuple[Any, Any]:
    """A horizontal slider (hundredths) with its value label, added to `form` as one row."""
    slider = QSlider(Qt.Horizontal, minimum=limits[0], maximum=limits[1], toolTip=tip)
    slider.setValue(value)
    label = QLabel()
    slider.valueChanged.connect(changed)
    row = QHBoxLayout()
    row.addWidget(slider)
    row.addWidget(label)
    form.addRow(name, row)
    return slider, label


def _quietly(setter: Any, value: Any) -> None:
    """Show a value without echoing it back to the controller as an edit."""
    widget = setter.__self__
    widget.blockSignals(True)
    try:
        setter(value)
    finally:
        widget.blockSignals(False)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
