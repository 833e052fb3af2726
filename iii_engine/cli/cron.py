"""``iii cron ls``: the cron triggers of a running engine and their next run times.

It asks the engine's iii-cron worker (function ``cron::list``) over the worker protocol, like
``iii status``. Exit codes: 0 listed, 1 engine unreachable or no iii-cron worker, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Final

from iii_engine.cli._call import CallFailed, call_engine
from iii_engine.cli.info import table

__all__ = ["add_parser", "list_jobs", "run"]

LIST_FUNCTION: Final = "cron::list"


def add_parser(commands: Any) -> None:
    """Add ``cron`` (with ``ls``) to the ``iii`` subcommands."""
    cron = commands.add_parser("cron", help="cron triggers of a running engine: cron ls")
    actions = cron.add_subparsers(dest="cron_command", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", aliases=["list"], help="cron triggers and their next runs")
    ls.add_argument("--count", type=int, default=3, help="next run times per job (default 3)")
    ls.add_argument("--json", action="store_true", help="print the jobs as JSON")
    ls.add_argument("--address", default="localhost", help="engine host (default localhost)")
    ls.add_argument("--port", type=int, default=49134, help="engine port (default 49134)")
    ls.add_argument("--timeout-ms", type=int, default=5000, help="deadline (default 5000)")


def run(args: argparse.Namespace) -> int:
    """Run ``iii cron ls`` from parsed arguments."""
    if args.count < 0:
        print("Error: --count must be >= 0", file=sys.stderr)
        return 2
    url = f"ws://{args.address}:{args.port}"
    try:
        return asyncio.run(list_jobs(url, args.timeout_ms / 1000, args.count, as_json=args.json))
    except KeyboardInterrupt:
        return 130


async def list_jobs(url: str, timeout_s: float, count: int = 3, *, as_json: bool = False) -> int:
    """Print every cron job of the engine at ``url``; 1 when it cannot be listed."""
    try:
        listed = await call_engine(
            url,
            LIST_FUNCTION,
            {"count": count},
            timeout_s=timeout_s,
            name="iii-cli:cron",
            provider="iii-cron worker",
        )
    except CallFailed:
        return 1
    listed = listed or {}
    jobs: list[dict[str, Any]] = listed.get("jobs", [])
    if as_json:
        print(json.dumps(jobs, indent=2))
        return 0
    if not jobs:
        print("no cron triggers")
        return 0
    rows = [
        (
            job.get("function_id"),
            job.get("expression"),
            job.get("timezone"),
            "  ".join(job.get("next_runs") or ["never"]),
            job.get("id"),
        )
        for job in jobs
    ]
    print(table(("FUNCTION", "EXPRESSION", "TIMEZONE", "NEXT RUNS", "TRIGGER ID"), rows))
    return 0
