"""Entry point (group ``iii``) registering the iii-console built-in worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.console.config import ConsoleConfig
from plugins.console.worker import ConsoleWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-console`` (alias ``console``)."""
    registry.add(
        WorkerSpec(
            name="iii-console",
            aliases=("console",),
            factory=ConsoleWorker,
            config_type=ConsoleConfig,
            default=True,
            description="Web console: workers, functions, triggers, state, streams, queues, traces",
        )
    )
