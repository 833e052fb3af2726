"""The ``durable:subscriber`` trigger type (alias id ``queue``): durable topic fan-out.

Every distinct (topic, namespace, function) gets its own internal queue: each function
subscribed to a topic receives every message published to it (fan-out), and several bindings of
the same function share that function's queue (competing consumers: each message runs once).
The payload is the published ``data`` verbatim, without metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from iii_sdk.plugin import Trigger, TriggerType, decode_config
from plugins.queue.adapters.base import JobRunner, QueueAdapter
from plugins.queue.config import SubscriberDefaults
from plugins.queue.job import QueueSpec, parse_key, topic_key

__all__ = ["SubscriberConfig", "SubscriberTriggerType", "Subscriptions"]

log = logging.getLogger("iii.queue")

ALIAS_ID = "queue"


class SubscriberQueueConfig(msgspec.Struct, kw_only=True, rename="camel"):
    """``queue_config`` of a binding (camelCase keys, as upstream)."""

    type: str | None = None
    concurrency: int | None = None
    max_retries: int | None = None
    backoff_delay_ms: int | None = None
    max_priority: int | None = None
    visibility_timeout: Any = None
    delay_seconds: Any = None
    backoff_type: Any = None
    timeout_ms: int | None = None


class SubscriberConfig(msgspec.Struct, kw_only=True):
    """Config of one ``durable:subscriber`` binding; unknown keys are ignored."""

    topic: str | None = None
    queue: str | None = None
    condition_function_id: str | None = None
    queue_config: SubscriberQueueConfig | None = None


@dataclass
class _Binding:
    key: str
    topic: str
    spec: QueueSpec


class Subscriptions:
    """Bindings by trigger id, and the subscriber queues of each topic."""

    def __init__(
        self,
        adapter: QueueAdapter,
        defaults: SubscriberDefaults,
        job_timeout_ms: int,
        runner_for: Callable[[QueueSpec], JobRunner],
    ) -> None:
        self.adapter = adapter
        self.defaults = defaults
        self.job_timeout_ms = job_timeout_ms
        self.runner_for = runner_for
        self.by_trigger: dict[str, _Binding] = {}
        self.by_key: dict[str, dict[str, _Binding]] = {}
        self.by_topic: dict[str, dict[str, QueueSpec]] = {}
        # Queues of functions that subscribed once and are not bound now (their worker is
        # reconnecting, or the engine restarted before they re-registered): publishing still
        # fills them, so a durable subscriber misses nothing while it is away.
        self.retained: dict[str, dict[str, QueueSpec]] = {}

    def spec(self, key: str, config: SubscriberConfig) -> QueueSpec:
        """The queue spec a binding asks for, over the adapter's defaults."""
        qc = config.queue_config or SubscriberQueueConfig()
        d = self.defaults
        fifo = qc.type == "fifo" if qc.type is not None else d.mode == "fifo"
        return QueueSpec(
            key=key,
            concurrency=max(1, qc.concurrency or d.concurrency),
            fifo=fifo,
            max_attempts=(qc.max_retries + 1) if qc.max_retries is not None else d.max_attempts,
            backoff_ms=qc.backoff_delay_ms if qc.backoff_delay_ms is not None else d.backoff_ms,
            timeout_ms=qc.timeout_ms or self.job_timeout_ms,
            condition_function_id=config.condition_function_id,
        )

    async def add(self, trigger: Trigger) -> None:
        """Subscribe ``trigger`` (a missing topic only logs a warning)."""
        config = decode_config(trigger.config, SubscriberConfig)
        if trigger.id in self.by_trigger:
            await self.remove(trigger.id)
        topic = config.topic or config.queue
        if not topic:
            log.warning(
                "durable:subscriber trigger %s has no topic; nothing subscribed", trigger.id
            )
            return
        key = topic_key(topic, trigger.namespace, trigger.function_id)
        spec = self.spec(key, config)
        binding = _Binding(key, topic, spec)
        self.by_trigger[trigger.id] = binding
        self.by_key.setdefault(key, {})[trigger.id] = binding
        self.by_topic.setdefault(topic, {})[key] = spec
        self.retained.get(topic, {}).pop(key, None)
        self.adapter.consume(spec, self.runner_for(spec))

    async def remove(self, trigger_id: str) -> None:
        """Unsubscribe one binding; its function's queue stops when no binding is left."""
        binding = self.by_trigger.pop(trigger_id, None)
        if binding is None:
            return
        others = self.by_key.get(binding.key, {})
        others.pop(trigger_id, None)
        if others:
            return
        self.by_key.pop(binding.key, None)
        topic_specs = self.by_topic.get(binding.topic, {})
        spec = topic_specs.pop(binding.key, None)
        if not topic_specs:
            self.by_topic.pop(binding.topic, None)
        if spec is not None:
            self.retained.setdefault(binding.topic, {})[binding.key] = spec
        await self.adapter.stop_consuming(binding.key)

    def retain(self, key: str) -> None:
        """Keep publishing into a stored subscriber queue found at start (default policy)."""
        _, topic = parse_key(key)
        if key not in self.by_topic.get(topic, {}):
            self.retained.setdefault(topic, {})[key] = self.spec(key, SubscriberConfig())

    def targets(self, topic: str) -> dict[str, QueueSpec]:
        """Every subscriber queue a message published to ``topic`` goes to."""
        return {**self.retained.get(topic, {}), **self.by_topic.get(topic, {})}

    def bindings_of(self, topic: str) -> int:
        """How many bindings listen on ``topic``."""
        return sum(len(self.by_key.get(key, {})) for key in self.by_topic.get(topic, {}))


class SubscriberTriggerType(TriggerType):
    """Provider of ``durable:subscriber`` (or of its alias id ``queue``)."""

    description = "Durable topic subscription: every published message, retried until it succeeds"
    trigger_request_format: Any = {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "description": "The topic to consume (alias: queue)"},
            "condition_function_id": {
                "type": "string",
                "description": "A function deciding per message whether to run (false skips)",
            },
            "queue_config": {
                "type": "object",
                "description": "type (fifo), concurrency, maxRetries, backoffDelayMs",
            },
        },
        "required": ["topic"],
    }
    call_request_format: Any = {"description": "The published data, as given to publish"}

    def __init__(self, subscriptions: Subscriptions, type_id: str = "durable:subscriber") -> None:
        self.id = type_id
        self.subscriptions = subscriptions

    async def register_trigger(self, trigger: Trigger) -> None:
        """Subscribe the binding."""
        await self.subscriptions.add(trigger)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Unsubscribe the binding."""
        await self.subscriptions.remove(trigger.id)
