"""Scenario 15: the cost of tracing (iii-observability) on sync invokes at 64 in flight.

Three engines, same raw client and raw worker: without the observability plugin at all (no
observer: the router's untraced paths), with ``enabled: false`` (the plugin runs, the engine has
no observer) and with tracing on at sampling 1.0 into the memory store (a span per call).
"""

from __future__ import annotations

from functools import partial

from bench.cells import ws_cell
from bench.scenarios.base import Results, Row, Scenario, Target, metric, ratio
from bench.systems import engine, engine_available

NO_PLUGIN_64 = ws_cell(
    "engine ws w64 observability plugin blocked",
    partial(engine, block_observability=True),
    window=64,
)
DISABLED_64 = ws_cell(
    "engine ws w64 observability enabled:false",
    partial(engine, observability={"enabled": False}),
    window=64,
)
TRACED_64 = ws_cell(
    "engine ws w64 tracing on (sampling 1.0, memory)",
    partial(engine, observability={"enabled": True, "sampling_ratio": 1.0, "exporter": "memory"}),
    window=64,
)


def _rows(r: Results) -> list[Row]:
    rows = [
        Row(
            "tracing on / off rate, 64 in flight",
            ratio(r, (TRACED_64.key, "rate"), (NO_PLUGIN_64.key, "rate")),
            Target(">=", 0.85),
        ),
        Row(
            "enabled:false / off rate, 64 in flight",
            ratio(r, (DISABLED_64.key, "rate"), (NO_PLUGIN_64.key, "rate")),
            Target(">=", 0.97),
        ),
    ]
    for label, cell in (
        ("off", NO_PLUGIN_64),
        ("enabled:false", DISABLED_64),
        ("tracing on", TRACED_64),
    ):
        rows.append(Row(f"engine CPU per call, {label}", metric(r, cell.key, "cpu_us"), unit="us"))
    return rows


OBSERVE_SCENARIOS = [
    Scenario(
        "15",
        "tracing overhead: sync invoke, 64 in flight, tracing on / enabled:false / off",
        lambda ctx: [NO_PLUGIN_64, DISABLED_64, TRACED_64],
        _rows,
        skip=engine_available,
    )
]
