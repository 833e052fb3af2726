"""Fan-out floor: a bare aiohttp broadcast server speaking the stream subscription frames.

Subscribers connect to ``/`` and send the same ``join`` frame as to iii-stream (they get a
``sync`` back); a writer connects to ``/write`` and sends one ``invokefunction`` frame per event,
like a ``stream::set`` call. The server wraps the event as iii-stream does, encodes it once and
sends it to every subscriber with ``send_frame`` (awaited, the plain aiohttp way), then answers
the writer with an ``invocationresult``. No storage, no routing: the cost of the fan-out itself.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
from aiohttp import WSMsgType, web

from bench.floors._serve import port_from_argv, serve, websocket
from bench.frames import decode_envelope, result_frame

_TEXT = WSMsgType.TEXT
_encode = msgspec.json.Encoder().encode


class _Set(msgspec.Struct):
    stream_name: str
    group_id: str
    item_id: str
    data: msgspec.Raw


_decode_set = msgspec.json.Decoder(_Set).decode
SUBSCRIBERS: set[web.WebSocketResponse] = set()


async def subscriber(request: web.Request) -> web.WebSocketResponse:
    """Add the socket to the broadcast set after its ``join``; answer with an empty sync."""
    ws = websocket()
    await ws.prepare(request)
    try:
        async for msg in ws:
            if msg.type is _TEXT or msg.type is WSMsgType.BINARY:
                join = msgspec.json.decode(msg.data)["data"]
                sync = {
                    "type": "stream",
                    "timestamp": time.time_ns() // 1_000_000,
                    "streamName": join["streamName"],
                    "groupId": join["groupId"],
                    "id": None,
                    "event": {"type": "sync", "data": []},
                }
                await ws.send_frame(_encode(sync), _TEXT)
                SUBSCRIBERS.add(ws)
    finally:
        SUBSCRIBERS.discard(ws)
    return ws


async def writer(request: web.Request) -> web.WebSocketResponse:
    """Broadcast each event to every subscriber, then acknowledge it."""
    ws = websocket()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
            continue
        env = decode_envelope(msg.data)
        item = _decode_set(env.data)
        frame = b'{"type":"stream","timestamp":%d,"streamName":%s,"groupId":%s,"id":%s,' % (
            time.time_ns() // 1_000_000,
            _encode(item.stream_name),
            _encode(item.group_id),
            _encode(item.item_id),
        ) + b'"event":{"type":"update","data":%s}}' % bytes(item.data)
        for sub in list(SUBSCRIBERS):
            await sub.send_frame(frame, _TEXT)
        if env.invocation_id:
            ack = b'{"old_value":null,"new_value":%s}' % bytes(item.data)
            await ws.send_frame(result_frame(env.invocation_id, "stream::set", ack), _TEXT)
    return ws


def main() -> None:
    """Entry point: ``python -m bench.floors.broadcast --port N``."""
    port = port_from_argv(__doc__ or "")
    app = web.Application()
    app.router.add_get("/", subscriber)
    app.router.add_get("/write", writer)
    asyncio.run(serve(app, port))


if __name__ == "__main__":
    main()
