"""When to ask for a shadow guide, in pure Python, shared by the Krita and Blender add-ons.

While the guide is on, the host's timer looks at the artist's layer and tells GuideState a
signature of what it holds (Krita: the layer's SVG; Blender: the layer, frame and stroke count).
GuideState says when to ask the server: once the signature has stayed the same for `debounce`
seconds (so a stroke being drawn does not send a request per point), with at most one request in
flight. An answer is shown only if it is the one in flight and the layer has not changed since it
was asked; any other answer is stale and dropped, and the newer drawing is asked for instead.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

DEBOUNCE = 0.3  # seconds the artist's layer must stay unchanged before the guide is asked for
MIN_SHARE = 0.2  # the faintest drawing keeps this share of the best one's opacity


class GuideState:
    """The guide toggle and its one request: debounced, never two in flight, stale ones dropped."""

    def __init__(self, debounce: float = DEBOUNCE) -> None:
        self.debounce = debounce
        self.enabled = False
        self.seen: Hashable | None = None  # the layer's signature at the last look
        self.changed_at: float | None = None  # when it last changed, until that is asked for
        self.in_flight: str | None = None  # the id of the request the server is working on
        self.asked: Hashable | None = None  # the signature that request was made for
        self.shown: Hashable | None = None  # the signature whose guide is on show
        self._ids: set[str] = set()  # every id sent since the add-on started, to recognise answers

    def turn_on(self) -> None:
        """Start guiding: the layer's current drawing is asked for after the first look."""
        self.enabled = True
        self.seen = self.shown = self.changed_at = self.in_flight = self.asked = None

    def turn_off(self) -> None:
        """Stop guiding; the answer of a request still in flight will be dropped."""
        self.enabled = False
        self.seen = self.shown = self.changed_at = self.in_flight = self.asked = None

    def look(self, signature: Hashable, now: float) -> None:
        """Record what the artist's layer holds now (call on every timer tick)."""
        if self.enabled and signature != self.seen:
            self.seen, self.changed_at = signature, now

    def due(self, now: float) -> bool:
        """Whether to send a guide request now."""
        return (
            self.enabled
            and self.in_flight is None
            and self.changed_at is not None
            and now - self.changed_at >= self.debounce
            and self.seen != self.shown
        )

    def sent(self, request_id: str) -> None:
        """A request for the drawing last seen went out with this id."""
        self.in_flight, self.asked, self.changed_at = request_id, self.seen, None
        self._ids.add(request_id)

    def skipped(self) -> None:
        """Nothing to ask for (the layer is empty): the host cleared the guide instead."""
        self.shown, self.changed_at = self.seen, None

    def is_ours(self, request_id: object) -> bool:
        """Whether a message answers one of our guide requests (stale or not)."""
        return isinstance(request_id, str) and request_id in self._ids

    def answered(self, request_id: object) -> bool:
        """A GuideResult arrived: True if the host should show it, False if it is stale."""
        if request_id != self.in_flight or request_id is None:
            return False  # an older request's, or one sent before the guide was turned off
        self.in_flight = None
        if self.asked != self.seen:  # the artist drew on while the server worked
            if self.changed_at is None:
                self.changed_at = 0.0  # ask again at once for what the layer holds now
            return False
        self.shown = self.asked
        return True

    def failed(self, request_id: object) -> bool:
        """An Error for a request: True if it was the one in flight (the host says why)."""
        if request_id is None or request_id != self.in_flight:
            return False
        self.in_flight = None
        self.shown = self.asked  # do not retry the same drawing in a loop; the next change will
        return True


def opacities(weights: Sequence[float]) -> list[float]:
    """Each drawing's opacity from its weight (0..1): the best is 1, the others in proportion,
    no fainter than MIN_SHARE so that every drawing stays visible."""
    top = max(weights, default=0.0)
    if top <= 0:
        return [1.0] * len(weights)
    return [max(MIN_SHARE, w / top) for w in weights]
