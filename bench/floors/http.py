"""HTTP floor: a bare aiohttp handler that decodes a JSON body and answers JSON."""

from __future__ import annotations

import asyncio

import msgspec
from aiohttp import web

from bench.floors._serve import port_from_argv, serve

_decode = msgspec.json.decode
_encode = msgspec.json.encode


async def handle(request: web.Request) -> web.Response:
    """Answer any POST with ``{"ok": true, "echo": <body>}``."""
    body = _decode(await request.read()) if request.can_read_body else None
    return web.Response(body=_encode({"ok": True, "echo": body}), content_type="application/json")


def main() -> None:
    """Entry point: ``python -m bench.floors.http --port N``."""
    port = port_from_argv(__doc__ or "")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    asyncio.run(serve(app, port))


if __name__ == "__main__":
    main()
