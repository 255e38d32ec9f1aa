"""Light work first, across the server's lanes: the engine's rows and the guide threads follow
one rule, so an artist's request waits little for a greedy client's, whichever lane each is in.

Light work is an artist's: a connection with a few sketches drawing (sketch_server.engine) or one
guide at a time (sketch_server.guides). While any is in flight, heavy work runs in short pieces,
each only while heavy work has used at most HEAVY_SHARE of the time since light work began, and
waits between them holding no lock, so the interpreter lock and the cores go to the light work.
With no light work in flight, heavy work runs at full speed and owes nothing afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Heavy work's share of the time while light work is in flight. Small, because its cost goes on
# after each piece: the event loop sends every stroke and guide it finishes (bench_hostile.py).
HEAVY_SHARE = 0.1


class Fairness:
    """How much heavy work may run now. Thread-safe: the engine's worker, the guide threads and
    the event loop all use it."""

    def __init__(
        self, share: float = HEAVY_SHARE, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share must be in (0, 1]; got {share!r}")
        self.share, self.clock = share, clock
        self._changed = threading.Condition()
        self._light = 0  # pieces of light work in flight
        self._since = 0.0  # when light work began to be in flight
        self._heavy = 0.0  # seconds of heavy work since then
        self._closed = False
        self._listeners: list[Callable[[], None]] = []

    def on_light_ended(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from whichever thread ends it) whenever light work stops being in
        flight: a lane that rests on its own queue wakes up to run its heavy work."""
        self._listeners.append(callback)

    @property
    def light(self) -> bool:
        """Whether light work is in flight."""
        return self._light > 0

    def enter_light(self) -> None:
        """A piece of light work begins (pair with leave_light)."""
        with self._changed:
            if self._light == 0:
                self._since, self._heavy = self.clock(), 0.0
            self._light += 1

    def leave_light(self) -> None:
        """A piece of light work ends; the last one lets heavy work run freely again."""
        with self._changed:
            if self._light <= 0:
                raise RuntimeError("leave_light without enter_light")
            self._light -= 1
            ended = self._light == 0
            if ended:
                self._changed.notify_all()
        if ended:
            for callback in self._listeners:
                callback()

    def charge(self, seconds: float) -> None:
        """Heavy work ran for `seconds`; it counts only while light work is in flight."""
        with self._changed:
            if self._light:
                self._heavy += seconds

    def delay(self) -> float:
        """Seconds until heavy work may run again (0: now)."""
        with self._changed:
            return self._delay()

    def _delay(self) -> float:
        if not self._light or self._closed:
            return 0.0
        return max(0.0, self._heavy / self.share - (self.clock() - self._since))

    def wait_heavy(self) -> None:
        """Block until heavy work may run (at once with no light work in flight)."""
        with self._changed:
            while (rest := self._delay()) > 0:
                self._changed.wait(rest)

    def paced(self) -> Pacer:
        """A pacer for one piece of heavy work to call between its parts."""
        return Pacer(self)

    def close(self) -> None:
        """Stop holding heavy work back: the server is stopping."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class Pacer:
    """Called between the parts of one piece of heavy work: charges the part just run, then
    waits until heavy work may run again; `finish` charges the last part."""

    def __init__(self, fairness: Fairness) -> None:
        self.fairness = fairness
        self._last = fairness.clock()

    def __call__(self) -> None:
        self.finish()
        self.fairness.wait_heavy()
        self._last = self.fairness.clock()

    def finish(self) -> None:
        """Charge the time since the last pause."""
        now = self.fairness.clock()
        self.fairness.charge(now - self._last)
        self._last = now
