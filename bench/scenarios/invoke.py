"""Invocation scenarios over WebSocket: 1, 1b, 1c, 2, 3, 11 and the floors sanity check."""

from __future__ import annotations

import importlib.util

from bench.cells import Cell, ws_cell
from bench.client_cells import (
    nats_cell,
    official025_cell,
    official025_missing,
    official_available,
    official_cell,
    sdk_cell,
)
from bench.scenarios.base import Results, Row, Scenario, Target, ratio
from bench.systems import (
    echo_floor,
    engine,
    engine_available,
    nats_available,
    nats_peer,
    relay_floor,
)

RELAY_64 = ws_cell("relay ws w64", relay_floor, window=64)
RELAY_1 = ws_cell("relay ws w1", relay_floor, window=1)
ECHO_64 = ws_cell("echo ws w64", echo_floor, window=64)
ECHO_1 = ws_cell("echo ws w1", echo_floor, window=1)
ENGINE_64 = ws_cell("engine ws w64", engine, window=64)
ENGINE_1 = ws_cell("engine ws w1", engine, window=1)
SDK_64 = sdk_cell("engine sdk-client+sdk-worker w64", lambda o: engine(o, worker="sdk"), window=64)
SDK_1 = sdk_cell("engine sdk-client+sdk-worker w1", lambda o: engine(o, worker="sdk"), window=1)
OFFICIAL_64 = official_cell("engine official-client+raw-worker w64", engine, window=64)
OFFICIAL_1 = official_cell("engine official-client+raw-worker w1", engine, window=1)
OFFICIAL025_64 = official025_cell("engine official-0.25-client+raw-worker w64", engine, window=64)
OFFICIAL025_1 = official025_cell("engine official-0.25-client+raw-worker w1", engine, window=1)
NATS_64 = nats_cell("nats w64", nats_peer, window=64)
NATS_1 = nats_cell("nats w1", nats_peer, window=1)

FAN_IN = (1, 4, 16)
PAYLOADS = {"1KB": 1024, "16KB": 16 * 1024, "256KB": 256 * 1024, "1MB": 1024 * 1024}
PAYLOAD_WINDOW = 8


def sdk_available() -> bool:
    """True once ``iii_sdk.Worker`` exists."""
    import iii_sdk

    return (
        hasattr(iii_sdk, "Worker")
        and importlib.util.find_spec("bench.peers.sdk_worker") is not None
    )


def _sdk(cells: list[Cell]) -> list[Cell]:
    return cells if sdk_available() else []


def _official(cells: list[Cell]) -> list[Cell]:
    return cells if official_available() else []


def _official025(cells: list[Cell]) -> list[Cell]:
    return [] if official025_missing() else cells


def _official025_row(r: Results, label: str, cell: Cell, floor: Cell, name: str) -> Row:
    """The 0.25 client's info row, or its skip note when that SDK's venv is missing."""
    return Row(
        label, ratio(r, (cell.key, name), (floor.key, name)), skip=official025_missing() or ""
    )


def _floors_rows(r: Results) -> list[Row]:
    return [
        Row(
            "relay / echo rate, 64 in flight",
            ratio(r, (RELAY_64.key, "rate"), (ECHO_64.key, "rate")),
        ),
        Row(
            "relay / echo rate, 1 in flight", ratio(r, (RELAY_1.key, "rate"), (ECHO_1.key, "rate"))
        ),
    ]


def _s1_rows(r: Results) -> list[Row]:
    rows = [
        Row(
            "engine / relay rate, 64 in flight",
            ratio(r, (ENGINE_64.key, "rate"), (RELAY_64.key, "rate")),
            Target(">=", 0.8),
        )
    ]
    if SDK_64.key in r:
        rows.append(
            Row(
                "sdk client+worker / relay rate (info)",
                ratio(r, (SDK_64.key, "rate"), (RELAY_64.key, "rate")),
            )
        )
    if OFFICIAL_64.key in r:
        rows.append(
            Row(
                "official iii-sdk 0.23 client / relay rate (info)",
                ratio(r, (OFFICIAL_64.key, "rate"), (RELAY_64.key, "rate")),
            )
        )
    label = "official iii-sdk 0.25 client / relay rate (info)"
    rows.append(_official025_row(r, label, OFFICIAL025_64, RELAY_64, "rate"))
    return rows


def _s1b_rows(r: Results) -> list[Row]:
    rows = [
        Row(
            "engine / relay p50, 1 in flight",
            ratio(r, (ENGINE_1.key, "p50_us"), (RELAY_1.key, "p50_us")),
            Target("<=", 1.25),
        ),
        Row(
            "engine / relay p99, 1 in flight",
            ratio(r, (ENGINE_1.key, "p99_us"), (RELAY_1.key, "p99_us")),
            Target("<=", 1.5),
        ),
    ]
    if SDK_1.key in r:
        rows.append(
            Row(
                "sdk client+worker / relay p50 (info)",
                ratio(r, (SDK_1.key, "p50_us"), (RELAY_1.key, "p50_us")),
            )
        )
    if OFFICIAL_1.key in r:
        rows.append(
            Row(
                "official iii-sdk 0.23 client / relay p50 (info)",
                ratio(r, (OFFICIAL_1.key, "p50_us"), (RELAY_1.key, "p50_us")),
            )
        )
    label = "official iii-sdk 0.25 client / relay p50 (info)"
    rows.append(_official025_row(r, label, OFFICIAL025_1, RELAY_1, "p50_us"))
    return rows


def _s1c_rows(r: Results) -> list[Row]:
    return [
        Row(
            "engine / relay CPU per invoke",
            ratio(r, (ENGINE_64.key, "cpu_us"), (RELAY_64.key, "cpu_us")),
            Target("<=", 1.3),
        )
    ]


def _s2_rows(r: Results) -> list[Row]:
    return [
        Row(
            "engine / NATS rate, 64 in flight",
            ratio(r, (ENGINE_64.key, "rate"), (NATS_64.key, "rate")),
            Target(">=", 1.3),
        ),
        Row(
            "engine / NATS rate, 1 in flight",
            ratio(r, (ENGINE_1.key, "rate"), (NATS_1.key, "rate")),
            Target(">=", 1.0),
        ),
    ]


def _fan_in(system: str, n: int) -> Cell:
    factory = engine if system == "engine" else relay_floor
    return ws_cell(f"{system} ws fan-in {n}x16", factory, window=16, connections=n)


def _s3_rows(r: Results) -> list[Row]:
    return [
        Row(
            f"engine / relay rate, {n} callers x 16",
            ratio(r, (_fan_in("engine", n).key, "rate"), (_fan_in("relay", n).key, "rate")),
            Target(">=", 0.8),
        )
        for n in FAN_IN
    ]


def _payload(system: str, label: str) -> Cell:
    size = PAYLOADS[label]
    data = b'{"blob":"' + b"x" * (size - 11) + b'"}'
    factory = engine if system == "engine" else relay_floor
    return ws_cell(
        f"{system} ws payload {label} w{PAYLOAD_WINDOW}",
        factory,
        window=PAYLOAD_WINDOW,
        payload=data,
    )


def _s11_rows(r: Results) -> list[Row]:
    return [
        Row(
            f"engine / relay rate, {label} payload",
            ratio(
                r, (_payload("engine", label).key, "rate"), (_payload("relay", label).key, "rate")
            ),
            Target(">=", 0.8),
        )
        for label in PAYLOADS
    ]


def _s12_rows(r: Results) -> list[Row]:
    return [
        Row(
            "sdk client+sdk worker / raw client+raw worker rate, 64 in flight",
            ratio(r, (SDK_64.key, "rate"), (ENGINE_64.key, "rate")),
            Target(">=", 0.8),
        ),
        Row(
            "sdk client+sdk worker / raw client+raw worker rate, 1 in flight",
            ratio(r, (SDK_1.key, "rate"), (ENGINE_1.key, "rate")),
            Target(">=", 0.8),
        ),
    ]


INVOKE_SCENARIOS = [
    Scenario(
        "floors",
        "floors measured against each other (info)",
        lambda ctx: [RELAY_64, ECHO_64, RELAY_1, ECHO_1],
        _floors_rows,
    ),
    Scenario(
        "1",
        "sync invoke round trip, 64 in flight, vs relay floor",
        lambda ctx: [
            RELAY_64,
            ENGINE_64,
            *_sdk([SDK_64]),
            *_official([OFFICIAL_64]),
            *_official025([OFFICIAL025_64]),
        ],
        _s1_rows,
        engine_available,
    ),
    Scenario(
        "1b",
        "sync invoke, 1 in flight: p50 / p99 vs relay floor",
        lambda ctx: [
            RELAY_1,
            ENGINE_1,
            *_sdk([SDK_1]),
            *_official([OFFICIAL_1]),
            *_official025([OFFICIAL025_1]),
        ],
        _s1b_rows,
        engine_available,
    ),
    Scenario(
        "1c",
        "engine CPU per invoke vs relay CPU per call",
        lambda ctx: [RELAY_64, ENGINE_64],
        _s1c_rows,
        engine_available,
    ),
    Scenario(
        "2",
        "vs NATS request/reply (nats-py)",
        lambda ctx: [NATS_64, ENGINE_64, NATS_1, ENGINE_1],
        _s2_rows,
        lambda: engine_available() or nats_available(),
    ),
    Scenario(
        "3",
        "fan-in: 1, 4, 16 caller connections x 16 in flight",
        lambda ctx: [c for n in FAN_IN for c in (_fan_in("relay", n), _fan_in("engine", n))],
        _s3_rows,
        engine_available,
    ),
    Scenario(
        "12",
        "a call from iii_sdk to an iii_sdk worker vs the raw client and worker",
        lambda ctx: _sdk([ENGINE_64, SDK_64, ENGINE_1, SDK_1]),
        _s12_rows,
        engine_available,
    ),
    Scenario(
        "11",
        "payload 1 KB .. 1 MB through a sync invoke (8 in flight)",
        lambda ctx: [c for s in PAYLOADS for c in (_payload("relay", s), _payload("engine", s))],
        _s11_rows,
        engine_available,
    ),
]

__all__ = ["ECHO_64", "ENGINE_1", "ENGINE_64", "INVOKE_SCENARIOS", "RELAY_1", "RELAY_64"]
