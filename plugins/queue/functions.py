"""The functions of iii-queue (workers.md §6.3) plus ``engine::queue::enqueue``.

Result shapes and error codes follow the spec; a name given to redrive/stats/dlq functions
resolves to the named queue if ``queue_configs`` has it, else to the topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from iii_sdk.errors import InvocationError
from iii_sdk.plugin import WorkerContext, decode_input
from plugins.queue.adapters.base import QueueAdapter, QueueStats
from plugins.queue.clock import Clock
from plugins.queue.config import NamedQueueConfig
from plugins.queue.job import Job, named_key, parse_key
from plugins.queue.trigger import Subscriptions

__all__ = ["QueueFunctions"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

MESSAGE_TOO_LARGE = "message_too_large"


class EnqueueInput(msgspec.Struct, rename={"message_receipt_id": "messageReceiptId"}):
    """Input of ``engine::queue::enqueue`` (what the engine sends for an enqueue action)."""

    queue: str
    function_id: str
    data: Any = None
    message_receipt_id: str | None = None
    traceparent: str | None = None
    baggage: str | None = None
    namespace: str = "default"


class PublishInput(msgspec.Struct):
    """Input of ``iii::durable::publish``."""

    topic: str = ""
    data: Any = None


class QueueNameInput(msgspec.Struct):
    """``{queue}`` (alias ``topic``), plus ``message_id`` for the per-message functions."""

    queue: str | None = None
    topic: str | None = None
    message_id: str | None = None
    offset: int = 0
    limit: int = 50

    def name(self) -> str:
        """The queue or topic named."""
        return self.queue or self.topic or ""


class QueueFunctions:
    """The function handlers of one iii-queue worker."""

    def __init__(
        self,
        adapter: QueueAdapter,
        named: dict[str, NamedQueueConfig],
        subscriptions: Subscriptions,
        *,
        max_message_bytes: int,
        clock_of: Callable[[], Clock],
    ) -> None:
        self.adapter = adapter
        self.named = named
        self.subscriptions = subscriptions
        self.max_message_bytes = max_message_bytes
        self.clock_of = clock_of

    def register(self, ctx: WorkerContext) -> None:
        """Register every function on ``ctx``."""
        table: list[tuple[str, Callable[[Any], Awaitable[Any]], str]] = [
            ("engine::queue::enqueue", self.enqueue, "Store a job in a named queue"),
            ("iii::durable::publish", self.publish, "Publish to every durable subscriber"),
            ("iii::queue::redrive", self.redrive, "Requeue every dead letter of a queue"),
            ("iii::queue::redrive_message", self.redrive_message, "Requeue one dead letter"),
            ("iii::queue::discard_message", self.discard_message, "Delete one dead letter"),
            ("engine::queue::list_topics", self.list_topics, "Topics and named queues"),
            ("engine::queue::topic_stats", self.topic_stats, "Depth of a topic or queue"),
            ("engine::queue::dlq_topics", self.dlq_topics, "Queues with dead letters"),
            ("engine::queue::dlq_messages", self.dlq_messages, "Dead letters of a queue"),
            ("engine::queue::list_queues", self.list_queues, "Every queue with its counts"),
        ]
        for function_id, handler, description in table:
            ctx.register_function(function_id, handler, description=description)

    # --- producing -----------------------------------------------------------------------------

    def _measure(self, data: Any) -> msgspec.Raw:
        raw = _encode(data)
        if len(raw) > self.max_message_bytes:
            raise InvocationError(
                MESSAGE_TOO_LARGE,
                f"Message size {len(raw)} bytes exceeds the limit of "
                f"{self.max_message_bytes} bytes",
            )
        return msgspec.Raw(raw)

    async def enqueue(self, payload: Any) -> dict[str, str]:
        """Store one job in a named queue; answer once it is durable."""
        request = decode_input(payload, EnqueueInput, "engine::queue::enqueue")
        config = self.named.get(request.queue)
        if config is None:
            raise InvocationError("queue_not_found", f"Queue '{request.queue}' not found")
        group = None
        if config.type == "fifo":
            group = self._group(request.queue, config, request.data)
        data = self._measure(request.data)
        now = self.clock_of().now()
        job = Job(
            id=request.message_receipt_id or str(uuid.uuid4()),
            queue=named_key(request.queue),
            function_id=request.function_id,
            data=data,
            namespace=request.namespace,
            group=group,
            max_attempts=config.max_retries,
            backoff_ms=config.backoff_ms,
            timeout_ms=config.timeout_ms,
            enqueued_at=now,
            traceparent=request.traceparent,
            baggage=request.baggage,
        )
        await self.adapter.push([job])
        return {"messageReceiptId": job.id}

    @staticmethod
    def _group(queue: str, config: NamedQueueConfig, data: Any) -> str:
        field = config.message_group_field or ""
        if not isinstance(data, dict) or field not in data:
            raise InvocationError(
                "message_group_missing",
                f"FIFO queue '{queue}' requires field '{field}' in data, but it was not found",
            )
        value = data[field]
        if value is None:
            raise InvocationError(
                "message_group_missing",
                f"FIFO queue '{queue}' requires field '{field}' in data, but it must not be null",
            )
        return value if isinstance(value, str) else _encode(value).decode()

    async def publish(self, payload: Any) -> None:
        """Fan ``data`` out to every subscribed function of ``topic``."""
        request = decode_input(payload, PublishInput, "iii::durable::publish")
        if not request.topic:
            raise InvocationError("topic_not_set", "Topic is not set")
        data = self._measure(request.data)
        now = self.clock_of().now()
        jobs = []
        for key, spec in self.subscriptions.targets(request.topic).items():
            _, _, rest = key.partition("\x1f")
            _, namespace, function_id = rest.split("\x1f", 2)
            jobs.append(
                Job(
                    id=str(uuid.uuid4()),
                    queue=key,
                    function_id=function_id,
                    data=data,
                    namespace=namespace,
                    group="" if spec.fifo else None,
                    max_attempts=spec.max_attempts,
                    backoff_ms=spec.backoff_ms,
                    timeout_ms=spec.timeout_ms,
                    enqueued_at=now,
                )
            )
        if jobs:
            await self.adapter.push(jobs)

    # --- dead letters --------------------------------------------------------------------------

    async def _keys(self, name: str) -> list[str]:
        if name in self.named:
            return [named_key(name)]
        keys = set(self.subscriptions.targets(name))
        keys.update(k for k in await self.adapter.keys() if parse_key(k) == ("topic", name))
        return sorted(keys)

    async def redrive(self, payload: Any) -> dict[str, Any]:
        """``{queue}`` -> ``{queue, redriven}``."""
        request = decode_input(payload, QueueNameInput, "iii::queue::redrive")
        name = request.name()
        if not name:
            raise InvocationError("queue_not_set", "Queue is not set")
        try:
            count = 0
            for key in await self._keys(name):
                count += await self.adapter.redrive(key)
        except Exception as exc:
            raise InvocationError("redrive_failed", f"Failed to redrive: {exc}") from exc
        return {"queue": name, "redriven": count}

    async def _one(self, payload: Any, function_id: str, action: str) -> dict[str, Any]:
        request = decode_input(payload, QueueNameInput, function_id)
        name = request.name()
        if not name:
            raise InvocationError("queue_not_set", "Queue is not set")
        if not request.message_id:
            raise InvocationError("message_id_not_set", "Message ID is not set")
        try:
            count = 0
            for key in await self._keys(name):
                if action == "redrive":
                    count += await self.adapter.redrive(key, request.message_id)
                else:
                    count += await self.adapter.discard(key, request.message_id)
        except Exception as exc:
            raise InvocationError(
                f"{action}_message_failed", f"Failed to {action} message: {exc}"
            ) from exc
        return {"queue": name, "message_id": request.message_id, "redriven": min(count, 1)}

    async def redrive_message(self, payload: Any) -> dict[str, Any]:
        """``{queue, message_id}`` -> ``{queue, message_id, redriven: 0|1}``."""
        return await self._one(payload, "iii::queue::redrive_message", "redrive")

    async def discard_message(self, payload: Any) -> dict[str, Any]:
        """``{queue, message_id}`` -> ``{queue, message_id, redriven: 0|1}`` (upstream's field)."""
        return await self._one(payload, "iii::queue::discard_message", "discard")

    # --- introspection -------------------------------------------------------------------------

    async def _stats(self, name: str) -> QueueStats:
        total = QueueStats()
        for key in await self._keys(name):
            stats = await self.adapter.stats(key)
            total.waiting += stats.waiting
            total.in_flight += stats.in_flight
            total.dead += stats.dead
        return total

    async def _topics(self) -> list[str]:
        topics = set(self.subscriptions.by_topic)
        topics.update(
            name for kind, name in map(parse_key, await self.adapter.keys()) if kind == "topic"
        )
        return sorted(topics)

    async def list_topics(self, payload: Any = None) -> list[dict[str, Any]]:
        """Topics with subscribers (``builtin``) and every named queue (``function_queue``)."""
        rows: list[dict[str, Any]] = [
            {
                "name": topic,
                "broker_type": "builtin",
                "subscriber_count": self.subscriptions.bindings_of(topic),
            }
            for topic in sorted(self.subscriptions.by_topic)
        ]
        rows += [
            {"name": name, "broker_type": "function_queue", "subscriber_count": config.concurrency}
            for name, config in self.named.items()
        ]
        return rows

    async def topic_stats(self, payload: Any) -> dict[str, Any]:
        """``{topic}`` -> ``{depth, consumer_count, dlq_depth, config: null}``."""
        request = decode_input(payload, QueueNameInput, "engine::queue::topic_stats")
        name = request.topic or request.queue
        if not name:
            raise InvocationError("topic_required", "Topic is required")
        stats = await self._stats(name)
        config = self.named.get(name)
        consumers = config.concurrency if config else self.subscriptions.bindings_of(name)
        return {
            "depth": stats.waiting + stats.in_flight,
            "consumer_count": consumers,
            "dlq_depth": stats.dead,
            "config": None,
        }

    async def dlq_topics(self, payload: Any = None) -> list[dict[str, Any]]:
        """``[{topic, broker_type, message_count}]`` of every queue holding dead letters."""
        rows = []
        for name in self.named:
            dead = (await self._stats(name)).dead
            if dead:
                rows.append({"topic": name, "broker_type": "function_queue", "message_count": dead})
        for topic in await self._topics():
            if topic in self.named:
                continue
            dead = (await self._stats(topic)).dead
            if dead:
                rows.append({"topic": topic, "broker_type": "builtin", "message_count": dead})
        return rows

    async def dlq_messages(self, payload: Any) -> list[dict[str, Any]]:
        """``{topic, offset, limit}`` -> dead letters, oldest failure first."""
        request = decode_input(payload, QueueNameInput, "engine::queue::dlq_messages")
        name = request.topic or request.queue
        if not name:
            raise InvocationError("topic_required", "Topic is required")
        jobs: list[Job] = []
        for key in await self._keys(name):
            jobs += await self.adapter.dead_letters(key, 0, request.offset + request.limit)
        jobs.sort(key=lambda job: job.failed_at or 0.0)
        return [
            {
                "id": job.id,
                "payload": _decode(job.data),
                "error": job.error,
                "failed_at": int(job.failed_at or 0),
                "retries": job.attempts,
                "size_bytes": len(job.data),
            }
            for job in jobs[request.offset : request.offset + request.limit]
        ]

    async def list_queues(self, payload: Any = None) -> list[dict[str, Any]]:
        """Every named queue and topic with ``waiting`` / ``in_flight`` / ``dead_lettered``."""
        rows = []
        for kind, names in (("queue", list(self.named)), ("topic", await self._topics())):
            for name in names:
                if kind == "topic" and name in self.named:
                    continue
                stats = await self._stats(name)
                rows.append(
                    {
                        "name": name,
                        "kind": kind,
                        "waiting": stats.waiting,
                        "in_flight": stats.in_flight,
                        "dead_lettered": stats.dead,
                    }
                )
        return rows
