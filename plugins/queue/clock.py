"""Time as the queue sees it: wall-clock seconds plus timers, injectable for tests.

Retry backoff, delayed jobs and per-job timeouts all go through a :class:`Clock`, so a test
swaps in a :class:`ManualClock` and moves time forward itself instead of waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "Timer"]


class Timer(Protocol):
    """A scheduled callback."""

    def cancel(self) -> None:
        """Do not run the callback (no effect once it ran)."""
        ...


class Clock(Protocol):
    """Epoch seconds and timers at absolute times."""

    def now(self) -> float:
        """The current time, in epoch seconds."""
        ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` on the event loop once ``now() >= when``."""
        ...


class SystemClock:
    """The real clock: ``time.time()`` and the running loop's timers."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """``loop.call_later`` for the remaining delay."""
        delay = max(0.0, when - time.time())
        return asyncio.get_running_loop().call_later(delay, callback)


class _ManualTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to (:meth:`advance`)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        """The manual time."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Remember ``callback`` until time reaches ``when``."""
        timer = _ManualTimer(callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        return timer

    def pending(self) -> int:
        """How many timers are armed."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """When the earliest armed timer is due (``None`` when none is armed)."""
        live = [when for when, _, timer in self._timers if not timer.cancelled]
        return min(live, default=None)

    def advance(self, seconds: float) -> None:
        """Move time forward and run every timer that became due, in time order."""
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if not timer.cancelled:
                timer.callback()
        self._now = target
