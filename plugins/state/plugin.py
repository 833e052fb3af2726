"""Entry point (group ``iii``) registering the iii-state built-in worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.state.config import StateConfig
from plugins.state.worker import StateWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-state`` (alias ``state``)."""
    registry.add(
        WorkerSpec(
            name="iii-state",
            aliases=("state",),
            factory=StateWorker,
            config_type=StateConfig,
            default=True,
            description="Key/value state by scope and key, with change triggers",
        )
    )
