"""In-process job scheduling shared by the ``memory`` and ``file`` adapters.

Each queue keeps its waiting jobs in memory: a deque of ready jobs, FIFO groups (a deque per
group; a group with a job in flight or backing off is *blocked*, so its jobs run one at a time
in order, retries included, while other groups run in parallel), a heap of delayed jobs on the
injectable clock, the jobs in flight and the dead letters. Jobs are dispatched the moment a
slot is free, without polling. Every change is reported to a :class:`Journal`; the ``file``
adapter's journal is SQLite, the ``memory`` adapter's does nothing.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from plugins.queue.adapters.base import Defer, JobRunner, QueueStats
from plugins.queue.clock import Clock, SystemClock, Timer
from plugins.queue.job import Job, QueueSpec, failure_step

__all__ = ["Journal", "LocalAdapter", "LocalQueue", "NoJournal"]

log = logging.getLogger("iii.queue")


class Journal(Protocol):
    """Where a local adapter records job changes."""

    def save(self, job: Job, *, dead: bool, new: bool = False) -> None:
        """Record the job's current state (``new``: it was just created)."""
        ...

    def remove(self, job: Job) -> None:
        """Record that the job is gone."""
        ...

    async def committed(self) -> None:
        """Return once every change recorded so far is durable."""
        ...


class NoJournal:
    """The memory adapter's journal: nothing is recorded."""

    def save(self, job: Job, *, dead: bool, new: bool = False) -> None:
        """Nothing to do."""

    def remove(self, job: Job) -> None:
        """Nothing to do."""

    async def committed(self) -> None:
        """Nothing to wait for."""


class LocalQueue:
    """The jobs of one queue key and the consumer running them."""

    def __init__(self, adapter: LocalAdapter, key: str) -> None:
        self.adapter = adapter
        self.key = key
        self.spec: QueueSpec | None = None
        self.runner: JobRunner | None = None
        self.ready: deque[Job] = deque()
        self.groups: dict[str, deque[Job]] = {}
        self.ready_groups: deque[str] = deque()
        self._ready_set: set[str] = set()
        self.blocked: set[str] = set()
        self.delayed: list[tuple[float, int, Job]] = []
        self._timer: Timer | None = None
        self._timer_at = math.inf
        self.in_flight: dict[str, Job] = {}
        self.dead: dict[str, Job] = {}
        self.waiting = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self._pause_timer: Timer | None = None

    # --- entering and leaving ------------------------------------------------------------------

    def enter(self, job: Job) -> None:
        """Add a waiting job (new, redriven or recovered after a restart)."""
        self.waiting += 1
        now = self.adapter.clock.now()
        group = job.group
        if group is None:
            if job.available_at > now:
                self._delay(job)
            else:
                self.ready.append(job)
            return
        jobs = self.groups.get(group)
        if jobs is None:
            jobs = self.groups[group] = deque()
        jobs.append(job)
        if len(jobs) == 1 and group not in self.blocked:
            if job.available_at > now:
                self.blocked.add(group)
                self._delay(job)
            else:
                self._group_ready(group)

    def _group_ready(self, group: str) -> None:
        if group not in self._ready_set:
            self._ready_set.add(group)
            self.ready_groups.append(group)

    def _unblock(self, group: str) -> None:
        self.blocked.discard(group)
        if self.groups.get(group):
            self._group_ready(group)

    def _delay(self, job: Job) -> None:
        heapq.heappush(self.delayed, (job.available_at, job.seq, job))
        self._arm()

    def _arm(self) -> None:
        if not self.delayed:
            return
        when = self.delayed[0][0]
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer_at = when
        self._timer = self.adapter.clock.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        now = self.adapter.clock.now()
        while self.delayed and self.delayed[0][0] <= now:
            job = heapq.heappop(self.delayed)[2]
            if job.group is None:
                self.ready.append(job)
            else:
                self._unblock(job.group)
        self._arm()
        self.dispatch()

    def _next(self) -> Job | None:
        if self.ready:
            return self.ready.popleft()
        while self.ready_groups:
            group = self.ready_groups.popleft()
            self._ready_set.discard(group)
            jobs = self.groups.get(group)
            if not jobs or group in self.blocked:
                continue
            job = jobs.popleft()
            if not jobs:
                del self.groups[group]
            self.blocked.add(group)
            return job
        return None

    # --- consuming -----------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Start waiting jobs while the queue has free slots."""
        runner, spec = self.runner, self.spec
        if runner is None or spec is None or self._pause_timer is not None:
            return
        loop = asyncio.get_running_loop()
        while len(self.in_flight) < spec.concurrency:
            job = self._next()
            if job is None:
                return
            self.waiting -= 1
            self.in_flight[job.id] = job
            task = loop.create_task(self._run(job, runner))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, job: Job, runner: JobRunner) -> None:
        try:
            error = await runner(job)
        except asyncio.CancelledError:
            raise  # closing: the stored job stays as it is and runs again after a restart
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        await self.finish(job, error)

    async def finish(self, job: Job, error: str | None) -> None:
        """Apply an attempt's outcome: delete, retry later, or dead-letter.

        The job keeps its slot (and its FIFO group stays blocked) until the change is
        committed, so after a crash only jobs that held a slot can run twice.
        """
        if isinstance(error, Defer):
            self.in_flight.pop(job.id, None)
            self._put_back(job, error.delay)
            self.dispatch()
            return
        journal = self.adapter.journal
        retry_at = None
        if error is None:
            journal.remove(job)
        else:
            job.attempts += 1
            job.error = error
            now = self.adapter.clock.now()
            retry_at = failure_step(job, now)
            if retry_at is None:
                job.failed_at = now
            else:
                job.available_at = retry_at
            journal.save(job, dead=retry_at is None)
        try:
            await journal.committed()
        except Exception:
            log.debug("queue job %s: its change was not committed", job.id)
        self.in_flight.pop(job.id, None)
        group = job.group
        if error is None:
            if group is not None:
                self._unblock(group)
        elif retry_at is None:
            self.dead[job.id] = job
            log.warning("queue job %s (%s) dead-lettered: %s", job.id, job.function_id, error)
            if group is not None:
                self._unblock(group)
        else:
            self.waiting += 1
            if group is not None:
                jobs = self.groups.get(group)
                if jobs is None:
                    jobs = self.groups[group] = deque()
                jobs.appendleft(job)  # still blocked: the group waits for its retry
            self._delay(job)
        self.dispatch()

    def _put_back(self, job: Job, delay: float) -> None:
        self.waiting += 1
        if job.group is None:
            self.ready.appendleft(job)
        else:
            jobs = self.groups.get(job.group)
            if jobs is None:
                jobs = self.groups[job.group] = deque()
            jobs.appendleft(job)
            self.blocked.discard(job.group)
            self._group_ready(job.group)
        if self._pause_timer is None:
            clock = self.adapter.clock
            self._pause_timer = clock.call_at(clock.now() + delay, self._resume)

    def _resume(self) -> None:
        self._pause_timer = None
        self.dispatch()

    def stats(self) -> QueueStats:
        """Waiting, in-flight and dead counts."""
        return QueueStats(self.waiting, len(self.in_flight), len(self.dead))

    def close(self) -> list[asyncio.Task[None]]:
        """Stop timers and cancel running attempts; the tasks to await."""
        self.runner = None
        for timer in (self._timer, self._pause_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._pause_timer = None
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        return tasks


class LocalAdapter:
    """Scheduling in this process, recording changes to :attr:`journal`."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.journal: Journal = NoJournal()
        self.queues: dict[str, LocalQueue] = {}
        self._seq = 0

    def queue(self, key: str) -> LocalQueue:
        """The queue of ``key`` (created empty)."""
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = LocalQueue(self, key)
        return queue

    def next_seq(self) -> int:
        """A sequence number after every one given so far."""
        self._seq += 1
        return self._seq

    async def open(self) -> None:
        """Nothing to load."""

    async def close(self) -> None:
        """Cancel attempts in flight (they stay stored as waiting)."""
        tasks = [task for queue in self.queues.values() for task in queue.close()]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def push(self, jobs: Sequence[Job]) -> None:
        """Store and dispatch ``jobs``; return once the journal committed them."""
        touched: dict[str, LocalQueue] = {}
        for job in jobs:
            job.seq = self.next_seq()
            self.journal.save(job, dead=False, new=True)
            queue = touched.get(job.queue) or self.queue(job.queue)
            touched[job.queue] = queue
            queue.enter(job)
        for queue in touched.values():
            queue.dispatch()
        await self.journal.committed()

    def consume(self, spec: QueueSpec, runner: JobRunner) -> None:
        """Run the jobs of ``spec.key`` with ``runner``."""
        queue = self.queue(spec.key)
        queue.spec = spec
        queue.runner = runner
        queue.dispatch()

    async def stop_consuming(self, key: str) -> None:
        """Start no more jobs of ``key``."""
        queue = self.queues.get(key)
        if queue is not None:
            queue.runner = None

    async def stats(self, key: str) -> QueueStats:
        """Counts of one queue."""
        queue = self.queues.get(key)
        return QueueStats() if queue is None else queue.stats()

    async def dead_letters(self, key: str, offset: int, limit: int) -> list[Job]:
        """Dead letters in failure order."""
        queue = self.queues.get(key)
        if queue is None:
            return []
        return list(queue.dead.values())[offset : offset + limit]

    async def redrive(self, key: str, message_id: str | None = None) -> int:
        """Requeue dead letters with attempts reset."""
        queue = self.queues.get(key)
        if queue is None:
            return 0
        ids = list(queue.dead) if message_id is None else [message_id]
        count = 0
        for job_id in ids:
            job = queue.dead.pop(job_id, None)
            if job is None:
                continue
            job.attempts = 0
            job.error = None
            job.failed_at = None
            job.available_at = 0.0
            job.seq = self.next_seq()
            self.journal.save(job, dead=False)
            queue.enter(job)
            count += 1
        queue.dispatch()
        await self.journal.committed()
        return count

    async def discard(self, key: str, message_id: str) -> int:
        """Delete one dead letter."""
        queue = self.queues.get(key)
        job = None if queue is None else queue.dead.pop(message_id, None)
        if job is None:
            return 0
        self.journal.remove(job)
        await self.journal.committed()
        return 1

    async def keys(self) -> list[str]:
        """Keys of queues that hold anything."""
        return [key for key, q in self.queues.items() if q.waiting or q.in_flight or q.dead]
