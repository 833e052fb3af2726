"""Scenario 17: sync invoke of a function with one 0.25 observer whose filter matches 10%."""

from __future__ import annotations

from bench.cells import ws_cell
from bench.frames import invoke_head
from bench.scenarios.base import Results, Row, Scenario, Target, ratio
from bench.scenarios.invoke import RELAY_64
from bench.systems import engine, engine_available

FILTER_10_PERCENT = '{"input.n":{"$eq":0}}'


def _heads() -> list[bytes]:
    return [invoke_head("bench::echo", b'{"n":%d}' % i) for i in range(10)]


PLAIN_64 = ws_cell("engine ws w64 n0..9", engine, window=64, heads=_heads)
OBSERVED_64 = ws_cell(
    "engine ws w64 n0..9 observer 10%",
    lambda o: engine(o, observe=FILTER_10_PERCENT),
    window=64,
    heads=_heads,
)


def _rows(r: Results) -> list[Row]:
    return [
        Row(
            "one observer (10% match) / no observer rate, 64 in flight",
            ratio(r, (OBSERVED_64.key, "rate"), (PLAIN_64.key, "rate")),
            Target(">=", 0.7),
        ),
        Row(
            "no observer / relay rate (info; compare with scenario 1)",
            ratio(r, (PLAIN_64.key, "rate"), (RELAY_64.key, "rate")),
        ),
    ]


OBSERVER_SCENARIOS = [
    Scenario(
        "17",
        "an observer (0.25 observe) on the invoked function, filter matching 10%",
        lambda ctx: [RELAY_64, PLAIN_64, OBSERVED_64],
        _rows,
        engine_available,
    )
]
