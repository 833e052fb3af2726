"""Frame fuzzer against an engine process: it stays up, others keep working, RSS comes back.

The engine runs as its own process (so its RSS is its own), with an in-memory ``iii-state``.
An attacker socket sends hypothesis-generated batches: random text and bytes, JSON of any
shape, structured-but-wrong protocol frames, frames nested thousands of levels deep and frames
carrying megabyte strings. After every batch the attacker's own socket must still answer a
ping, and two SDK workers on their own sockets must still complete a call through the engine.
At the end the engine's RSS must be back near where it was after a warm-up batch.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_sdk.worker import Worker
from tests.raw_client import RawWorker, open_raw

REPO = Path(__file__).resolve().parents[2]
RSS_ALLOWANCE_MB = 40.0
"""Allocator slack after megabyte frames; a leak of every frame's data would be far above."""

MESSAGE_TYPES = [
    "registerfunction",
    "unregisterfunction",
    "registerservice",
    "registertriggertype",
    "unregistertriggertype",
    "registertrigger",
    "unregistertrigger",
    "triggerregistrationresult",
    "invokefunction",
    "invocationresult",
    "reattach",
    "ping",
    "pong",
    "workerregistered",
    "registrationrejected",
]
FIELDS = [
    "id",
    "function_id",
    "trigger_type",
    "invocation_id",
    "data",
    "config",
    "metadata",
    "action",
    "error",
    "result",
    "namespace",
    "trigger_namespace",
    "previous_worker_id",
    "reattach_token",
    "description",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.uuids().map(str),
    st.sampled_from(["victim::echo", "state::set", "http", "state", "engine::functions::list"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
structured = st.fixed_dictionaries(
    {"type": st.sampled_from(MESSAGE_TYPES)},
    optional={name: json_values for name in FIELDS},
).map(json.dumps)


def _deep(depth: int, kind: str, shape: str) -> str:
    inner = '{"a":' * depth + "1" + "}" * depth if shape == "object" else "[" * depth + "]" * depth
    return json.dumps({"type": kind, "id": "x", "function_id": "f", "data": None}).replace(
        "null", inner
    )


deep = st.builds(
    _deep,
    st.integers(min_value=100, max_value=20_000),
    st.sampled_from(MESSAGE_TYPES),
    st.sampled_from(["object", "array"]),
)


def _huge(size: int, where: str) -> str:
    blob = "x" * size
    if where == "type":
        return json.dumps({"type": blob})
    if where == "id":
        return json.dumps({"type": "registertrigger", "id": blob, "trigger_type": "nope"})
    return json.dumps({"type": "invokefunction", "function_id": "victim::echo", where: blob})


huge = st.builds(
    _huge,
    st.integers(min_value=50_000, max_value=1_500_000),
    st.sampled_from(["type", "id", "data", "invocation_id"]),
)
text_frames = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    structured,
    structured,
    deep,
    huge,
)
frames = st.one_of(
    text_frames.map(lambda t: ("text", t)),
    st.binary(max_size=200).map(lambda b: ("binary", b)),
    structured.map(lambda t: ("binary", t.encode())),
)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def engine_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``(worker_url, process)`` of an engine started through the CLI."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    config.write_text(
        "workers:\n"
        f"  - name: iii-worker-manager\n    config: {{host: 127.0.0.1, port: {port}}}\n"
        "  - name: iii-state\n    config: {adapter: {name: memory}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("III_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "iii_engine", "--config", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # the port opening is the only readiness signal a CLI engine gives
            assert process.poll() is None, "engine exited at start"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "engine port never opened"
            time.sleep(0.02)
        yield f"ws://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(10)


class Harness:
    """An attacker socket and two SDK workers, driven on one event loop from sync code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = asyncio.Runner()
        self.attacker: RawWorker | None = None
        self.executor = Worker(url)
        self.caller = Worker(url)
        self.calls = 0

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    async def start(self) -> None:
        self.executor.register_function("victim::echo", lambda payload: payload)
        await self.executor.connect()
        await self.caller.connect()

    async def batch(self, batch: list[tuple[str, Any]]) -> None:
        if self.attacker is None or self.attacker.ws.closed:
            self.attacker = await open_raw(self.url)
        attacker = self.attacker
        for kind, frame in batch:
            if kind == "text":
                await attacker.send_text(frame)
            else:
                await attacker.send_bytes(frame)
        await attacker.barrier(within=20)  # still open, still served in order
        attacker.inbox.clear()
        self.calls += 1
        answer = await self.caller.trigger("victim::echo", {"n": self.calls}, timeout_ms=20_000)
        assert answer["n"] == self.calls

    async def stop(self) -> None:
        if self.attacker is not None:
            await self.attacker.close()
        await self.caller.close()
        await self.executor.close()


def test_fuzzed_frames_leave_the_engine_and_others_unharmed(
    engine_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = engine_process
    pid = process.pid
    harness = Harness(url)
    try:
        harness.run(harness.start())
        warm_up = [
            ("text", _huge(1_500_000, "data")),
            ("text", _huge(1_500_000, "type")),
            ("text", _deep(20_000, "invokefunction", "object")),
        ]
        harness.run(harness.batch(warm_up))
        baseline = _rss_mb(pid)

        @settings(
            max_examples=int(os.environ.get("III_FUZZ_EXAMPLES", "60")),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            database=None,
        )
        @given(st.lists(frames, min_size=1, max_size=8))
        def fuzz(batch: list[tuple[str, Any]]) -> None:
            harness.run(harness.batch(batch))

        fuzz()
        harness.run(harness.stop())
    finally:
        harness.runner.close()
    assert process.poll() is None, "the engine process exited"
    # The attacker's registrations went with its socket; memory returns near the baseline.
    after = _rss_mb(pid)
    print(f"RSS baseline {baseline:.1f} MB, after {after:.1f} MB, {harness.calls} batches")
    assert after - baseline < RSS_ALLOWANCE_MB, (baseline, after)
