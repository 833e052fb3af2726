"""A ``RemoteContext`` that tells a test when each binding reached its trigger type.

Built-ins run out of process through :class:`iii_sdk.RemoteContext`; a test awaits ``ready``
(binding ids) instead of sleeping until a binding is in place.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from iii_sdk import RemoteContext, Worker
from iii_sdk.plugin import Trigger, TriggerType


class Announcing(TriggerType):
    """Wraps a provider to put each registered binding's id on ``ready``."""

    def __init__(self, inner: TriggerType, ready: asyncio.Queue[str]) -> None:
        self.id = inner.id
        self.description = inner.description
        self._inner = inner
        self._ready = ready

    async def register_trigger(self, trigger: Trigger) -> None:
        await self._inner.register_trigger(trigger)
        self._ready.put_nowait(trigger.id)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        await self._inner.unregister_trigger(trigger)


class AnnouncingContext(RemoteContext):
    """A remote context whose trigger types announce their bindings."""

    def __init__(
        self, worker: Worker, ready: asyncio.Queue[str], name: str, base_dir: Path | None = None
    ) -> None:
        if base_dir is None:
            super().__init__(worker, name=name)
        else:
            super().__init__(worker, name=name, base_dir=base_dir)
        self._ready = ready

    def register_trigger_type(self, trigger_type: TriggerType) -> None:
        super().register_trigger_type(Announcing(trigger_type, self._ready))
