"""Event timestamps that subscribers can order by.

Stream clients order frames by ``timestamp`` (epoch milliseconds) and drop a frame about an item
whose timestamp is not newer than the last one they saw for it. Two writes to one item in the
same millisecond would then lose the second, so :class:`EventClock` stamps events with the wall
clock but never repeats or goes back for the same item: a burst on one item runs a few
milliseconds ahead for that item only. The clock is injectable (tests pass their own).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Final

__all__ = ["EventClock", "wall_ms"]

REMEMBERED: Final = 10_000
"""Items whose last timestamp is kept (the least recently stamped are forgotten first)."""


def wall_ms() -> int:
    """Epoch milliseconds."""
    return time.time_ns() // 1_000_000


class EventClock:
    """Timestamps: never backwards, strictly increasing per key (an item)."""

    def __init__(self, now: Callable[[], int] = wall_ms, remembered: int = REMEMBERED) -> None:
        self._now = now
        self._remembered = remembered
        self._last: dict[Hashable, int] = {}
        self._floor = 0  # the latest wall-clock reading: a clock stepped back reads as this
        self._high = 0  # the latest timestamp issued

    def _wall(self) -> int:
        now = self._now()
        if now < self._floor:
            return self._floor
        self._floor = now
        return now

    def stamp(self, key: Hashable) -> int:
        """The timestamp of a new event about ``key``."""
        now = self._wall()
        last = self._last.pop(key, None)
        stamp = now if last is None or last < now else last + 1
        self._last[key] = stamp
        if len(self._last) > self._remembered:
            del self._last[next(iter(self._last))]
        self._high = max(self._high, stamp)
        return stamp

    def current(self) -> int:
        """A timestamp not older than any issued (for ``sync`` frames)."""
        return max(self._wall(), self._high)
