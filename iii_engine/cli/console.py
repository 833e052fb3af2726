"""``iii console``: the URL of a running engine's web console (``--open``: in a browser).

Talks to the engine like ``iii status`` (``--address``, ``--port``, ``--timeout-ms``) and asks
the console for its address (``console::info``, registered by iii-console). Exit 0, or 1 when the
engine is unreachable or runs no console.
"""

from __future__ import annotations

import argparse
import asyncio
import webbrowser
from typing import Any

from iii_engine.cli._call import CallFailed, call_engine

__all__ = ["add_parser", "run"]

INFO_FUNCTION = "console::info"


def add_parser(commands: Any) -> None:
    """Add ``console`` to the ``iii`` parser's subparsers."""
    console = commands.add_parser("console", help="the URL of a running engine's web console")
    console.add_argument("--address", default="localhost", help="engine host (default localhost)")
    console.add_argument("--port", type=int, default=49134, help="engine port (default 49134)")
    console.add_argument("--timeout-ms", type=int, default=5000, help="deadline (default 5000)")
    console.add_argument("--open", action="store_true", help="open it in a web browser")


def run(args: argparse.Namespace) -> int:
    """Run ``iii console``; the exit code."""
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace) -> int:
    url = f"ws://{args.address}:{args.port}"
    try:
        info = await call_engine(
            url,
            INFO_FUNCTION,
            {},
            timeout_s=args.timeout_ms / 1000,
            name="iii-cli:console",
            provider="iii-console",
        )
    except CallFailed:
        return 1
    console_url = str(info["url"])
    print(console_url)
    if args.open:
        webbrowser.open(console_url)
    return 0
