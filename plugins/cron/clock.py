"""Time as the cron scheduler sees it: a :class:`Clock` it reads and sleeps on.

:class:`SystemClock` is the wall clock. :class:`ManualClock` is time a test moves by hand, so
months of ticks, DST changes and leap days run in milliseconds: ``advance``/``set`` wake every
sleeper whose deadline has passed, and ``sleepers_at_least(n)`` lets a test wait, without
sleeping, until the scheduler has gone back to sleep.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]

_NS = 1_000_000_000
_FINAL_SLEEP_NS = 4_000_000
_LONGEST_SLEEP_NS = 60 * _NS


class Clock(Protocol):
    """A source of UTC time the scheduler can sleep on."""

    def time_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...

    async def sleep_until(self, when_ns: int) -> None:
        """Return once :meth:`time_ns` has reached ``when_ns``."""
        ...


class SystemClock:
    """The machine's wall clock; sleepers with the same deadline share one timer.

    Sharing matters at scale: 1,000 jobs due on the same second become ready together, in one
    pass of the event loop, instead of each on its own timer interleaved with the others' work.
    """

    def __init__(self) -> None:
        self._waiting: dict[int, list[asyncio.Future[None]]] = {}

    def time_ns(self) -> int:
        """``time.time_ns()``."""
        return time.time_ns()

    async def sleep_until(self, when_ns: int) -> None:
        """Wait until the wall clock reaches ``when_ns``."""
        if when_ns <= time.time_ns():
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiters = self._waiting.get(when_ns)
        if waiters is None:
            self._waiting[when_ns] = [future]
            self._arm(loop, when_ns)
        else:
            waiters.append(future)
        await future

    def _arm(self, loop: asyncio.AbstractEventLoop, when_ns: int) -> None:
        # Linux lets a long poll timeout end late by 0.1% of its length (timer slack: 1 ms for
        # a 1 s sleep), so a long wait stops a little early and a short one finishes it.
        remaining = when_ns - time.time_ns()
        if remaining <= 0:
            for future in self._waiting.pop(when_ns, ()):
                if not future.done():
                    future.set_result(None)
            return
        if remaining > _FINAL_SLEEP_NS:
            remaining -= remaining // 200 + _FINAL_SLEEP_NS // 2
        # Re-read the wall clock at least once a minute: it may be stepped (NTP, suspend).
        remaining = min(remaining, _LONGEST_SLEEP_NS)
        loop.call_later(remaining / _NS, self._arm, loop, when_ns)


class ManualClock:
    """Time that only moves when a test moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = to_ns(start)
        self._seq = itertools.count()
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()

    def time_ns(self) -> int:
        """The current (manual) time."""
        return self._now

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return from_ns(self._now)

    async def sleep_until(self, when_ns: int) -> None:
        """Wait until a test moves the clock to ``when_ns`` or later."""
        if when_ns <= self._now:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when_ns, next(self._seq), future))
        self._changed.set()
        try:
            await future
        finally:
            if not future.done():
                future.cancel()
            self._changed.set()

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (never backwards) and wake the sleepers that are due."""
        target = to_ns(moment)
        if target < self._now:
            raise ValueError("a ManualClock does not go backwards")
        self._now = target
        while self._sleepers and self._sleepers[0][0] <= target:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self.set(self.now() + delta)

    def sleeping(self) -> int:
        """How many sleepers wait right now."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def next_deadline(self) -> datetime | None:
        """The earliest deadline a sleeper waits for."""
        live = [when for when, _, future in self._sleepers if not future.done()]
        return from_ns(min(live)) if live else None

    async def sleepers_at_least(self, count: int) -> None:
        """Wait (for a signal, not a timer) until ``count`` sleepers are waiting."""
        while self.sleeping() < count:
            self._changed.clear()
            await self._changed.wait()


def to_ns(moment: datetime) -> int:
    """Epoch nanoseconds of an aware datetime (exact to the microsecond)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def from_ns(ns: int) -> datetime:
    """An aware UTC datetime (microsecond precision) for epoch nanoseconds."""
    seconds, rest = divmod(ns, _NS)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)
