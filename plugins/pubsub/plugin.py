"""Registers the ``iii-pubsub`` built-in worker (entry point ``pubsub`` in the ``iii`` group)."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.pubsub.config import PubSubConfig
from plugins.pubsub.worker import PubSubWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-pubsub`` (alias ``pubsub``), enabled by default."""
    registry.add(
        WorkerSpec(
            name="iii-pubsub",
            aliases=("pubsub",),
            factory=PubSubWorker,
            config_type=PubSubConfig,
            default=True,
            description="Fire-and-forget topic broadcast: `publish` and `subscribe` triggers",
        )
    )
