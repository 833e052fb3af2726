"""The ``subscribe`` trigger type: every message published to a topic fires each binding."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from iii_sdk.errors import InvocationError
from iii_sdk.observer import trigger_span
from iii_sdk.plugin import (
    Trigger,
    TriggerContext,
    TriggerType,
    check_condition,
    decode_config,
)
from plugins.pubsub.adapters.base import PubSubAdapter
from plugins.pubsub.config import SubscribeConfig

__all__ = ["SubscribeTriggerType"]

log = logging.getLogger("iii.pubsub")


class _Subscription:
    __slots__ = ("condition", "function_id", "namespace", "topic")

    def __init__(self, trigger: Trigger, topic: str, condition: str | None) -> None:
        self.function_id = trigger.function_id
        self.namespace = trigger.namespace
        self.topic = topic
        self.condition = condition


class SubscribeTriggerType(TriggerType):
    """Provider of ``subscribe``; keeps the subscriptions and fans messages out to them.

    Delivery is fire-and-forget: the bound function gets the raw published ``data`` (no
    metadata), once per subscription per message; results and errors are discarded.
    """

    id = "subscribe"
    description = "Invokes the bound function with the data of every message published to a topic"
    trigger_request_format: Any = {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "description": "The topic to subscribe to"},
            "condition_function_id": {
                "type": "string",
                "description": "A function deciding per message whether to invoke (false skips)",
            },
        },
        "required": ["topic"],
    }
    call_request_format: Any = {"description": "The published data, as given to publish"}

    def __init__(self, ctx: TriggerContext, adapter: PubSubAdapter) -> None:
        self._ctx = ctx
        self._adapter = adapter
        self._by_topic: dict[str, dict[str, _Subscription]] = {}
        self._by_trigger: dict[str, _Subscription] = {}
        self._listening: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def register_trigger(self, trigger: Trigger) -> None:
        """Subscribe ``trigger`` to its topic (a missing topic only logs a warning)."""
        config = decode_config(trigger.config, SubscribeConfig)
        if trigger.id in self._by_trigger:
            await self.unregister_trigger(trigger)
        if not config.topic:
            log.warning("subscribe trigger %s has no topic; nothing subscribed", trigger.id)
            return
        subscription = _Subscription(trigger, config.topic, config.condition_function_id)
        self._by_trigger[trigger.id] = subscription
        self._by_topic.setdefault(config.topic, {})[trigger.id] = subscription
        try:
            await self._listen(config.topic)
        except BaseException:
            self._remove(trigger.id)
            raise

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Remove only this binding's subscription."""
        subscription = self._remove(trigger.id)
        if subscription is not None and subscription.topic not in self._by_topic:
            listening = self._listening.pop(subscription.topic, None)
            if listening is not None:
                listening.cancel()
                await self._adapter.unlisten(subscription.topic)

    def deliver(self, topic: str, data: Any) -> None:
        """Fan ``data`` out to every subscription of ``topic`` (the adapters' callback)."""
        subscriptions = self._by_topic.get(topic)
        if not subscriptions:
            return
        for subscription in list(subscriptions.values()):
            if subscription.condition:
                self._spawn(self._deliver_if(subscription, data))
                continue
            try:
                if self._ctx.observer is None:
                    self._ctx.invoke_void(
                        subscription.function_id, data, namespace=subscription.namespace
                    )
                else:
                    with trigger_span(self._ctx.observer, "subscribe", subscription.function_id):
                        self._ctx.invoke_void(
                            subscription.function_id, data, namespace=subscription.namespace
                        )
            except Exception as exc:
                log.debug("delivery to %s failed: %s", subscription.function_id, exc)

    async def close(self) -> None:
        """Cancel deliveries still waiting on a condition."""
        for task in list(self._tasks):
            task.cancel()
        for listening in self._listening.values():
            listening.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _remove(self, trigger_id: str) -> _Subscription | None:
        subscription = self._by_trigger.pop(trigger_id, None)
        if subscription is not None:
            topic_subs = self._by_topic.get(subscription.topic)
            if topic_subs is not None:
                topic_subs.pop(trigger_id, None)
                if not topic_subs:
                    del self._by_topic[subscription.topic]
        return subscription

    async def _listen(self, topic: str) -> None:
        # Concurrent registrations on one topic share one adapter subscription.
        listening = self._listening.get(topic)
        if listening is None:
            listening = asyncio.ensure_future(self._adapter.listen(topic))
            self._listening[topic] = listening
        try:
            await asyncio.shield(listening)
        except Exception:
            if self._listening.get(topic) is listening:
                del self._listening[topic]
            raise

    async def _deliver_if(self, subscription: _Subscription, data: Any) -> None:
        try:
            if not await check_condition(
                self._ctx, subscription.condition, data, subscription.namespace
            ):
                return
            with trigger_span(self._ctx.observer, "subscribe", subscription.function_id):
                self._ctx.invoke_void(
                    subscription.function_id, data, namespace=subscription.namespace
                )
        except InvocationError as exc:
            log.debug("delivery to %s skipped: %s", subscription.function_id, exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
