"""The shadow guide half of the Controller: real drawings like the artist's, faint, below.

A mixin, so that controller.py stays one screenful per concern; it uses the Controller's client,
guide state and messages. On a vector layer the guide follows the layer's SVG; on a paint layer
it follows a checksum of its pixels and sends them as a raster for the server to trace.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import canvas, svg
from .wire import client as client_module
from .wire import guide as guide_module

GUIDE_K = client_module.protocol.DEFAULT_GUIDE_K  # real drawings in the shadow guide


class ShadowGuide:
    """Turns the guide on and off, asks for it when the artist's layer settles, shows it."""

    client: Any  # client.SuggestClient
    guide: Any  # guide.GuideState
    guide_layer: Any
    guide_for: Any
    guide_target: canvas.Target | None
    guide_refocus: int
    message: str

    if TYPE_CHECKING:  # the Controller's

        def _say(self, text: str) -> None: ...
        def model_info(self) -> Any: ...
        def chosen_conditions(self) -> dict[str, str]: ...

    def set_guide(self, on: bool) -> None:
        """Turn the shadow guide on or off; off removes the guide layer."""
        if on == self.guide.enabled:
            return
        if on:
            self.guide.turn_on()
            self._say(
                "Shadow guide on: real drawings like yours appear faintly under your "
                "layer after each stroke."
            )
        else:
            self.guide.turn_off()
            self._remove_guide()
            self._say("Shadow guide off.")

    def _remove_guide(self) -> None:
        canvas.remove_layer(self.guide_layer)
        self.guide_layer = self.guide_for = None

    def _guide_tick(self) -> bool:
        """Look at the artist's layer; ask for a guide once it has been still for a moment."""
        if not self.guide.enabled:
            return False
        target = canvas.guide_target()
        if target is None:  # no layer of the artist's is active: leave the guide as is
            return False
        if self.guide_for is not None and not canvas.same_node(self.guide_for, target.layer):
            self._remove_guide()  # another layer: its guide goes below that one
        look = canvas.raster_signature(target.layer) if target.paint else None
        svg_text = "" if target.paint else canvas.layer_svg(target.layer)
        now = time.monotonic()
        self.guide.look((canvas.node_id(target.layer), look or svg_text), now)
        if not self.guide.due(now) or self.client.state != "connected":
            return False
        raster = None
        try:
            if target.paint:
                strokes, raster = [], canvas.layer_raster(target)
            else:
                strokes = client_module.recent_strokes(svg.svg_to_polylines(svg_text))
        except (svg.SvgError, canvas.CanvasError) as e:
            self.guide.skipped()
            self.message = f"The guide cannot read this layer: {e}"
            return True
        self.guide_for, self.guide_target = target.layer, target
        if not strokes and raster is None:
            self.guide.skipped()
            canvas.set_guide_strokes(self._guide_layer(target), target, [])
            return True
        info = self.model_info()
        try:
            self.guide.sent(
                self.client.guide(
                    strokes,
                    self.chosen_conditions(),
                    k=GUIDE_K,
                    model=info.name if info else None,
                    raster=raster,
                )
            )
        except client_module.protocol.ProtocolError as e:
            self.guide.skipped()
            self.message = f"Cannot ask for a guide: {e.message}."
            return True
        return False

    def _guide_layer(self, target: canvas.Target) -> Any:
        if self.guide_layer is None or not canvas.attached(self.guide_layer):
            self.guide_layer = canvas.add_guide_layer(target)
            self.guide_refocus = 20
        return self.guide_layer

    def _show_guide(self, drawings: Any) -> None:
        target = self.guide_target
        if (
            target is None
            or not canvas.attached(target.layer)
            or not canvas.is_active(target.document)
        ):
            return
        alphas = guide_module.opacities([d.weight for d in drawings])
        canvas.set_guide_strokes(
            self._guide_layer(target), target, [(d.strokes, a) for d, a in zip(drawings, alphas)]
        )
