"""Lean raw-protocol echo worker: aiohttp + msgspec frames, the engine's cheapest possible peer.

Opens ``--connections`` sockets; each registers ``--functions`` ids and answers every
``invokefunction`` from its read loop with the received ``data`` as result. With ``--routes N``
connection 0 also registers ``bench::http`` and N HTTP triggers ``POST bench/r<i>`` that answer
a constant HTTP response. Prints ``ready`` once every socket has answered a ping sent after its
registrations (frames are processed in order), then serves until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import WSMsgType

from bench.frames import (
    PING,
    decode_envelope,
    next_id,
    register_function,
    register_http_trigger,
    result_frame,
    worker_register,
)

if TYPE_CHECKING:
    from bench.load import RawSocket

_TEXT = WSMsgType.TEXT
HTTP_FUNCTION = "bench::http"
HTTP_RESULT = b'{"status_code":200,"body":{"ok":true}}'
OBSERVE_TARGET = "bench::seen"


def observe_frame(source: str, filters: str) -> bytes:
    """An ``observe`` frame: ``source`` activates :data:`OBSERVE_TARGET` when ``filters`` match."""
    return (
        b'{"type":"observe","id":"bench-observer","source":{"function_id":%s,"filters":%s},'
        b'"target":{"function_id":"%s"}}'
        % (json.dumps(source).encode(), filters.encode(), OBSERVE_TARGET.encode())
    )


def function_ids(prefix: str, connections: int, per_connection: int, conn: int) -> list[str]:
    """Ids registered by connection ``conn``: the bare prefix when there is exactly one."""
    if connections * per_connection == 1:
        return [prefix]
    return [f"{prefix}::c{conn}::f{i}" for i in range(per_connection)]


async def serve_socket(ws: RawSocket, ready: asyncio.Event) -> None:
    """Answer invocations until the socket closes; set ``ready`` on the first pong."""
    send = ws.send_frame
    async for msg in ws:
        if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
            continue
        env = decode_envelope(msg.data)
        if env.type == "invokefunction" and env.invocation_id:
            fid = env.function_id or ""
            result = HTTP_RESULT if fid == HTTP_FUNCTION else env.data
            await send(result_frame(env.invocation_id, fid, result), _TEXT)
        elif env.type == "pong":
            ready.set()


async def run(args: argparse.Namespace) -> None:
    """Connect, register, report readiness, serve until SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        readers: list[asyncio.Task[None]] = []
        events: list[asyncio.Event] = []
        for conn in range(args.connections):
            ws = await session.ws_connect(args.url, max_msg_size=0, decode_text=False)
            ready = asyncio.Event()
            readers.append(asyncio.create_task(serve_socket(ws, ready)))
            events.append(ready)
            await ws.send_frame(
                worker_register(f"bench-raw-{os.getpid()}-{conn}", os.getpid()), _TEXT
            )
            for fid in function_ids(args.prefix, args.connections, args.functions, conn):
                await ws.send_frame(register_function(fid), _TEXT)
            if conn == 0 and args.routes:
                await ws.send_frame(register_function(HTTP_FUNCTION), _TEXT)
                for i in range(args.routes):
                    frame = register_http_trigger(next_id(), HTTP_FUNCTION, f"bench/r{i}")
                    await ws.send_frame(frame, _TEXT)
            if conn == 0 and args.observe:
                await ws.send_frame(register_function(OBSERVE_TARGET), _TEXT)
                await ws.send_frame(observe_frame(args.prefix, args.observe), _TEXT)
            await ws.send_frame(PING, _TEXT)
        await asyncio.gather(*(e.wait() for e in events))
        print("ready", flush=True)
        await stop.wait()
        for task in readers:
            task.cancel()


def main() -> None:
    """Entry point: ``python -m bench.peers.raw_worker --url WS [options]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--functions", type=int, default=1, help="per connection")
    parser.add_argument("--prefix", default="bench::echo")
    parser.add_argument("--routes", type=int, default=0)
    parser.add_argument(
        "--observe", default="", help="filter JSON: observe the prefix function with it"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
