"""The scheduling loop of iii-cron (workers.md §7.3), one task per job.

Each job loops: compute the first fire time strictly after "now", sleep until it, take the lock
for that tick, check the condition, invoke the function and **wait for it**, release the lock,
and start over from the new "now". So runs of one job never overlap, and ticks that pass while
a handler runs or while the engine is down are skipped, never caught up. Time comes from an
injectable :class:`~plugins.cron.clock.Clock`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from iii_sdk.observer import trigger_span
from iii_sdk.plugin import Trigger, TriggerContext, check_condition
from plugins.cron.adapters.base import CronLock
from plugins.cron.clock import Clock, from_ns, to_ns
from plugins.cron.expression import CronSchedule

__all__ = ["CronJob", "Scheduler", "rfc3339", "rfc3339_ns"]

_NS = 1_000_000_000


@dataclass(eq=False)
class CronJob:
    """A registered ``cron`` trigger and its schedule."""

    trigger: Trigger
    schedule: CronSchedule
    condition_function_id: str | None = None
    next_ns: int | None = None
    """When the job fires next (``None`` while running, or when it never fires again)."""
    runs: int = 0
    skipped: int = 0
    stopped: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        """The trigger id (upstream's ``job_id``)."""
        return self.trigger.id


class Scheduler:
    """Runs every registered job on ``clock`` with ``lock`` deciding who fires a tick."""

    def __init__(
        self,
        ctx: TriggerContext,
        lock: CronLock,
        clock: Clock,
    ) -> None:
        self._ctx = ctx
        self.lock = lock
        self.clock = clock
        self.jobs: dict[str, CronJob] = {}
        self._log: logging.Logger = ctx.logger

    def add(self, job: CronJob) -> None:
        """Start scheduling ``job`` (its id must not be scheduled already)."""
        self.jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._loop(job), name=f"cron:{job.id}")

    async def remove(self, job_id: str) -> None:
        """Stop scheduling a job; a run in progress is cancelled."""
        job = self.jobs.pop(job_id, None)
        if job is not None:
            await _stop([job])

    async def close(self) -> None:
        """Stop every job."""
        jobs = list(self.jobs.values())
        self.jobs.clear()
        await _stop(jobs)

    async def _loop(self, job: CronJob) -> None:
        while not job.stopped:
            due = job.schedule.next_after(from_ns(self.clock.time_ns()))
            if due is None:
                job.next_ns = None
                self._log.info("cron job %s: expression has no future run", job.id)
                return
            due_ns = to_ns(due)
            job.next_ns = due_ns
            await self.clock.sleep_until(due_ns)
            job.next_ns = None
            if not job.stopped:
                await self._tick(job, due, due_ns)

    async def _tick(self, job: CronJob, due: datetime, due_ns: int) -> None:
        try:
            token = await self.lock.acquire(job.id, due_ns // 1_000_000)
        except Exception as exc:
            self._log.warning("cron job %s: lock backend failed, tick skipped: %s", job.id, exc)
            job.skipped += 1
            return
        if token is None:
            job.skipped += 1
            return
        # The run starts now. Jobs due on the same tick woke together: let each of them take
        # its start time before any of them spends time on its invocation.
        started_ns = self.clock.time_ns()
        await asyncio.sleep(0)
        # Only a lock other engines contend for needs renewing during a long run; in-process,
        # the job's own loop already rules out a second run.
        renewal = _Renewal(self.lock, job.id, token, self._log) if self.lock.shared else None
        try:
            await self._run(job, due, started_ns)
        finally:
            if renewal is not None:
                renewal.stop()
            try:
                await self.lock.release(job.id, token)
            except Exception as exc:
                self._log.warning("cron job %s: lock release failed: %s", job.id, exc)

    async def _run(self, job: CronJob, due: datetime, started_ns: int) -> None:
        observer = self._ctx.observer
        if observer is None:
            await self._run_untraced(job, due, started_ns)
            return
        with trigger_span(observer, "cron", job.trigger.function_id, root=True):
            await self._run_untraced(job, due, started_ns)

    async def _run_untraced(self, job: CronJob, due: datetime, started_ns: int) -> None:
        trigger = job.trigger
        payload = {
            "trigger": "cron",
            "job_id": job.id,
            "scheduled_time": rfc3339(due),
            "actual_time": rfc3339_ns(started_ns, job.schedule.tz),
        }
        try:
            run = job.condition_function_id is None or await check_condition(
                self._ctx, job.condition_function_id, payload, trigger.namespace
            )
        except Exception as exc:
            self._log.warning(
                "cron job %s: condition %s failed, run skipped: %s",
                job.id,
                job.condition_function_id,
                exc,
            )
            job.skipped += 1
            return
        if not run:
            job.skipped += 1
            return
        job.runs += 1
        try:
            await self._ctx.invoke(
                trigger.function_id,
                payload,
                metadata=trigger.metadata,
                namespace=trigger.namespace,
            )
        except Exception as exc:
            self._log.warning("cron job %s: %s failed: %s", job.id, trigger.function_id, exc)


async def _stop(jobs: list[CronJob]) -> None:
    tasks = [job.task for job in jobs if job.task is not None]
    for job in jobs:
        job.stopped = True  # also ends the loop if a callee swallows the cancellation
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Renewal:
    """Renews a held lock every third of its TTL until stopped (only long runs pay for it)."""

    def __init__(self, lock: CronLock, job_id: str, token: str, log: logging.Logger) -> None:
        self._lock = lock
        self._job_id = job_id
        self._token = token
        self._log = log
        self._interval = lock.ttl_ms / 3000
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(self._interval, self._due)
        self._task: asyncio.Task[None] | None = None

    def _due(self) -> None:
        self._task = self._loop.create_task(self._renew())

    async def _renew(self) -> None:
        try:
            held = await self._lock.renew(self._job_id, self._token)
        except Exception as exc:
            self._log.warning("cron job %s: lock renewal failed: %s", self._job_id, exc)
            held = True  # try again next time; the TTL still covers us for a while
        if not held:
            self._log.warning("cron job %s: lock lost while running", self._job_id)
            return
        if self._handle is not None:
            self._handle = self._loop.call_later(self._interval, self._due)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._task is not None:
            self._task.cancel()


# Jobs due on the same tick format the same second: keep the last few texts.
_TEXTS: dict[tuple[int, tzinfo | None], tuple[str, str]] = {}
_TEXTS_MAX = 256


def _second_text(
    seconds: int, zone: tzinfo | None, moment: datetime | None = None
) -> tuple[str, str]:
    key = (seconds, zone)
    parts = _TEXTS.get(key)
    if parts is None:
        if moment is None:
            moment = datetime.fromtimestamp(seconds, zone)
        text = moment.isoformat(timespec="seconds")
        parts = (text[:19], text[19:])
        if len(_TEXTS) >= _TEXTS_MAX:
            _TEXTS.clear()
        _TEXTS[key] = parts
    return parts


def rfc3339(moment: datetime) -> str:
    """``2026-08-21T15:52:00+00:00`` (seconds precision, the moment's own offset)."""
    # Keyed by the instant, not the datetime: same-zone datetimes compare by wall time.
    head, offset = _second_text(int(moment.timestamp()), moment.tzinfo, moment)
    return head + offset


def rfc3339_ns(ns: int, zone: tzinfo) -> str:
    """``2026-08-21T15:52:00.001234567+00:00`` (nanoseconds) in ``zone``."""
    seconds, fraction = divmod(ns, _NS)
    head, offset = _second_text(seconds, zone)
    return f"{head}.{fraction:09d}{offset}"
