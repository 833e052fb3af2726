"""Scenario 14: stream fan-out, one writer to 1 / 100 / 1,000 subscribed WebSockets."""

from __future__ import annotations

from bench.fanout import fanout_cell
from bench.scenarios.base import Results, Row, Scenario, Target, metric, ratio
from bench.systems import engine_available

COUNTS = (1, 100, 1000)
FLOOR = {n: fanout_cell(f"broadcast floor {n} subs", "floor", n) for n in COUNTS}
ENGINE = {n: fanout_cell(f"engine stream {n} subs", "engine", n) for n in COUNTS}


def _rows(r: Results) -> list[Row]:
    rows = [
        Row(
            f"engine / floor deliveries/s, {n:,} subscriber{'s' if n > 1 else ''}",
            ratio(r, (ENGINE[n].key, "rate"), (FLOOR[n].key, "rate")),
            Target(">=", 0.7),
        )
        for n in COUNTS
    ]
    p99 = metric(r, ENGINE[1000].key, "p99_us")
    rows.append(
        Row(
            "p99 write -> last of 1,000 subscribers",
            None if p99 is None else p99 / 1000,
            Target("<=", 50),
            "ms",
        )
    )
    return rows


STREAM_SCENARIOS = [
    Scenario(
        "14",
        "stream fan-out: one writer to 1 / 100 / 1,000 subscribed WebSockets",
        lambda ctx: [cell for n in COUNTS for cell in (FLOOR[n], ENGINE[n])],
        _rows,
        engine_available,
    )
]
