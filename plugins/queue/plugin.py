"""Entry point (group ``iii``) registering the iii-queue built-in worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.queue.config import QueueConfig
from plugins.queue.worker import QueueWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-queue`` (alias ``queue``)."""
    registry.add(
        WorkerSpec(
            name="iii-queue",
            aliases=("queue",),
            factory=QueueWorker,
            config_type=QueueConfig,
            description="Durable queues: the enqueue action, retries, dead letters, topics",
        )
    )
