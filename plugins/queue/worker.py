"""The iii-queue built-in worker: durable named queues, the enqueue action, topic subscribers."""

from __future__ import annotations

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins.queue.adapters import QueueAdapter, create_adapter
from plugins.queue.adapters.base import JobRunner
from plugins.queue.clock import Clock, SystemClock
from plugins.queue.config import QueueConfig, named_queues, resolve_adapter
from plugins.queue.functions import QueueFunctions
from plugins.queue.job import QueueSpec, named_key, parse_key
from plugins.queue.runner import make_runner
from plugins.queue.trigger import ALIAS_ID, SubscriberTriggerType, Subscriptions

__all__ = ["QueueWorker"]


class QueueWorker(BuiltinWorker):
    """Registers ``engine::queue::enqueue``, the §6.3 functions and ``durable:subscriber``."""

    def __init__(self, config: QueueConfig | None = None) -> None:
        self.config = config or QueueConfig()
        self.named = named_queues(self.config)
        self.clock: Clock = SystemClock()
        self.missing_function_grace_until = 0.0
        self.adapter: QueueAdapter | None = None
        self.subscriptions: Subscriptions | None = None

    def set_clock(self, clock: Clock) -> None:
        """Time retries, delays and timeouts with ``clock`` from now on (for tests)."""
        self.clock = clock
        self.missing_function_grace_until = (
            clock.now() + self.config.missing_function_grace_ms / 1000
        )
        if self.adapter is not None:
            self.adapter.clock = clock

    async def start(self, ctx: WorkerContext) -> None:
        """Open the store, start the named queues' consumers, register everything."""
        grace = self.config.missing_function_grace_ms / 1000
        self.missing_function_grace_until = self.clock.now() + grace
        choice = resolve_adapter(self.config, ctx.base_dir)
        adapter = create_adapter(choice, ctx.logger, self.clock)
        await adapter.open()
        self.adapter = adapter

        def runner_for(spec: QueueSpec) -> JobRunner:
            return make_runner(ctx, self, spec.condition_function_id)

        for name, queue in self.named.items():
            spec = QueueSpec(
                key=named_key(name),
                concurrency=queue.concurrency,
                fifo=queue.type == "fifo",
                group_field=queue.message_group_field,
                max_attempts=queue.max_retries,
                backoff_ms=queue.backoff_ms,
                timeout_ms=queue.timeout_ms,
            )
            adapter.consume(spec, runner_for(spec))
        self.subscriptions = Subscriptions(
            adapter, choice.defaults, self.config.job_timeout_ms, runner_for
        )
        for key in await adapter.keys():
            if parse_key(key)[0] == "topic":
                self.subscriptions.retain(key)
        ctx.register_trigger_type(SubscriberTriggerType(self.subscriptions))
        ctx.register_trigger_type(SubscriberTriggerType(self.subscriptions, ALIAS_ID))
        QueueFunctions(
            adapter,
            self.named,
            self.subscriptions,
            max_message_bytes=self.config.max_message_bytes,
            clock_of=lambda: self.clock,
        ).register(ctx)

    async def stop(self) -> None:
        """Stop consuming and close the store (jobs in flight stay stored as waiting)."""
        if self.adapter is not None:
            await self.adapter.close()
            self.adapter = None
