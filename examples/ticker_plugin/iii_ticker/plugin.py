"""The plugin module named by the ``iii`` entry point: it adds the ``iii-ticker`` worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from iii_ticker.config import TickerWorkerConfig
from iii_ticker.worker import TickerWorker

__all__ = ["iii_register_workers"]


@hookimpl
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Make ``iii-ticker`` (alias ``ticker``) available to ``workers:`` entries."""
    registry.add(
        WorkerSpec(
            name="iii-ticker",
            aliases=("ticker",),
            factory=TickerWorker,
            config_type=TickerWorkerConfig,
            description="Example third-party plugin: `ticker` triggers fire every interval_ms",
        )
    )
