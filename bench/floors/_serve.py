"""Run one aiohttp application on 127.0.0.1 until the process is terminated."""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web

MAX_MSG = 64 * 1024 * 1024


def port_from_argv(description: str) -> int:
    """Parse ``--port`` (required) from the command line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    return int(parser.parse_args().port)


async def serve(app: web.Application, port: int) -> None:
    """Serve ``app`` on ``127.0.0.1:port`` until SIGTERM or SIGINT."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def websocket() -> web.WebSocketResponse:
    """A server socket configured like the engine's: no compression, bytes in, large messages."""
    return web.WebSocketResponse(compress=False, max_msg_size=MAX_MSG, decode_text=False)
