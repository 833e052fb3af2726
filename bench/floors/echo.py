"""One-hop floor: a WebSocket server that answers each ``invokefunction`` with its own data.

The client talks to it exactly as to the engine (same frames), so the ratio to it isolates the
cost of the second hop plus routing.
"""

from __future__ import annotations

import asyncio

from aiohttp import WSMsgType, web

from bench.floors._serve import port_from_argv, serve, websocket
from bench.frames import PONG, decode_envelope, result_frame

_TEXT = WSMsgType.TEXT


async def handle(request: web.Request) -> web.WebSocketResponse:
    """Echo every invocation on this socket, inline on the read loop."""
    ws = websocket()
    await ws.prepare(request)
    send = ws.send_frame
    async for msg in ws:
        if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
            continue
        env = decode_envelope(msg.data)
        if env.type == "invokefunction" and env.invocation_id:
            await send(result_frame(env.invocation_id, env.function_id or "", env.data), _TEXT)
        elif env.type == "ping":
            await send(PONG, _TEXT)
    return ws


def main() -> None:
    """Entry point: ``python -m bench.floors.echo --port N``."""
    port = port_from_argv(__doc__ or "")
    app = web.Application()
    app.router.add_get("/", handle)
    asyncio.run(serve(app, port))


if __name__ == "__main__":
    main()
