"""Entry point (group ``iii``) registering the iii-cron built-in worker."""

from __future__ import annotations

from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import WorkerRegistry, WorkerSpec
from plugins.cron.config import CronConfig
from plugins.cron.worker import CronWorker

__all__ = ["iii_register_workers"]


@hookimpl(trylast=True)
def iii_register_workers(registry: WorkerRegistry) -> None:
    """Add ``iii-cron`` (alias ``cron``)."""
    registry.add(
        WorkerSpec(
            name="iii-cron",
            aliases=("cron",),
            factory=CronWorker,
            config_type=CronConfig,
            default=True,
            description="Cron schedules (seconds field, optional time zone), once per tick",
        )
    )
