"""Entry point (group ``iii``) registering the iii-stream built-in worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.stream.config import StreamConfig
from plugins.stream.worker import StreamWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-stream`` (alias ``stream``)."""
    registry.add(
        WorkerSpec(
            name="iii-stream",
            aliases=("stream",),
            factory=StreamWorker,
            config_type=StreamConfig,
            default=True,
            description="Realtime streams with WebSocket subscriptions and change triggers",
        )
    )
