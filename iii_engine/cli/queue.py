"""``iii queue``: the queues of a running engine (iii-queue), their dead letters, redrive.

::

    iii queue                      # = iii queue list: depth, in flight, dead-lettered per queue
    iii queue dlq QUEUE            # dead letters of a queue or topic (--limit, --offset)
    iii queue redrive QUEUE        # requeue every dead letter (--message-id ID: just one)
    iii queue discard QUEUE ID     # delete one dead letter

Each talks to the engine like ``iii status`` (``--address``, ``--port``, ``--timeout-ms``);
``--json`` prints the function's raw answer. Exit 0, or 1 when the engine is unreachable or the
call fails (for example when no iii-queue runs there).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
from typing import Any

from iii_engine.cli._call import CallFailed, call_engine

__all__ = ["add_parser", "run"]


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    # Given before or after the action; an action's own copies only set what was typed.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument("--address", default=default("localhost"), help="engine host")
    parser.add_argument("--port", type=int, default=default(49134), help="engine port (49134)")
    parser.add_argument("--timeout-ms", type=int, default=default(5000), help="deadline (5000)")
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print the raw JSON answer"
    )


def add_parser(commands: Any) -> None:
    """Add ``queue`` and its subcommands to the ``iii`` parser's subparsers."""
    queue = commands.add_parser("queue", help="queues of a running engine: list, dlq, redrive")
    _common(queue, top=True)
    actions = queue.add_subparsers(dest="queue_command", metavar="ACTION")
    _common(actions.add_parser("list", help="every queue with its counts (the default)"))
    dlq = actions.add_parser("dlq", help="dead letters of a queue or topic")
    dlq.add_argument("queue", metavar="QUEUE")
    dlq.add_argument("--limit", type=int, default=50)
    dlq.add_argument("--offset", type=int, default=0)
    _common(dlq)
    redrive = actions.add_parser("redrive", help="requeue the dead letters of a queue")
    redrive.add_argument("queue", metavar="QUEUE")
    redrive.add_argument("--message-id", help="only this dead letter")
    _common(redrive)
    discard = actions.add_parser("discard", help="delete one dead letter")
    discard.add_argument("queue", metavar="QUEUE")
    discard.add_argument("message_id", metavar="MESSAGE_ID")
    _common(discard)


def run(args: argparse.Namespace) -> int:
    """Run ``iii queue ...``; the exit code."""
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130


def _request(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    command = args.queue_command or "list"
    if command == "dlq":
        payload = {"topic": args.queue, "offset": args.offset, "limit": args.limit}
        return "engine::queue::dlq_messages", payload
    if command == "redrive" and args.message_id:
        return "iii::queue::redrive_message", {"queue": args.queue, "message_id": args.message_id}
    if command == "redrive":
        return "iii::queue::redrive", {"queue": args.queue}
    if command == "discard":
        return "iii::queue::discard_message", {"queue": args.queue, "message_id": args.message_id}
    return "engine::queue::list_queues", {}


async def _run(args: argparse.Namespace) -> int:
    url = f"ws://{args.address}:{args.port}"
    function_id, payload = _request(args)
    try:
        result = await call_engine(
            url, function_id, payload, timeout_s=args.timeout_ms / 1000, name="iii-cli:queue"
        )
    except CallFailed:
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_render(args.queue_command or "list", result))
    return 0


def _render(command: str, result: Any) -> str:
    from iii_engine.cli.info import table

    if command == "list":
        rows = [
            (r["name"], r["kind"], r["waiting"], r["in_flight"], r["dead_lettered"]) for r in result
        ]
        return table(("QUEUE", "KIND", "WAITING", "IN FLIGHT", "DEAD"), rows)
    if command == "dlq":
        rows = [
            (
                r["id"],
                datetime.datetime.fromtimestamp(r["failed_at"], datetime.UTC).isoformat(),
                r["retries"],
                r["size_bytes"],
                r["error"],
            )
            for r in result
        ]
        return table(("MESSAGE ID", "FAILED AT", "ATTEMPTS", "BYTES", "ERROR"), rows)
    if command == "redrive":
        return f"redriven {result['redriven']} message(s) of {result['queue']}"
    return f"discarded {result['redriven']} message(s) of {result['queue']}"
