"""Registers the ``iii-http`` built-in worker (entry point ``http`` in the ``iii`` group)."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.http.config import HttpConfig
from plugins.http.worker import HttpWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-http`` (alias ``http``), enabled by default."""
    registry.add(
        WorkerSpec(
            name="iii-http",
            aliases=("http",),
            factory=HttpWorker,
            config_type=HttpConfig,
            default=True,
            description="HTTP server routing requests to functions through `http` triggers",
        )
    )
