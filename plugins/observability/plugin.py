"""Entry point (group ``iii``) registering the iii-observability built-in worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.observability.config import ObservabilityConfig
from plugins.observability.worker import ObservabilityWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-observability`` (alias ``observability``); the engine always runs it."""
    registry.add(
        WorkerSpec(
            name="iii-observability",
            aliases=("observability",),
            factory=ObservabilityWorker,
            config_type=ObservabilityConfig,
            default=True,
            description="Traces, logs and metrics, and the engine::* functions to query them",
        )
    )
