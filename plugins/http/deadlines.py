"""Request timeouts enforced by one sweeper task instead of a timer per request.

Every request gets the same timeout, so insertion order is deadline order: the sweep pops
expired requests from the front of an insertion-ordered dict and cancels their tasks. Times are
``time.monotonic`` (the clock of asyncio's loop, without a method call per request).

The sweeper sleeps until the oldest pending deadline, or for one whole timeout when nothing is
pending: a request added meanwhile is due later than that wake-up, so none is missed, a timeout
fires on time, and an idle engine is not woken (a fixed 100 ms tick cost it ten loop passes a
second). Adding a request costs no timer and no wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from time import monotonic

__all__ = ["Deadline", "Deadlines"]


class Deadline:
    """One request's deadline; ``expired`` tells a cancellation apart from a timeout."""

    __slots__ = ("expired", "task")

    def __init__(self, task: asyncio.Task[object] | None) -> None:
        self.task = task
        self.expired = False


class Deadlines:
    """Cancels the task of a request still registered ``timeout_s`` after it started."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._pending: dict[Deadline, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sweeping (no-op without a timeout)."""
        if self.timeout_s > 0 and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="iii-http-deadlines")

    async def stop(self) -> None:
        """Stop sweeping."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    def add(self) -> Deadline:
        """Start timing the current task."""
        deadline = Deadline(asyncio.current_task())
        if self._sweeper is not None:
            self._pending[deadline] = monotonic() + self.timeout_s
        return deadline

    def remove(self, deadline: Deadline) -> None:
        """Stop timing (the request finished, or its response has started)."""
        self._pending.pop(deadline, None)

    def sweep(self, now: float) -> int:
        """Cancel every request whose deadline is at or before ``now``; return how many."""
        pending = self._pending
        expired = 0
        while pending:
            deadline, when = next(iter(pending.items()))
            if when > now:
                break
            del pending[deadline]
            deadline.expired = True
            if deadline.task is not None:
                deadline.task.cancel()
            expired += 1
        return expired

    def next_wake(self, now: float) -> float:
        """Seconds from ``now`` until the sweep is next due: the oldest pending deadline, or
        one whole timeout when nothing is pending (whatever is added later is due later)."""
        for when in self._pending.values():
            return max(when - now, 0.0)
        return self.timeout_s

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.next_wake(monotonic()))
            self.sweep(monotonic())
