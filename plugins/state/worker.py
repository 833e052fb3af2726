"""The iii-state built-in worker: server-side key/value storage with change triggers."""

from __future__ import annotations

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins.state.adapters import StateAdapter, create_adapter
from plugins.state.config import StateConfig, resolve_adapter
from plugins.state.functions import StateFunctions
from plugins.state.trigger import StateTriggerType

__all__ = ["StateWorker"]


class StateWorker(BuiltinWorker):
    """Registers ``state::set/get/delete/update/list/list_groups`` and the ``state`` trigger."""

    def __init__(self, config: StateConfig | None = None) -> None:
        self.config = config or StateConfig()
        self.adapter: StateAdapter | None = None
        self.triggers: StateTriggerType | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Open the store, then register the trigger type and the functions."""
        adapter = create_adapter(resolve_adapter(self.config, ctx.base_dir), ctx.logger)
        await adapter.open()
        self.adapter = adapter
        self.triggers = StateTriggerType(ctx, enabled=self.config.triggers_enabled)
        if self.config.triggers_enabled:
            self.triggers.start()
            ctx.register_trigger_type(self.triggers)
        # Disabled: the type is not provided at all, so bindings stay parked (visibly pending
        # in the engine) instead of being accepted and silently never fired.
        functions = StateFunctions(
            adapter, self.triggers, max_value_bytes=self.config.max_value_bytes
        )
        functions.register(ctx)

    async def stop(self) -> None:
        """Stop event delivery, then flush and close the store."""
        if self.triggers is not None:
            await self.triggers.close()
            self.triggers = None
        if self.adapter is not None:
            await self.adapter.close()
            self.adapter = None
