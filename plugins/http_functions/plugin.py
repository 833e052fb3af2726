"""Registers ``iii-http-functions`` (entry point ``http_functions`` in the ``iii`` group)."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.http_functions.config import HttpFunctionsConfig
from plugins.http_functions.worker import HttpFunctionsWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-http-functions`` (alias ``http-functions``); opt-in, like upstream."""
    registry.add(
        WorkerSpec(
            name="iii-http-functions",
            aliases=("http-functions",),
            factory=HttpFunctionsWorker,
            config_type=HttpFunctionsConfig,
            description="Functions the engine calls over HTTP (registered with `invocation`)",
        )
    )
