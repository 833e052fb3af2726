"""The worker's per-frame fast paths keep the wire behaviour of the slow ones.

- Inbound: the frames one socket read delivers are taken from aiohttp's queue back to back;
  a WebSocket ping or a close among them still goes through aiohttp's own handling.
- Outbound: frames are written straight to the socket while it takes writes, and queued behind
  a congested transport, in call order either way; awaited calls wait for it to drain.
- Handlers: each runs in its own task, which leaves the executor's table when it ends.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from iii_sdk import Worker
from tests.sdk.rawserver import raw_server

BURST = 120
BIG = "x" * (256 * 1024)


def invoke(function_id: str, data: Any) -> dict[str, Any]:
    """An ``invokefunction`` frame with a fresh id."""
    return {
        "type": "invokefunction",
        "invocation_id": str(uuid.uuid4()),
        "function_id": function_id,
        "data": data,
    }


async def test_a_burst_of_frames_in_one_read_is_handled_whole_and_in_order() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="burst")
        seen: list[int] = []

        async def record(payload: Any) -> Any:
            seen.append(payload["i"])
            return payload["i"]

        worker.register_function("svc::record", record)
        await worker.connect()
        conn = await server.accept()
        await conn.take(2)  # the registration, engine::workers::register
        frames = [invoke("svc::record", {"i": i}) for i in range(BURST)]
        burst: list[dict[str, Any]] = [*frames[:60], {"type": "ping"}, *frames[60:]]
        await conn.send_all(burst)
        answers = await conn.take(BURST + 1)
        assert {"type": "pong"} in answers
        results = {a["invocation_id"]: a["result"] for a in answers if a["type"] != "pong"}
        assert results == {f["invocation_id"]: f["data"]["i"] for f in frames}
        assert seen == list(range(BURST))  # handlers started in arrival order
        assert worker._session.executor._tasks == {}  # every handler task removed itself
        await worker.close()


async def test_a_websocket_ping_inside_a_burst_is_answered() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="burst-ping")
        worker.register_function("svc::id", lambda payload: payload)
        await worker.connect()
        conn = await server.accept()
        await conn.take(2)
        frames = [invoke("svc::id", i) for i in range(20)]
        for frame in frames[:10]:
            await conn.send(frame)
        await conn.ws.ping(b"beat")
        await conn.send_all(frames[10:])
        answers = await conn.take(20)
        assert sorted(a["result"] for a in answers) == list(range(20))
        assert worker.connected
        await worker.close()


async def test_a_close_inside_a_burst_ends_the_socket() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="burst-close", reconnect=False)
        calls = [asyncio.ensure_future(worker.trigger("svc::far", i)) for i in range(3)]
        await worker.connect()
        conn = await server.accept()
        sent = await conn.take(4)
        ids = [f["invocation_id"] for f in sent if f["function_id"] == "svc::far"]
        answers = [
            {"type": "invocationresult", "invocation_id": i, "function_id": "svc::far", "result": 7}
            for i in ids[:2]
        ]
        await conn.send_all(answers)
        await conn.close()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert outcomes[:2] == [7, 7]
        assert isinstance(outcomes[2], Exception)  # written on the dropped socket
        await worker.close()


async def test_frames_queued_behind_a_congested_socket_keep_call_order() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="congested")
        await worker.connect()
        conn = await server.accept()
        await conn.next()
        connection = worker._session.connection
        conn.pause_reading()
        sent = 0
        while not connection.congested:  # fill the socket's buffers until asyncio pauses us
            assert sent < 2000, "the transport never paused"
            worker.trigger_void("svc::sink", {"i": sent, "pad": BIG})
            sent += 1
            await asyncio.sleep(0)  # one loop pass: the cork hands the frame to the transport
        for _ in range(3):  # these wait behind the paused transport, in order
            worker.trigger_void("svc::sink", {"i": sent, "pad": BIG})
            sent += 1
        assert connection._buffer
        call = asyncio.ensure_future(worker.trigger("svc::last", {"i": sent}))
        conn.resume_reading()
        frames = await conn.take(sent + 1)
        assert [f["data"]["i"] for f in frames] == list(range(sent + 1))
        assert all(f["data"]["pad"] == BIG for f in frames[:-1])
        last = frames[-1]
        await conn.send(
            {
                "type": "invocationresult",
                "invocation_id": last["invocation_id"],
                "function_id": "svc::last",
                "result": "done",
            }
        )
        assert await call == "done"
        assert not connection.congested
        await worker.close()
