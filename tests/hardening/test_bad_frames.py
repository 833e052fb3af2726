"""Frames that never close a connection, and bounded logging of bad frames."""

from __future__ import annotations

import json
import logging

import pytest

from iii_engine.engine import Engine
from iii_engine.server.badframes import BadFrameLog, truncate
from tests.raw_client import raw_worker


def nested(depth: int, open_: str = '{"a":', close: str = "}") -> str:
    return open_ * depth + "1" + close * depth


@pytest.mark.parametrize("depth", [500, 1_000, 5_000, 100_000])
@pytest.mark.parametrize(
    "template",
    [
        '{{"type":"invokefunction","invocation_id":"00000000-0000-4000-8000-000000000000",'
        '"function_id":"svc::fn","data":{}}}',
        '{{"type":"registertrigger","id":"t","trigger_type":"x","function_id":"f","config":{}}}',
        '{{"type":"ping","extra":{}}}',
        "{}",
    ],
)
@pytest.mark.parametrize("shape", ["object", "array"])
async def test_deeply_nested_frame_leaves_the_connection_open(
    iii_engine: Engine, depth: int, template: str, shape: str
) -> None:
    deep = nested(depth) if shape == "object" else nested(depth, "[", "]")
    async with raw_worker(iii_engine) as worker:
        await worker.register_function("svc::fn")
        await worker.send_text(template.format(deep))
        await worker.barrier()  # still served, in order
        assert not worker.ws.closed
        worker.inbox.clear()


async def test_deep_payload_to_a_worker_function_is_still_answered(iii_engine: Engine) -> None:
    # Depth the decoder accepts reaches the executor untouched.
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("svc::fn")
        invocation_id = await caller.invoke("svc::fn", json.loads(nested(200)))
        await executor.reply(await executor.invocation("svc::fn"), "ok")
        assert (await caller.result(invocation_id))["result"] == "ok"


async def test_flood_of_bad_frames_writes_bounded_log(
    iii_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="iii.engine")
    huge = "x" * 1_000_000
    async with raw_worker(iii_engine) as worker:
        for _ in range(50):
            await worker.send({"type": huge})
            await worker.send_text("{not json " + huge)
        await worker.barrier()
        assert not worker.ws.closed
    lines = [r.getMessage() for r in caplog.records if "undecodable" in r.getMessage()]
    assert 1 <= len(lines) <= 10
    assert all(len(line) < 500 for line in lines)


def test_rate_limit_window_and_suppressed_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = BadFrameLog(
        logging.getLogger("test.badframes"), burst=2, window_s=10, clock=lambda: now[0]
    )
    caplog.set_level(logging.WARNING, logger="test.badframes")
    assert [limiter.report("w", "e") for _ in range(5)] == [True, True, False, False, False]
    assert limiter.suppressed == 3
    now[0] = 10.0
    assert limiter.report("w", "again")
    assert "(3 similar lines suppressed)" in caplog.records[-1].getMessage()
    assert limiter.suppressed == 0


def test_truncate() -> None:
    assert truncate("abc", 5) == "abc"
    assert truncate("a" * 300) == "a" * 200 + "... (100 more characters)"


async def test_lines_quoting_huge_worker_ids_are_capped(
    iii_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iii.engine")
    huge = "t" * 1_000_000
    async with raw_worker(iii_engine) as worker:
        await worker.send(
            {"type": "registertrigger", "id": huge, "trigger_type": "nope", "function_id": huge}
        )
        await worker.barrier()
    lines = [r.getMessage() for r in caplog.records if r.name == "iii.engine"]
    assert any("[PENDING]" in line for line in lines)
    assert max(len(line) for line in lines) < 1100
