"""Running one attempt of a job: the condition, the call, and the per-attempt timeout."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import msgspec

from iii_sdk import errors
from iii_sdk.errors import InvocationError
from iii_sdk.observer import trigger_span
from iii_sdk.plugin import TriggerContext, check_condition
from plugins.queue.adapters.base import Defer, JobRunner
from plugins.queue.clock import Clock
from plugins.queue.job import Job

__all__ = ["RunnerEnv", "make_runner"]

_decode = msgspec.json.Decoder().decode


class _Attempt:
    """The deadline of one attempt: cancels the attempt's own task (no extra task per job)."""

    __slots__ = ("running", "task", "timed_out")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.running = True
        self.timed_out = False

    def expire(self) -> None:
        if self.running:  # the attempt may have just finished, in this same loop pass
            self.timed_out = True
            self.task.cancel()


class RunnerEnv(Protocol):
    """What attempts read at run time (a test may swap the clock)."""

    clock: Clock
    missing_function_grace_until: float


def make_runner(
    ctx: TriggerContext, env: RunnerEnv, condition_function_id: str | None = None
) -> JobRunner:
    """A :data:`JobRunner` invoking each job's function in its namespace with its data.

    ``env.clock`` times attempts out. A condition that answers ``false`` completes the job
    without running it; a condition that fails counts as a failed attempt (workers.md §0.3).
    Until ``env.missing_function_grace_until`` (shortly after the queue started, while workers
    reconnect to a restarted engine) a function that is not registered defers the job instead
    of failing it.
    """

    async def call_untraced(job: Job) -> None:
        payload = _decode(job.data)
        if condition_function_id and not await check_condition(
            ctx, condition_function_id, payload, job.namespace
        ):
            return
        await ctx.invoke(job.function_id, payload, namespace=job.namespace)

    async def call(job: Job) -> None:
        observer = ctx.observer
        if observer is None:
            await call_untraced(job)
            return
        with trigger_span(observer, "queue", job.function_id, root=True):  # a trace per run
            await call_untraced(job)

    async def run(job: Job) -> str | None:
        clock = env.clock
        task = asyncio.current_task()
        assert task is not None
        attempt = _Attempt(task)
        timer = clock.call_at(clock.now() + job.timeout_ms / 1000.0, attempt.expire)
        try:
            await call(job)
        except asyncio.CancelledError:
            attempt.running = False
            if not attempt.timed_out or task.uncancel() > 0:
                raise  # cancelled from outside (closing), not by the deadline
            return f"timeout: no answer from {job.function_id} within {job.timeout_ms} ms"
        except InvocationError as exc:
            if (
                exc.code == errors.FUNCTION_NOT_FOUND
                and clock.now() < env.missing_function_grace_until
            ):
                return Defer(exc.message)
            return f"{exc.code}: {exc.message}"
        finally:
            attempt.running = False
            timer.cancel()
        return None

    return run
