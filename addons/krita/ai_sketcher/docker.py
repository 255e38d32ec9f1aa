"""The AI Sketcher docker: connection status, model and conditions, variety and alternatives,
the Suggest / Previous / Next / Accept / Reject buttons, and the kept character (Keep character,
Forget, Same character, Character sheet). It only talks to the Controller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QPointF, Qt, QTimer
from PyQt5.QtGui import QColor, QPainter, QPen, QPixmap
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
THUMBNAIL = 56  # pixels, the kept character's picture
KEEP_TIP = (
    "Keep the person of the suggestion on show (or of the one just accepted) with this document"
)
SHEET_TIP = (
    "Draw the kept character (or a new one) once per emotion and view on a new layer; "
    "your layers stay as they are"
)
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
        self._thumbnail_of: Any = None  # the kept character the thumbnail shows

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
        layout.addWidget(self._character_box(controller))
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

    def _character_box(self, controller: Controller) -> QGroupBox:
        """Who the document keeps, Keep character / Forget, Same character, Character sheet."""
        box = QGroupBox("Character")
        rows = QVBoxLayout(box)
        who = QHBoxLayout()
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(THUMBNAIL, THUMBNAIL)
        self.kept = QLabel(wordWrap=True)
        self.kept.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        who.addWidget(self.thumbnail)
        who.addWidget(self.kept)
        rows.addLayout(who)
        keep = QHBoxLayout()
        self.keep = QPushButton("Keep character", clicked=controller.keep_character)
        self.forget = QPushButton(
            "Forget", clicked=controller.forget_character, toolTip="Forget the kept character"
        )
        keep.addWidget(self.keep)
        keep.addWidget(self.forget)
        rows.addLayout(keep)
        self.same = QCheckBox(
            "Same character",
            toggled=controller.set_same_character,
            toolTip="Suggest and Optimize draw the kept character, under the conditions "
            f"chosen above ({ANY} keeps the character's own)",
        )
        rows.addWidget(self.same)
        self.sheet = QPushButton("Character sheet", clicked=controller.character_sheet_or_stop)
        rows.addWidget(self.sheet)
        return box

    def canvasChanged(self, canvas: Any) -> None:  # Krita's name
        """Krita calls this when the active view changes: the kept character shown is the
        document's (read once Krita has finished switching)."""
        QTimer.singleShot(0, self.refresh)

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
        self._show_kept()
        self.message.setText(c.message)

    def _show_kept(self) -> None:
        c = self.controller
        kept = c.kept()
        self.kept.setText(
            f"Kept: {_escape(kept.describe())}"
            if kept is not None
            else "No character kept: show a face, then Keep character."
        )
        self.kept.setToolTip(
            "Saved with the document; Same character and Character sheet draw this person"
            if kept is not None
            else "Faces from a model that keeps characters, such as 'faces', can be kept"
        )
        if (kept and kept.character) != self._thumbnail_of:
            self._thumbnail_of = kept and kept.character
            self.thumbnail.setPixmap(_thumbnail(kept.strokes if kept else (), THUMBNAIL))
        self.forget.setEnabled(kept is not None)
        _quietly(self.same.setChecked, c.same_character)
        drawing = c.sheet is not None
        self.sheet.setText("Stop sheet" if drawing else "Character sheet")
        self.sheet.setToolTip(_tip(SHEET_TIP, c.shortcuts.get("ai_sketcher_character_sheet")))
        self.keep.setToolTip(_tip(KEEP_TIP, c.shortcuts.get("ai_sketcher_keep_character")))

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


def _tip(text: str, shortcut: str | None) -> str:
    return f"{text} ({shortcut})" if shortcut else text


def _thumbnail(strokes: Any, size: int) -> QPixmap:
    """The strokes drawn small, fitted into a `size`-pixel square on white."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor("#ffffff"))
    points = [p for s in strokes for p in s]
    if not points:
        return pixmap
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    scale = (size - 6) / max(x1 - x0, y1 - y0, 1e-9)
    dx = (size - (x1 - x0) * scale) / 2 - x0 * scale
    dy = (size - (y1 - y0) * scale) / 2 - y0 * scale
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(QPen(QColor("#202020"), 1.2))
    for stroke in strokes:
        line = [QPointF(x * scale + dx, y * scale + dy) for x, y in stroke]
        for a, b in zip(line, line[1:]):
            painter.drawLine(a, b)
    painter.end()
    return pixmap


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
