"""Corked writes (iii_sdk._corked): frames written in one loop pass leave together, in order."""

from __future__ import annotations

import asyncio

from iii_sdk import Worker
from iii_sdk._corked import SLICE_BYTES, SLICE_FRAMES, CorkedTransport
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


async def test_a_long_burst_leaves_in_slices_in_order() -> None:
    loop = asyncio.get_running_loop()
    received = bytearray()
    total = 3 * SLICE_FRAMES + 5
    expected = b"".join(b"%04d" % i for i in range(total))
    got_all = loop.create_future()

    class Sink(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            received.extend(data)
            if len(received) >= len(expected) and not got_all.done():
                got_all.set_result(None)

    server = await loop.create_server(Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    cork = CorkedTransport(transport)  # type: ignore[arg-type]
    for i in range(total):  # one loop pass
        cork.write(b"%04d" % i)
    # Three full slices went to the socket at once; the rest waits for the pass to end.
    assert len(cork._chunks) == 5
    await asyncio.wait_for(got_all, 5)
    assert bytes(received) == expected
    cork.close()
    server.close()
    await server.wait_closed()


async def test_a_slice_is_also_cut_by_size() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    cork = CorkedTransport(transport)  # type: ignore[arg-type]
    big = b"x" * (SLICE_BYTES // 2)
    for _ in range(3):
        cork.write(big)
    assert len(cork._chunks) == 1  # the second write reached the byte budget
    cork.abort()
    server.close()
    await server.wait_closed()


async def test_the_pass_end_flush_runs_early_only_when_it_is_all_that_is_left() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    cork = CorkedTransport(transport)  # type: ignore[arg-type]
    other = loop.create_future()
    loop.call_soon(other.set_result, None)  # something else still runs in this pass
    mark = cork.pending
    cork.write(b"a")
    assert not cork.flush_if_last(mark)
    assert cork._chunks == [b"a"]
    await other
    assert cork._chunks == []  # the pass-end flush ran
    if cork._ready is not None:  # asyncio's loop (uvloop keeps its queue to itself)
        # A flush scheduled in an earlier pass belongs to the pass being run: it stays queued
        # even when it is all that is left (the loop has counted it).
        seen: asyncio.Future[bool] = loop.create_future()
        loop.call_soon(lambda: seen.set_result(cork.flush_if_last(cork.pending)))
        cork.write(b"b")
        assert not await seen
        assert cork._chunks == []
        mark = cork.pending
        cork.write(b"c")
        while len(cork._ready) > 1:  # let unrelated callbacks (the server's) run first
            cork.flush()
            await asyncio.sleep(0)
            mark = cork.pending
            cork.write(b"c")
        assert cork.flush_if_last(mark)
        assert cork._chunks == [] and not cork._ready  # written, and its callback dequeued
    cork.close()
    server.close()
    await server.wait_closed()
