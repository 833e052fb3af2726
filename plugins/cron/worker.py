"""The iii-cron built-in worker: the ``cron`` trigger type and ``cron::list``."""

from __future__ import annotations

from typing import Any

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins.cron.adapters import CronLock, create_lock
from plugins.cron.clock import Clock, SystemClock
from plugins.cron.config import CronConfig, resolve_lock
from plugins.cron.scheduler import Scheduler
from plugins.cron.trigger import CronTriggerType

__all__ = ["LIST_FUNCTION", "CronWorker"]

LIST_FUNCTION = "cron::list"


class CronWorker(BuiltinWorker):
    """Schedules ``cron`` bindings; ``clock`` is injectable (tests move time by hand)."""

    def __init__(self, config: CronConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or CronConfig()
        self.clock: Clock = clock or SystemClock()
        self.lock: CronLock | None = None
        self.scheduler: Scheduler | None = None
        self.triggers: CronTriggerType | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Open the lock backend, then provide the ``cron`` trigger type."""
        lock = create_lock(resolve_lock(self.config))
        await lock.open()
        self.lock = lock
        self.scheduler = Scheduler(ctx, lock, self.clock)
        self.triggers = CronTriggerType(ctx, self.scheduler)
        ctx.register_trigger_type(self.triggers)
        ctx.register_function(
            LIST_FUNCTION,
            self._list,
            description="Cron jobs with their function, expression and next run times",
            request_format={
                "type": "object",
                "properties": {"count": {"type": "integer", "minimum": 0, "maximum": 100}},
            },
        )

    async def _list(self, payload: Any) -> dict[str, Any]:
        count = 3
        if isinstance(payload, dict) and isinstance(payload.get("count"), int):
            count = max(0, min(100, payload["count"]))
        assert self.triggers is not None
        return {"jobs": self.triggers.list_jobs(count)}

    def use_clock(self, clock: Clock) -> None:
        """Schedule on ``clock`` from now on (tests; call before bindings arrive)."""
        self.clock = clock
        if self.scheduler is not None:
            self.scheduler.clock = clock

    async def stop(self) -> None:
        """Stop every job, then close the lock backend."""
        if self.scheduler is not None:
            await self.scheduler.close()
            self.scheduler = None
        if self.lock is not None:
            await self.lock.close()
            self.lock = None
