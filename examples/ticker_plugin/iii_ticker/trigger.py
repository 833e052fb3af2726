"""The ``ticker`` trigger type."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from iii_sdk.errors import InvocationError
from iii_sdk.plugin import Trigger, TriggerContext, TriggerType, decode_config
from iii_ticker.config import TickerConfig

__all__ = ["TickerTriggerType"]

log = logging.getLogger("iii.ticker")


class TickerTriggerType(TriggerType):
    """Fires each binding's function every ``interval_ms`` with ``{trigger, trigger_id, fire,
    scheduled_at}`` and the binding's metadata.

    Ticks keep a fixed rate: a late tick does not shift the following ones, and ticks missed
    while the loop was busy are skipped rather than fired in a burst.
    """

    id = "ticker"
    description = "Invokes the bound function every interval_ms milliseconds"
    trigger_request_format: Any = {
        "type": "object",
        "properties": {
            "interval_ms": {"type": "integer", "minimum": 1},
            "max_fires": {"type": "integer", "minimum": 1},
        },
        "required": ["interval_ms"],
    }
    call_request_format: Any = {
        "type": "object",
        "properties": {
            "trigger": {"const": "ticker"},
            "trigger_id": {"type": "string"},
            "fire": {"type": "integer", "description": "1 for the first tick"},
            "scheduled_at": {"type": "string", "format": "date-time"},
        },
    }

    def __init__(self, ctx: TriggerContext, *, min_interval_ms: int = 1) -> None:
        self._ctx = ctx
        self._min_interval_ms = min_interval_ms
        self._tickers: dict[str, asyncio.Task[None]] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self.fires: dict[str, int] = {}
        """How many times each live binding has fired."""

    async def register_trigger(self, trigger: Trigger) -> None:
        """Start ticking for ``trigger``; reject a bad config (the text reaches the registrant)."""
        config = decode_config(trigger.config, TickerConfig)
        if config.interval_ms < self._min_interval_ms:
            raise ValueError(f"interval_ms must be at least {self._min_interval_ms}")
        if config.max_fires is not None and config.max_fires < 1:
            raise ValueError("max_fires must be at least 1")
        await self.unregister_trigger(trigger)
        self.fires[trigger.id] = 0
        self._tickers[trigger.id] = asyncio.create_task(
            self._tick(trigger, config), name=f"ticker-{trigger.id}"
        )

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Stop ticking for ``trigger``."""
        task = self._tickers.pop(trigger.id, None)
        self.fires.pop(trigger.id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """Stop every ticker."""
        tasks = [*self._tickers.values(), *self._inflight]
        self._tickers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _tick(self, trigger: Trigger, config: TickerConfig) -> None:
        loop = asyncio.get_running_loop()
        interval = config.interval_ms / 1000
        start_loop, start_wall = loop.time(), datetime.now(UTC).timestamp()
        tick = 0
        while config.max_fires is None or self.fires.get(trigger.id, 0) < config.max_fires:
            tick += 1
            due = start_loop + tick * interval
            delay = due - loop.time()
            if delay < -interval:
                tick += int(-delay // interval)  # skip the ticks we are too late for
                continue
            await asyncio.sleep(max(delay, 0))
            self.fires[trigger.id] = fire = self.fires.get(trigger.id, 0) + 1
            scheduled = datetime.fromtimestamp(start_wall + tick * interval, UTC)
            payload = {
                "trigger": "ticker",
                "trigger_id": trigger.id,
                "fire": fire,
                "scheduled_at": scheduled.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            # Fire and forget: a slow handler must not delay the next tick.
            task = asyncio.create_task(self._fire(trigger, payload))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _fire(self, trigger: Trigger, payload: dict[str, Any]) -> None:
        try:
            await self._ctx.invoke(
                trigger.function_id,
                payload,
                metadata=trigger.metadata,
                namespace=trigger.namespace,
            )
        except InvocationError as exc:
            log.warning("ticker %s: %s failed: %s", trigger.id, trigger.function_id, exc)
