"""Corked writes (iii_sdk._corked): frames written in one loop pass leave together, in order."""

from __future__ import annotations

from iii_sdk import Worker
from iii_sdk._corked import CorkedTransport
from tests.sdk.rawserver import raw_server

CALLS = 200


async def test_calls_made_in_one_pass_arrive_whole_and_in_order() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="corked")
        await worker.connect()
        conn = await server.accept()
        await conn.next()  # engine::workers::register
        ws = worker._session.connection._ws
        assert ws is not None
        assert isinstance(ws._writer.transport, CorkedTransport)
        for i in range(CALLS):
            worker.trigger_void("bench::sink", {"i": i, "pad": "x" * (i * 37)})
        frames = await conn.take(CALLS)
        assert [f["data"]["i"] for f in frames] == list(range(CALLS))
        assert all(f["data"]["pad"] == "x" * (f["data"]["i"] * 37) for f in frames)
        await worker.close()


async def test_a_frame_queued_just_before_close_is_not_lost() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="corked-close")
        await worker.connect()
        conn = await server.accept()
        await conn.next()
        # The awaited void call is framed into the cork; close must not overtake it.
        await worker.trigger("bench::last", {"n": 1}, action={"type": "void"})
        await worker.close()
        frame = await conn.next()
        assert frame["function_id"] == "bench::last"
