"""``iii traces``, ``iii traces show TRACE_ID`` and ``iii logs [--follow]``: a running engine's
iii-observability stores, from the terminal.

They call ``engine::traces::list`` / ``engine::traces::tree`` / ``engine::logs::list`` like any
worker would; ``--follow`` binds a ``log`` trigger to a function of its own connection, so new
records are pushed as they are stored (no polling). ``--json`` prints the raw results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from iii_engine.cli._rawclient import EngineUnreachable, RawClient, WebSocketFailure
from iii_sdk.errors import InvocationError

__all__ = ["add_parsers", "format_log", "format_tree", "run_logs", "run_traces"]


def _connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default="localhost", help="engine host (default localhost)")
    parser.add_argument("--port", type=int, default=49134, help="engine port (default 49134)")
    parser.add_argument("--timeout-ms", type=int, default=5000, help="deadline (default 5000)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON result")


def add_parsers(commands: Any) -> None:
    """Add ``traces`` and ``logs`` to the ``iii`` subcommands."""
    traces = commands.add_parser("traces", help="recent traces; `traces show TRACE_ID`: one trace")
    traces.add_argument("action", nargs="?", choices=("show",), help="show one trace as a tree")
    traces.add_argument("trace_id", nargs="?", metavar="TRACE_ID")
    traces.add_argument("--limit", type=int, default=20, help="how many traces (default 20)")
    traces.add_argument("--status", choices=("ok", "error", "unset"), help="only this status")
    traces.add_argument("--service", help="only this service name")
    _connection_args(traces)
    logs = commands.add_parser("logs", help="stored log records; --follow for new ones")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    logs.add_argument("--limit", type=int, default=50, help="how many records (default 50)")
    logs.add_argument("--trace-id", help="only records of this trace")
    logs.add_argument(
        "--level", choices=("trace", "debug", "info", "warn", "error"), help="only this level"
    )
    _connection_args(logs)


def _stamp(nanos: int) -> str:
    seconds = nanos / 1e9
    return (
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
        + f".{int(nanos // 1e6) % 1000:03d}"
    )


def _duration(span: dict[str, Any]) -> str:
    end = span.get("end_time_unix_nano") or 0
    if not end:
        return "pending"
    return f"{(end - span['start_time_unix_nano']) / 1e6:.2f} ms"


def format_tree(roots: list[dict[str, Any]]) -> str:
    """A trace as indented lines: name, service, duration, status (and error description)."""
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        status = node["status"]
        if node.get("status_description"):
            status += f" ({node['status_description']})"
        lines.append(
            f"{'  ' * depth}{node['name']}  [{node['service_name']}]  {_duration(node)}  {status}"
        )
        for child in sorted(node.get("children", []), key=lambda c: c["start_time_unix_nano"]):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda r: r["start_time_unix_nano"]):
        walk(root, 0)
    return "\n".join(lines)


def format_log(record: dict[str, Any]) -> str:
    """One log record on one line."""
    ids = ""
    if record.get("trace_id"):
        ids = f"  trace={record['trace_id']}"
        if record.get("span_id"):
            ids += f" span={record['span_id']}"
    body = record.get("body")
    text = body if isinstance(body, str) else json.dumps(body)
    if record.get("attributes"):
        text += " " + json.dumps(record["attributes"], sort_keys=True)
    severity = record.get("severity_text") or "-"
    service = record.get("service_name")
    return f"{_stamp(record['timestamp_unix_nano'])}  {severity:<5}  [{service}] {text}{ids}"


async def _call(args: argparse.Namespace, function_id: str, payload: Any) -> Any:
    url = f"ws://{args.address}:{args.port}"
    async with RawClient(url, timeout_s=args.timeout_ms / 1000, name="iii-cli:observe") as client:
        return await client.call(function_id, payload)


async def run_traces(args: argparse.Namespace) -> int:
    """``iii traces`` / ``iii traces show TRACE_ID``."""
    if args.action == "show":
        if not args.trace_id:
            print("Error: usage: iii traces show TRACE_ID", file=sys.stderr)
            return 2
        result = await _call(args, "engine::traces::tree", {"trace_id": args.trace_id})
        print(json.dumps(result, indent=2) if args.json else format_tree(result["roots"]))
        return 0
    query: dict[str, Any] = {"limit": args.limit}
    if args.status:
        query["status"] = args.status
    if args.service:
        query["service_name"] = args.service
    result = await _call(args, "engine::traces::list", query)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for span in result["spans"]:
        print(
            f"{span['trace_id']}  {_stamp(span['start_time_unix_nano'])}  "
            f"{_duration(span):>12}  {span['status']:<5}  {span['name']}  [{span['service_name']}]"
        )
    if not result["spans"]:
        print("(no traces)")
    return 0


async def run_logs(args: argparse.Namespace) -> int:
    """``iii logs [--follow]``."""
    query: dict[str, Any] = {"limit": args.limit}
    if args.trace_id:
        query["trace_id"] = args.trace_id
    if args.level:
        query["severity_text"] = args.level
    result = await _call(args, "engine::logs::list", query)
    for record in reversed(result["logs"]):  # oldest first, like a log file
        print(json.dumps(record) if args.json else format_log(record), flush=True)
    if args.follow:
        await _follow(args)
    return 0


async def _follow(args: argparse.Namespace) -> None:
    from iii_sdk.worker import Worker

    url = f"ws://{args.address}:{args.port}"
    worker = Worker(url, name=f"iii-cli:logs:{os.getpid()}")

    def show(record: Any) -> None:
        if args.trace_id and record.get("trace_id") != args.trace_id:
            return
        print(json.dumps(record) if args.json else format_log(record), flush=True)

    function_id = f"iii-cli::logs::{worker.name}"
    worker.register_function(function_id, show)
    worker.register_trigger("log", function_id, {"level": args.level or "all"})
    try:
        await worker.connect()
        await worker.trigger("engine::functions::list", {})  # frames are ordered: bound now
        print("(following; Ctrl-C to stop)", file=sys.stderr, flush=True)
        await worker.serve_forever()
    finally:
        await worker.close()


def run(args: argparse.Namespace) -> int:
    """Dispatch ``traces`` / ``logs``; exit 1 when the engine is unreachable or refuses."""
    coro = run_traces(args) if args.command == "traces" else run_logs(args)
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return 130
    except (EngineUnreachable, WebSocketFailure) as exc:
        url = f"ws://{args.address}:{args.port}"
        print(f"Error: no engine answering at {url}: {exc}", file=sys.stderr)
        return 1
    except InvocationError as exc:
        print(f"Error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
