"""The ``cron`` trigger type: bindings fired on a cron schedule (workers.md §7.1).

A binding's config is ``{expression, condition_function_id?, timezone?}``; ``timezone`` (an
IANA name) is ours, upstream evaluates every expression in UTC. Registration errors, as
upstream words them, reach the registrant as ``trigger_registration_failed``:

* ``Cron expression is required`` (missing or empty ``expression``);
* ``Invalid cron expression '<expr>': <reason>``;
* ``Cron job '<id>' is already registered``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from iii_sdk.plugin import Trigger, TriggerContext, TriggerType, decode_config
from plugins.cron.clock import from_ns
from plugins.cron.expression import CronExpressionError, parse_expression
from plugins.cron.scheduler import CronJob, Scheduler, rfc3339

__all__ = ["CronTriggerConfig", "CronTriggerType"]


class CronTriggerConfig(msgspec.Struct):
    """A binding's config (unknown keys are ignored, as upstream)."""

    expression: str | None = None
    condition_function_id: str | None = None
    timezone: str | None = None


_CONFIG_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "expression": {
            "type": "string",
            "description": (
                "sec min hour day-of-month month day-of-week [year], e.g. '0 */5 * * * *'; "
                "day-of-week 1-7 with 1 = Sunday; @hourly, @daily, @weekly, @monthly, @yearly"
            ),
        },
        "condition_function_id": {
            "type": "string",
            "description": "Called with the payload first; a false result skips the run",
        },
        "timezone": {
            "type": "string",
            "description": "IANA time zone the expression is read in (default UTC)",
        },
    },
    "required": ["expression"],
}
_PAYLOAD_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "trigger": {"const": "cron"},
        "job_id": {"type": "string"},
        "scheduled_time": {"type": "string", "format": "date-time"},
        "actual_time": {"type": "string", "format": "date-time"},
    },
    "required": ["trigger", "job_id", "scheduled_time", "actual_time"],
}


class CronTriggerType(TriggerType):
    """Provider of the ``cron`` trigger type for one iii-cron worker."""

    id = "cron"
    description = "Fires the bound function on a cron schedule (seconds field, UTC by default)"
    trigger_request_format = _CONFIG_SCHEMA
    call_request_format = _PAYLOAD_SCHEMA

    def __init__(self, ctx: TriggerContext, scheduler: Scheduler) -> None:
        self._ctx = ctx
        self.scheduler = scheduler

    async def register_trigger(self, trigger: Trigger) -> None:
        """Validate the binding and start its schedule; raise to reject it."""
        config = decode_config(trigger.config, CronTriggerConfig)
        expression = (config.expression or "").strip()
        if not expression:
            raise ValueError("Cron expression is required")
        try:
            schedule = parse_expression(expression, config.timezone)
        except CronExpressionError as exc:
            raise ValueError(f"Invalid cron expression '{config.expression}': {exc}") from exc
        if trigger.id in self.scheduler.jobs:
            raise ValueError(f"Cron job '{trigger.id}' is already registered")
        job = CronJob(trigger, schedule, config.condition_function_id or None)
        self.scheduler.add(job)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Stop the binding's schedule (a run in progress is cancelled)."""
        await self.scheduler.remove(trigger.id)

    def list_jobs(self, count: int = 3) -> list[dict[str, Any]]:
        """Every job with its function, expression and next ``count`` run times."""
        now = from_ns(self.scheduler.clock.time_ns())
        rows = []
        for job in sorted(self.scheduler.jobs.values(), key=lambda j: j.trigger.function_id):
            trigger = job.trigger
            rows.append(
                {
                    "id": job.id,
                    "function_id": trigger.function_id,
                    "namespace": trigger.namespace,
                    "expression": job.schedule.expression,
                    "timezone": job.schedule.timezone or "UTC",
                    "condition_function_id": job.condition_function_id,
                    "next_runs": [rfc3339(t) for t in job.schedule.upcoming(now, count)],
                    "runs": job.runs,
                    "skipped": job.skipped,
                }
            )
        return rows
