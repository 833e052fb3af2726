"""The ``iii-ticker`` worker: provides the ``ticker`` trigger type and ``ticker::status``."""

from __future__ import annotations

from typing import Any

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from iii_ticker.config import TickerWorkerConfig
from iii_ticker.trigger import TickerTriggerType

__all__ = ["TickerWorker"]


class TickerWorker(BuiltinWorker):
    """Started by the engine for a ``workers: [{name: iii-ticker}]`` entry."""

    def __init__(self, config: TickerWorkerConfig | None = None) -> None:
        self._config = config or TickerWorkerConfig()
        self._trigger_type: TickerTriggerType | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Register the trigger type and a small introspection function."""
        self._trigger_type = TickerTriggerType(ctx, min_interval_ms=self._config.min_interval_ms)
        ctx.register_trigger_type(self._trigger_type)
        ctx.register_function(
            "ticker::status",
            self._status,
            description="How many times each live ticker binding has fired",
        )

    async def stop(self) -> None:
        """Stop every ticker (the engine removes the registrations)."""
        if self._trigger_type is not None:
            await self._trigger_type.close()
            self._trigger_type = None

    async def _status(self, payload: Any) -> dict[str, Any]:
        fires = dict(self._trigger_type.fires) if self._trigger_type else {}
        return {"fires": fires}
