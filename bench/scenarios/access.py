"""Scenario 12: sync invoke through a listener with ``rbac`` (auth at connect, grants per call)."""

from __future__ import annotations

from bench.cells import ws_cell
from bench.scenarios.base import Results, Row, Scenario, Target, ratio
from bench.scenarios.invoke import ENGINE_64
from bench.systems import engine, engine_available

RBAC_64 = ws_cell("engine rbac ws w64", lambda o: engine(o, rbac=True), window=64)


def _s16_rows(r: Results) -> list[Row]:
    return [
        Row(
            "rbac / no rbac rate, 64 in flight",
            ratio(r, (RBAC_64.key, "rate"), (ENGINE_64.key, "rate")),
            Target(">=", 0.9),
        ),
        Row(
            "rbac / no rbac engine CPU per invoke (info)",
            ratio(r, (RBAC_64.key, "cpu_us"), (ENGINE_64.key, "cpu_us")),
        ),
    ]


ACCESS_SCENARIOS = [
    Scenario(
        "16",
        "sync invoke with rbac configured vs the same without",
        lambda ctx: [ENGINE_64, RBAC_64],
        _s16_rows,
        engine_available,
    )
]

__all__ = ["ACCESS_SCENARIOS", "RBAC_64"]
