"""iii-cron: scheduled triggers (workers.md §7).

The ``cron`` trigger type fires a function on a cron expression with upstream's semantics
(:mod:`plugins.cron.expression`, evaluated by croniter), plus an optional IANA ``timezone``.
Runs of one job never overlap and missed ticks are skipped (:mod:`plugins.cron.scheduler`).
Locks (:mod:`plugins.cron.adapters`): ``kv`` in-process, or ``redis`` so that several engines
sharing a Redis fire each tick exactly once. Time is injectable (:mod:`plugins.cron.clock`).
"""

from plugins.cron.config import CronConfig
from plugins.cron.worker import CronWorker

__all__ = ["CronConfig", "CronWorker"]
