"""The one interface every iii-queue storage adapter implements.

An adapter stores jobs durably (as its kind allows) and drives their consumption: the worker
hands it a :class:`~plugins.queue.job.QueueSpec` and a :data:`JobRunner` per queue, and the
adapter calls the runner for each job with the queue's parallelism and FIFO discipline, then
applies the outcome (delete on success; retry with backoff or dead-letter on failure, per
:func:`~plugins.queue.job.failure_step`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from plugins.queue.clock import Clock
from plugins.queue.job import Job, QueueSpec

__all__ = ["Defer", "JobRunner", "QueueAdapter", "QueueStats"]

JobRunner = Callable[[Job], Awaitable[str | None]]
"""Run one attempt of a job: ``None`` on success, else the error text (or a :class:`Defer`)."""


class Defer(str):
    """An attempt that could not start (its function is not registered yet, just after a
    restart): the job goes back to the head of its queue without counting an attempt, and the
    queue pauses ``delay`` seconds."""

    delay: float = 0.1


@dataclass
class QueueStats:
    """Counts of one queue: ``waiting`` (ready or delayed), ``in_flight``, ``dead``."""

    waiting: int = 0
    in_flight: int = 0
    dead: int = 0


class QueueAdapter(Protocol):
    """Storage and consumption of jobs, by queue key."""

    clock: Clock

    async def open(self) -> None:
        """Connect or load; raise if the store is unusable."""
        ...

    async def close(self) -> None:
        """Stop consuming, let committed state be, release the store."""
        ...

    async def push(self, jobs: Sequence[Job]) -> None:
        """Store new jobs; return only once they are durable (as durable as the adapter is)."""
        ...

    def consume(self, spec: QueueSpec, runner: JobRunner) -> None:
        """Start (or reconfigure) consuming the queue ``spec.key`` with ``runner``."""
        ...

    async def stop_consuming(self, key: str) -> None:
        """Stop starting new jobs of ``key`` (stored jobs stay)."""
        ...

    async def stats(self, key: str) -> QueueStats:
        """Counts of one queue."""
        ...

    async def dead_letters(self, key: str, offset: int, limit: int) -> list[Job]:
        """Dead-lettered jobs of ``key``, oldest failure first."""
        ...

    async def redrive(self, key: str, message_id: str | None = None) -> int:
        """Move dead letters (all, or one) back to the queue with attempts reset; the count."""
        ...

    async def discard(self, key: str, message_id: str) -> int:
        """Delete one dead letter; 1 if it existed."""
        ...

    async def keys(self) -> list[str]:
        """Every queue key holding jobs or dead letters."""
        ...
