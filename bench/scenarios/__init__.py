"""The scenarios of the targets table (docs/benchmarks.md), in table order."""

from __future__ import annotations

from bench.scenarios.access import ACCESS_SCENARIOS
from bench.scenarios.base import Row, Scenario, Target
from bench.scenarios.cron import CRON_SCENARIOS
from bench.scenarios.http import HTTP_SCENARIOS
from bench.scenarios.idle import IDLE_SCENARIOS
from bench.scenarios.invoke import INVOKE_SCENARIOS
from bench.scenarios.observe import OBSERVE_SCENARIOS
from bench.scenarios.observers import OBSERVER_SCENARIOS
from bench.scenarios.queue import QUEUE_SCENARIOS
from bench.scenarios.scale import SCALE_SCENARIOS
from bench.scenarios.state import STATE_SCENARIOS
from bench.scenarios.stream import STREAM_SCENARIOS

__all__ = ["NOT_IN_HARNESS", "SCENARIOS", "Row", "Scenario", "Target", "by_name"]

_ORDER = [
    "floors",
    "1",
    "1b",
    "1c",
    "2",
    "3",
    "4",
    "5",
    "5b",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
]

NOT_IN_HARNESS: dict[str, str] = {
    "4": "fan-out: pubsub / trigger to 1, 8, 32, 128 subscribers",
}

SCENARIOS: list[Scenario] = sorted(
    [
        *INVOKE_SCENARIOS,
        *HTTP_SCENARIOS,
        *SCALE_SCENARIOS,
        *STATE_SCENARIOS,
        *QUEUE_SCENARIOS,
        *CRON_SCENARIOS,
        *STREAM_SCENARIOS,
        *ACCESS_SCENARIOS,
        *OBSERVE_SCENARIOS,
        *OBSERVER_SCENARIOS,
        *IDLE_SCENARIOS,
    ],
    key=lambda s: _ORDER.index(s.name),
)


def by_name(name: str) -> Scenario | None:
    """The scenario called ``name`` (``"1b"``, ``"7"``, ...), or None."""
    return next((s for s in SCENARIOS if s.name == name), None)
