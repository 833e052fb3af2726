"""Two-hop floor: client -> relay -> echo worker -> relay -> client, the floor for any router.

Workers register functions with ``registerfunction``; callers send ``invokefunction``. The relay
decodes only the envelope and forwards the bytes it received, unchanged, from the read loop of
the sending socket: no task, queue or future per message.
"""

from __future__ import annotations

import asyncio

from aiohttp import WSMsgType, web

from bench.floors._serve import port_from_argv, serve, websocket
from bench.frames import PONG, decode_envelope, error_frame

_TEXT = WSMsgType.TEXT


class Relay:
    """Routing state: function id -> worker socket, invocation id -> caller socket."""

    def __init__(self) -> None:
        self.functions: dict[str, web.WebSocketResponse] = {}
        self.pending: dict[str, web.WebSocketResponse] = {}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one socket (worker, caller or both) until it closes."""
        ws = websocket()
        await ws.prepare(request)
        functions, pending = self.functions, self.pending
        try:
            async for msg in ws:
                if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
                    continue
                data = msg.data
                env = decode_envelope(data)
                kind = env.type
                if kind == "invokefunction":
                    await self._invoke(ws, data, env.invocation_id, env.function_id or "")
                elif kind == "invocationresult":
                    caller = pending.pop(env.invocation_id or "", None)
                    if caller is not None and not caller.closed:
                        await caller.send_frame(data, _TEXT)
                elif kind == "registerfunction" and env.id:
                    functions[env.id] = ws
                elif kind == "ping":
                    await ws.send_frame(PONG, _TEXT)
        finally:
            for fid in [f for f, owner in functions.items() if owner is ws]:
                del functions[fid]
        return ws

    async def _invoke(
        self, ws: web.WebSocketResponse, data: bytes, invocation_id: str | None, fid: str
    ) -> None:
        target = self.functions.get(fid)
        if target is None:
            if invocation_id:
                await ws.send_frame(
                    error_frame(invocation_id, fid, "function_not_found", fid), _TEXT
                )
            return
        if invocation_id:
            self.pending[invocation_id] = ws
        await target.send_frame(data, _TEXT)


def main() -> None:
    """Entry point: ``python -m bench.floors.relay --port N``."""
    port = port_from_argv(__doc__ or "")
    app = web.Application()
    app.router.add_get("/", Relay().handle)
    asyncio.run(serve(app, port))


if __name__ == "__main__":
    main()
