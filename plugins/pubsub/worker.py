"""The ``iii-pubsub`` built-in worker."""

from __future__ import annotations

from typing import Any

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins.pubsub.adapters import PubSubAdapter, make_adapter
from plugins.pubsub.config import PubSubConfig
from plugins.pubsub.functions import PUBLISH_REQUEST_FORMAT, Publisher
from plugins.pubsub.trigger import SubscribeTriggerType

__all__ = ["PubSubWorker"]


class PubSubWorker(BuiltinWorker):
    """Registers ``publish`` and the ``subscribe`` trigger type over the configured adapter."""

    def __init__(self, config: PubSubConfig | None = None) -> None:
        self._config = config or PubSubConfig()
        self._adapter: PubSubAdapter | None = None
        self._trigger_type: SubscribeTriggerType | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Connect the adapter, then register the function and the trigger type."""
        adapter = make_adapter(self._config.adapter, self._deliver)
        await adapter.start()
        self._adapter = adapter
        self._trigger_type = SubscribeTriggerType(ctx, adapter)
        ctx.register_function(
            "publish",
            Publisher(adapter),
            description="Publish data to every subscriber of a topic (fire-and-forget)",
            request_format=PUBLISH_REQUEST_FORMAT,
        )
        ctx.register_trigger_type(self._trigger_type)

    async def stop(self) -> None:
        """Cancel pending deliveries and disconnect the adapter."""
        if self._trigger_type is not None:
            await self._trigger_type.close()
            self._trigger_type = None
        if self._adapter is not None:
            await self._adapter.stop()
            self._adapter = None

    def _deliver(self, topic: str, data: Any) -> None:
        if self._trigger_type is not None:
            self._trigger_type.deliver(topic, data)
